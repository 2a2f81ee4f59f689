package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pulsemetrics/pulse/adapter/http/api"
	"github.com/pulsemetrics/pulse/adapter/queue/redisqueue"
	"github.com/pulsemetrics/pulse/adapter/queue/sqlitequeue"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/usecase/flush"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// Queue is what the process needs of a queue adapter: both ends plus health.
type Queue interface {
	ingest.Queue
	flush.Source
	flush.StatsSource
	Backlog(ctx context.Context) (int64, error)
	Ping(ctx context.Context) error
}

// queueReady is the queue's readiness check: it answers, and holds no dead
// letters (accepted data that was not stored: degraded until an operator
// looks; see the README).
func queueReady(q Queue) api.Checker {
	return func(ctx context.Context) error {
		if err := q.Ping(ctx); err != nil {
			return err
		}
		st, err := q.Stats(ctx)
		if err != nil {
			return err
		}
		if st.DeadLetters > 0 || st.Unreadable > 0 {
			return fmt.Errorf("%w: %d entries in the dead-letter store, %d found unreadable by this process", api.ErrDegraded, st.DeadLetters, st.Unreadable)
		}
		return nil
	}
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
	// Fail fast when Redis is away: the request answers 503 + Retry-After
	// in about a second instead of retrying for several (URL options such
	// as dial_timeout still win).
	if !strings.Contains(cfg.RedisURL, "dial_timeout") {
		opts.DialTimeout = 2 * time.Second
	}
	if !strings.Contains(cfg.RedisURL, "max_retries") {
		opts.MaxRetries = 1
	}
	opts.ContextTimeoutEnabled = true // a request's deadline bounds its Redis calls
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
		LeaseTimeout: cfg.QueueLease, MaxDeliveries: cfg.QueueMaxAttempts, Logger: log,
	})
	if err != nil {
		return nil, nil, unavailable("redis", fmt.Errorf("open Redis queue (PULSE_REDIS_URL): %w", err))
	}
	log.Info("queue: Redis Streams", "stream", cfg.QueueStream, "group", cfg.QueueGroup)
	warnUnlessDurable(client, log)
	return q, func() { _ = q.Close() }, nil
}

// warnUnlessDurable checks that Redis keeps what it acknowledged: a 202
// means the batch is durable only with appendonly yes and appendfsync
// always (otherwise a Redis crash loses the last second or more).
func warnUnlessDurable(client *redis.Client, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	got, err := client.ConfigGet(ctx, "append*").Result()
	if err != nil {
		log.Warn("cannot read Redis's persistence settings (CONFIG GET refused?): make sure it runs with appendonly yes and appendfsync always, or a 202 is not durable", "err", err)
		return
	}
	if got["appendonly"] != "yes" || got["appendfsync"] != "always" {
		log.Warn("REDIS IS NOT DURABLE: accepted samples (202) can be lost if Redis crashes; run it with appendonly yes and appendfsync always",
			"appendonly", got["appendonly"], "appendfsync", got["appendfsync"])
	}
}
