package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/pulsemetrics/pulse/adapter/redisqueue"
	"github.com/pulsemetrics/pulse/adapter/sqlitequeue"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/usecase/flush"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// Queue is what the process needs of a queue adapter: both ends plus health.
type Queue interface {
	ingest.Queue
	flush.Source
	Backlog(ctx context.Context) (int64, error)
	Ping(ctx context.Context) error
}

// ProvideRedis connects to PULSE_REDIS_URL; nil when it is not set (embedded mode).
func ProvideRedis(cfg *config.Config) (*redis.Client, func(), error) {
	if cfg.RedisURL == "" {
		return nil, func() {}, nil
	}
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("PULSE_REDIS_URL: %w", err)
	}
	client := redis.NewClient(opts)
	return client, func() { _ = client.Close() }, nil
}

// ProvideQueue opens Redis Streams when PULSE_REDIS_URL is set, else the
// embedded durable queue in the data dir.
func ProvideQueue(cfg *config.Config, client *redis.Client, role Role, log *slog.Logger) (Queue, func(), error) {
	if client == nil {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, nil, fmt.Errorf("PULSE_DATA_DIR=%s: %w", cfg.DataDir, err)
		}
		q, err := sqlitequeue.Open(cfg.QueuePath(), sqlitequeue.Options{
			LeaseTimeout: cfg.QueueLease, MaxAttempts: cfg.QueueMaxAttempts, Logger: log,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("open embedded queue %s: %w", cfg.QueuePath(), err)
		}
		log.Info("queue: embedded", "path", cfg.QueuePath())
		return q, func() { _ = q.Close() }, nil
	}
	host, _ := os.Hostname()
	q, err := redisqueue.New(client, redisqueue.Options{
		Stream: cfg.QueueStream, Group: cfg.QueueGroup,
		Consumer:     fmt.Sprintf("%s-%s-%d", role, host, os.Getpid()),
		LeaseTimeout: cfg.QueueLease, MaxDeliveries: cfg.QueueMaxAttempts,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("open Redis queue (PULSE_REDIS_URL): %w", err)
	}
	log.Info("queue: Redis Streams", "stream", cfg.QueueStream, "group", cfg.QueueGroup)
	return q, func() { _ = q.Close() }, nil
}
