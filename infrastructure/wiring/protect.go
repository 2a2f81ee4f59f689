package wiring

import (
	"github.com/redis/go-redis/v9"

	"github.com/pulsemetrics/pulse/adapter/idempotency/redisidempotency"
	"github.com/pulsemetrics/pulse/adapter/idempotency/sqlidempotency"
	"github.com/pulsemetrics/pulse/adapter/ratelimit/memratelimit"
	"github.com/pulsemetrics/pulse/adapter/ratelimit/redisratelimit"
	"github.com/pulsemetrics/pulse/adapter/store/samples"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/usecase/ingest"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// ProvideRateLimiter shares quotas through Redis when it is configured (so
// API replicas share them), else keeps them in memory (single binary). Both
// read the process clock: replicas must keep their clocks in sync (NTP), as
// they must for sample timestamps anyway.
func ProvideRateLimiter(client *redis.Client, cfg *config.Config, clock Clock) (ingest.RateLimiter, func()) {
	if client == nil {
		return memratelimit.New(clock), func() {}
	}
	l := redisratelimit.New(client, redisratelimit.Options{Prefix: cfg.RateLimitPrefix, Clock: clock})
	return l, l.Close
}

// ProvideIdempotency keeps Idempotency-Keys in Redis when it is configured,
// else in the database.
func ProvideIdempotency(client *redis.Client, cfg *config.Config, st *sqlidempotency.Store) ingest.IdempotencyStore {
	if client == nil {
		return st
	}
	return redisidempotency.New(client, cfg.IdempotencyPrefix)
}

// ProvideIngest builds the ingest use case with time-ordered request ids and
// every protection the settings ask for.
func ProvideIngest(cfg *config.Config, q Queue, ten *tenancy.Service, st *samples.Store,
	limiter ingest.RateLimiter, idem ingest.IdempotencyStore, clock Clock) *ingest.Service {
	return ingest.NewService(q, ten, clock, newRequestID,
		ingest.WithRateLimit(limiter, ingest.Quota{SamplesPerMinute: cfg.RateLimitSamples, RequestsPerMinute: cfg.RateLimitRequests}),
		ingest.WithBacklogBound(q, cfg.MaxBacklog),
		ingest.WithIdempotency(idem, cfg.IdempotencyTTL),
		ingest.WithSeriesCap(st, cfg.MaxSeriesPerTenant),
	)
}
