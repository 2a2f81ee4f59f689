// Package wiring holds the Wire providers that assemble Pulse's binaries from
// adapters and use cases. Only cmd/* uses it; choices between adapters
// (SQLite or MariaDB, embedded queue or Redis Streams) are made here at start
// from the configuration.
package wiring

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/pulsemetrics/pulse/adapter/invalidation/redisinvalidate"
	"github.com/pulsemetrics/pulse/adapter/store/samples"
	"github.com/pulsemetrics/pulse/adapter/store/tenants"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/logging"
	"github.com/pulsemetrics/pulse/usecase/query"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// Role names the role(s) a binary runs, for logs and metrics.
type Role string

// ProvideLogger builds the structured logger from the settings.
func ProvideLogger(cfg *config.Config, role Role) *slog.Logger {
	return logging.New(os.Stderr, cfg.LogLevel, cfg.LogFormat).With("role", string(role))
}

// Clock is the time source of the use cases; tests pass a fixed one.
type Clock func() time.Time

// ProvideClock is the wall clock.
func ProvideClock() Clock { return time.Now }

// ProvideTenancy builds the tenancy use case; the store keeps the audit
// log. With an external Mosquitto it also keeps the broker's accounts in
// step with the tokens.
func ProvideTenancy(cfg *config.Config, st *tenants.Store, client *redis.Client, clock Clock, broker tenancy.BrokerAccounts) *tenancy.Service {
	s := tenancy.NewService(st, st, tenancy.AuditFunc(st.RecordAudit), rand.Reader, clock, metric.DefaultLimits()).
		WithDefaultQuota(cfg.RateLimitSamples)
	if broker != nil {
		s.WithBrokerAccounts(broker)
	}
	if client != nil {
		s.WithInvalidations(redisinvalidate.New(client, cfg.InvalidationChannel))
	}
	return s
}

// CacheListener applies the other processes' token and tenant changes to
// this process's cache (a loop of every role).
type CacheListener struct{ ten *tenancy.Service }

// ProvideCacheListener is the tenancy cache's listener.
func ProvideCacheListener(ten *tenancy.Service) CacheListener { return CacheListener{ten: ten} }

// Run listens until ctx ends.
func (c CacheListener) Run(ctx context.Context) error { return c.ten.ListenForChanges(ctx) }

// ProvideQuery builds the query use case.
func ProvideQuery(st *samples.Store, cfg *config.Config) *query.Service {
	return query.NewService(st, cfg.RollupSteps)
}

func newRequestID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}
