// Package sqldbtest opens migrated, empty databases for the contract suites
// of the stores (samplestest, tenantstest, userstest, dashboardstest,
// alertstest, channelstest, exportstest) on SQLite and on MariaDB, with every store on
// them and a plain connection to count rows behind the stores' backs. A missing
// MariaDB fails the test: `make test` starts it (scripts/services.sh).
package sqldbtest

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite" // the plain SQLite connection

	"github.com/pulsemetrics/pulse/adapter/idempotency/sqlidempotency"
	"github.com/pulsemetrics/pulse/adapter/store/alerts"
	"github.com/pulsemetrics/pulse/adapter/store/channels"
	"github.com/pulsemetrics/pulse/adapter/store/dashboards"
	"github.com/pulsemetrics/pulse/adapter/store/exports"
	"github.com/pulsemetrics/pulse/adapter/store/leases"
	"github.com/pulsemetrics/pulse/adapter/store/samples"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/adapter/store/tenants"
	"github.com/pulsemetrics/pulse/adapter/store/users"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

// The stores under their own names, so that Stores can embed them all.
type (
	DB         = sqldb.DB
	Samples    = samples.Store
	Tenants    = tenants.Store
	Users      = users.Store
	Dashboards = dashboards.Store
	Leases     = leases.Store
	Idem       = sqlidempotency.Store
	Alerts     = alerts.Store
	Channels   = channels.Store
	Exports    = exports.Store
)

// Stores is every store on one database, their methods side by side: a
// suite of one aggregate still makes the tenants, leases… it needs.
type Stores struct {
	*DB
	*Samples
	*Tenants
	*Users
	*Dashboards
	*Leases
	*Idem
	*Alerts
	*Channels
	*Exports
}

// NewStores puts every store on db.
func NewStores(db *sqldb.DB) *Stores {
	return &Stores{DB: db, Samples: samples.New(db), Tenants: tenants.New(db), Users: users.New(db),
		Dashboards: dashboards.New(db), Leases: leases.New(db), Idem: sqlidempotency.New(db), Alerts: alerts.New(db),
		Channels: channels.New(db), Exports: exports.New(db)}
}

// Close closes the samples store's statements, then the database.
func (s *Stores) Close() error { return errors.Join(s.Samples.Close(), s.DB.Close()) }

// PurgeExpired purges the expired dedupe ids and idempotency keys, as the
// scheduler's hourly purge does, and returns how many rows it deleted.
func (s *Stores) PurgeExpired(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.PurgeDedupe(ctx, now)
	m, ierr := s.Idem.Purge(ctx, now)
	return n + m, errors.Join(err, ierr)
}

// Target is a migrated, empty database, its stores, and a plain connection
// to the same database.
type Target struct {
	Store *Stores
	DB    *sql.DB
}

// SQLite opens a fresh SQLite database in a temp dir.
func SQLite(tb testing.TB) Target {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "pulse.db")
	db, err := sqldb.OpenSQLite(path)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	return target(tb, db, raw)
}

// MariaDB opens a fresh database on the test MariaDB (testservice).
func MariaDB(tb testing.TB) Target {
	tb.Helper()
	dsn := testservice.MariaDB(tb)
	db, err := sqldb.OpenMariaDB(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Params = map[string]string{"time_zone": "'+00:00'"} // as the stores' own connections
	raw, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		tb.Fatal(err)
	}
	return target(tb, db, raw)
}

func target(tb testing.TB, db *sqldb.DB, raw *sql.DB) Target {
	tb.Helper()
	st := NewStores(db)
	tb.Cleanup(func() { _ = st.Close(); _ = raw.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return Target{Store: st, DB: raw}
}

// Base is the suites' fixed "now".
var Base = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// Ctx is a context for one test's store calls, bounded to a minute.
func Ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// MkTenant creates a tenant with the slug and returns its id.
func MkTenant(t testing.TB, s *Stores, slug string) int64 {
	t.Helper()
	tn, err := tenant.New(slug, "", 0, Base)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.CreateTenant(Ctx(t), tn)
	if err != nil {
		t.Fatalf("create tenant %s: %v", slug, err)
	}
	return got.ID
}

// Count counts the rows of from (a table, or a table and a WHERE clause).
func Count(t testing.TB, db *sql.DB, from string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(Ctx(t), "SELECT COUNT(*) FROM "+from).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", from, err)
	}
	return n
}

// OpenSQLite opens the SQLite database at path with every store on it
// (not migrated: call Migrate), for tests that assemble a store by hand.
func OpenSQLite(path string) (*Stores, error) {
	db, err := sqldb.OpenSQLite(path)
	if err != nil {
		return nil, err
	}
	return NewStores(db), nil
}

// Both runs a contract suite on SQLite, then on MariaDB.
func Both(t *testing.T, suite func(*testing.T, func(*testing.T) Target)) {
	t.Run("SQLite", func(t *testing.T) { suite(t, func(t *testing.T) Target { return SQLite(t) }) })
	t.Run("MariaDB", func(t *testing.T) { suite(t, func(t *testing.T) Target { return MariaDB(t) }) })
}
