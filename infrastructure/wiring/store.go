package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/google/wire"

	"github.com/pulsemetrics/pulse/adapter/idempotency/sqlidempotency"
	"github.com/pulsemetrics/pulse/adapter/store/alerts"
	"github.com/pulsemetrics/pulse/adapter/store/channels"
	"github.com/pulsemetrics/pulse/adapter/store/dashboards"
	"github.com/pulsemetrics/pulse/adapter/store/leases"
	"github.com/pulsemetrics/pulse/adapter/store/notifications"
	"github.com/pulsemetrics/pulse/adapter/store/samples"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/adapter/store/tenants"
	"github.com/pulsemetrics/pulse/adapter/store/users"
	"github.com/pulsemetrics/pulse/infrastructure/config"
)

// StoreSet is the database and every store on it (adapter/store).
var StoreSet = wire.NewSet(ProvideDB, ProvideSamples, tenants.New, users.New, dashboards.New, leases.New, sqlidempotency.New,
	alerts.New, channels.New, notifications.New, ProvideRetentionStore)

// ProvideDB opens the configured database (SQLite in the data dir when no
// PULSE_DATABASE_URL is set) and brings its schema up to date.
func ProvideDB(ctx context.Context, cfg *config.Config, log *slog.Logger, clock Clock) (*sqldb.DB, func(), error) {
	var (
		db  *sqldb.DB
		err error
	)
	if cfg.DatabaseURL == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, nil, fmt.Errorf("PULSE_DATA_DIR=%s: %w", cfg.DataDir, err)
		}
		db, err = sqldb.OpenSQLite(cfg.SQLitePath())
		if err != nil {
			return nil, nil, fmt.Errorf("open SQLite %s: %w", cfg.SQLitePath(), err)
		}
		log.Info("database: embedded SQLite", "path", cfg.SQLitePath())
	} else {
		dsn, _ := config.MySQLDSN(cfg.DatabaseURL) // validated at load
		db, err = sqldb.OpenMariaDB(dsn)
		if err != nil {
			return nil, nil, fmt.Errorf("open MariaDB (PULSE_DATABASE_URL): %w", err)
		}
		log.Info("database: MariaDB")
	}
	db.SetClock(clock)
	mctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := db.Migrate(mctx); err != nil {
		_ = db.Close()
		return nil, nil, unavailable("database", fmt.Errorf("migrate database: %w", err))
	}
	return db, func() { _ = db.Close() }, nil
}

// ProvideSamples is the samples store with the dedupe window of the
// settings; its cleanup closes its prepared statements.
func ProvideSamples(db *sqldb.DB, cfg *config.Config) (*samples.Store, func()) {
	st := samples.New(db)
	st.SetDedupeWindow(cfg.DedupeWindow)
	return st, func() { _ = st.Close() }
}

// The stores under names of their own, to embed two in one struct.
type (
	tenantStore = tenants.Store
	sampleStore = samples.Store
)

// RetentionStore is what the retention job reads and deletes: the tenants'
// retention (tenants) and the samples' partitions and rows (samples).
type RetentionStore struct {
	*tenantStore
	*sampleStore
}

// ProvideRetentionStore puts the two stores retention reads together.
func ProvideRetentionStore(t *tenants.Store, s *samples.Store) RetentionStore {
	return RetentionStore{tenantStore: t, sampleStore: s}
}
