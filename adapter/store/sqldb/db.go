// Package sqldb is the SQL database every store of adapter/store shares:
// one connection setup for SQLite (embedded mode) and MariaDB (distributed
// mode), the one place where the two dialects differ, and the one set of
// migrations (migrations/, goose) that creates every table.
//
// Schema: tenants, api_tokens and audit_logs (adapter/store/tenants);
// series, samples, rollups, rollup_pending, sample_dedupe and the catalogue
// tables (adapter/store/samples), with a read-only view metrics of the flat
// columns tenant_id, name, value, tags, ts, ingested_at; users,
// user_sessions and the login throttle (adapter/store/users); dashboards
// and widgets (adapter/store/dashboards); idempotency_keys
// (adapter/idempotency/sqlidempotency); job_leases (adapter/store/leases);
// alert_rules, alert_instances, alerts (firing episodes),
// alert_transitions and alert_outbox (adapter/store/alerts);
// notification_channels, their secrets sealed (adapter/store/channels);
// the notification dispatcher's tables (adapter/store/notifications);
// exports and export_chunks (adapter/store/exports).
// Times are stored as Unix milliseconds. Every query on tenant data takes
// the tenant id as a required argument (RequireTenant). A DB is safe for
// concurrent use.
package sqldb

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
)

//go:embed migrations/sqlite/*.sql migrations/mysql/*.sql
var migrations embed.FS

// DB is the shared database: its pools, its dialect and the clock the
// stores read.
type DB struct {
	// Dialect is what differs between SQLite and MariaDB.
	Dialect Dialect
	// Write is the pool for writes (SQLite: one connection, one writer;
	// MariaDB: the pool); Read serves reads (SQLite: a separate pool that
	// never waits for the writer; MariaDB: the same pool as Write).
	Write, Read *sql.DB
	// SB builds statements with the dialect's placeholders.
	SB    sq.StatementBuilderType
	clock func() time.Time
}

// Dialect holds what differs between SQLite and MariaDB.
type Dialect struct {
	Name         string // "sqlite" or "mysql"
	goose        goose.Dialect
	migrations   string // directory in the embedded FS
	InsertIgnore string // the words between INSERT and INTO
	// UpsertRollups ends a multi-row INSERT INTO rollups so that it
	// replaces the aggregates of existing buckets.
	UpsertRollups string
	// UpsertPending ends a multi-row INSERT INTO rollup_pending so that a
	// repeated row bumps its gen.
	UpsertPending string
	ForUpdate     string // " FOR UPDATE" where a locking read exists (SQLite has one writer)
	SkipLocked    string // ForUpdate passing over rows others hold: concurrent claimers take different rows
	IsDuplicate   func(error) bool
	IsRetryable   func(error) bool
}

var sqliteDialect = Dialect{
	Name:          "sqlite",
	goose:         goose.DialectSQLite3,
	migrations:    "migrations/sqlite",
	InsertIgnore:  "OR IGNORE",
	UpsertRollups: " ON CONFLICT (series_id, step_ms, start_ts) DO UPDATE SET count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max",
	UpsertPending: " ON CONFLICT (series_id, min_ts, max_ts) DO UPDATE SET gen = gen + 1",
	IsDuplicate: func(err error) bool {
		var e *sqlite.Error
		// SQLITE_CONSTRAINT_PRIMARYKEY (1555), SQLITE_CONSTRAINT_UNIQUE (2067).
		return errors.As(err, &e) && (e.Code() == 1555 || e.Code() == 2067)
	},
	// busy_timeout absorbs lock waits and there is a single writer connection.
	IsRetryable: func(error) bool { return false },
}

var mysqlDialect = Dialect{
	Name:          "mysql",
	goose:         goose.DialectMySQL,
	migrations:    "migrations/mysql",
	InsertIgnore:  "IGNORE",
	UpsertRollups: " ON DUPLICATE KEY UPDATE count = VALUES(count), sum = VALUES(sum), min = VALUES(min), max = VALUES(max)",
	UpsertPending: " ON DUPLICATE KEY UPDATE gen = gen + 1",
	ForUpdate:     " FOR UPDATE",
	SkipLocked:    " FOR UPDATE SKIP LOCKED",
	IsDuplicate: func(err error) bool {
		var e *mysql.MySQLError
		return errors.As(err, &e) && e.Number == 1062
	},
	IsRetryable: func(err error) bool {
		var e *mysql.MySQLError
		// 1213 deadlock, 1205 lock wait timeout, 1062 a concurrent writer
		// inserted the same dedupe id first (the retry then skips it).
		return errors.As(err, &e) && (e.Number == 1213 || e.Number == 1205 || e.Number == 1062)
	},
}

// OpenSQLite opens (creating if needed) the SQLite database at path in WAL
// mode with synchronous=FULL. Writes go through one connection; reads use a
// separate pool so they never wait for a writer. It does not migrate: call
// Migrate. path must not contain '?'.
func OpenSQLite(path string) (*DB, error) {
	base := path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)"
	write, err := sql.Open("sqlite", base+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	// Create the file and switch it to WAL before readers open it.
	if err := write.Ping(); err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	return &DB{Dialect: sqliteDialect, Write: write, Read: read, SB: sq.StatementBuilder.PlaceholderFormat(sq.Question)}, nil
}

// OpenMariaDB opens a MariaDB database given a go-sql-driver DSN
// ("user:pass@tcp(host:3306)/db"). The store's connections use the UTC time
// zone and client-side parameter interpolation. It does not migrate: call
// Migrate.
func OpenMariaDB(dsn string) (*DB, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse MariaDB DSN: %w", err)
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	cfg.InterpolateParams = true
	cfg.ParseTime = false
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second // dial; queries are bounded by their contexts
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("open MariaDB: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(16)
	db.SetConnMaxLifetime(30 * time.Minute)
	return &DB{Dialect: mysqlDialect, Write: db, Read: db, SB: sq.StatementBuilder.PlaceholderFormat(sq.Question)}, nil
}

// Migrate applies every pending embedded migration of the store's dialect.
func (s *DB) Migrate(ctx context.Context) error {
	p, err := s.migrator()
	if err != nil {
		return err
	}
	unlock, err := s.lockMigrations(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", s.Dialect.Name, err)
	}
	return nil
}

// migrator is goose over the embedded migrations of the dialect.
func (s *DB) migrator() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, s.Dialect.migrations)
	if err != nil {
		return nil, fmt.Errorf("migrations %s: %w", s.Dialect.Name, err)
	}
	p, err := goose.NewProvider(s.Dialect.goose, s.Write, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("migrations %s: %w", s.Dialect.Name, err)
	}
	return p, nil
}

// migrationLock names the MariaDB lock held around migrations.
const migrationLock = "pulse_migrate"

// lockMigrations makes replicas that start together migrate one after the
// other: the others wait, then find nothing left to do. On MariaDB a named
// lock is held by one connection until it is released; SQLite's single
// writer (BEGIN IMMEDIATE, busy timeout) serialises already.
func (s *DB) lockMigrations(ctx context.Context) (func(), error) {
	if s.Dialect.Name != "mysql" {
		return func() {}, nil
	}
	conn, err := s.Write.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: connect: %w", err)
	}
	wait := 120
	if dl, ok := ctx.Deadline(); ok {
		wait = max(1, int(time.Until(dl)/time.Second))
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", migrationLock, wait).Scan(&got); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("migrate: take the migration lock: %w", err)
	}
	if got.Int64 != 1 {
		_ = conn.Close()
		return nil, fmt.Errorf("migrate: another process held the migration lock %q for %d s", migrationLock, wait)
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", migrationLock)
		_ = conn.Close()
	}, nil
}

// MigrateDown rolls the schema back to version (running each later
// migration's Down part), for operators undoing an upgrade and for tests
// that re-run a data migration.
func (s *DB) MigrateDown(ctx context.Context, version int64) error {
	p, err := s.migrator()
	if err != nil {
		return err
	}
	if _, err := p.DownTo(ctx, version); err != nil {
		return fmt.Errorf("migrate %s down to %d: %w", s.Dialect.Name, version, err)
	}
	return nil
}

// Ping checks that the database answers (both pools on SQLite).
func (s *DB) Ping(ctx context.Context) error {
	if err := s.Write.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.Dialect.Name, err)
	}
	if s.Read != s.Write {
		if err := s.Read.PingContext(ctx); err != nil {
			return fmt.Errorf("ping %s (read pool): %w", s.Dialect.Name, err)
		}
	}
	return nil
}

// Close closes the connection pools.
func (s *DB) Close() error {
	err := s.Write.Close()
	if s.Read != s.Write {
		err = errors.Join(err, s.Read.Close())
	}
	return err
}

// Name names the database kind: "sqlite" or "mysql".
func (s *DB) Name() string { return s.Dialect.Name }

// SetClock sets the clock the stores read (default time.Now): tests and
// the end-to-end suite move it by hand.
func (s *DB) SetClock(now func() time.Time) { s.clock = now }

// Now is the stores' clock.
func (s *DB) Now() time.Time {
	if s.clock == nil {
		return time.Now()
	}
	return s.clock()
}

// Millis is t as stored: Unix milliseconds.
func Millis(t time.Time) int64 { return t.UnixMilli() }

// FromMillis is a stored time read back, in UTC.
func FromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// NullMillis stores an optional time.
func NullMillis(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// TimePtr reads an optional time back.
func TimePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := FromMillis(n.Int64)
	return &t
}
