// Package sqlstore stores tenants, API tokens, series and samples in SQLite
// (embedded mode) or MariaDB (distributed mode) behind one implementation
// with a small dialect. It serves the ports tenancy.Tenants, tenancy.Tokens,
// tenancy.Audit (through RecordAudit), flush.Store and query.Reader.
//
// Schema (see migrations/): tenants, api_tokens, series (one row per tenant +
// name + tag set, identified by metric.HashSeries), samples (series_id, ts)
// and sample_dedupe (tenant, dedupe_id), audit_logs (admin.go; tenant 0 =
// the platform), plus a read-only view metrics with
// the flat columns tenant_id, name, value, tags, ts, ingested_at. Times are
// stored as Unix milliseconds. In the view, ts and ingested_at are
// DATETIME(3) in UTC on MariaDB and ISO 8601 UTC text with milliseconds
// ("2026-11-25T10:00:00.123Z") on SQLite.
//
// Every query on tenant data takes the tenant id as a required argument.
// A Store is safe for concurrent use.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
)

//go:embed migrations/sqlite/*.sql migrations/mysql/*.sql
var migrations embed.FS

// Store is the SQL implementation of the storage ports.
type Store struct {
	d      dialect
	write  *sql.DB // SQLite: one connection (one writer); MariaDB: the pool
	read   *sql.DB // SQLite: a separate read pool; MariaDB: the same pool as write
	sb     sq.StatementBuilderType
	series *seriesCache
	// sampleRows is the number of rows per multi-row samples INSERT.
	sampleRows int

	// The zero values of these are the defaults (see idempotency.go,
	// dedupe.go and gate.go).
	clock        func() time.Time
	dedupeWindow time.Duration
	idemOwned    sync.Map // idemKey -> request id of a reservation this Store holds
	seriesCounts tenantCounts
	prepared     preparedReads
}

// dialect holds what differs between SQLite and MariaDB.
type dialect struct {
	name         string // "sqlite" or "mysql"
	goose        goose.Dialect
	migrations   string // directory in the embedded FS
	insertIgnore string // the words between INSERT and INTO
	// upsertRollups ends a multi-row INSERT INTO rollups so that it
	// replaces the aggregates of existing buckets.
	upsertRollups string
	// upsertPending ends a multi-row INSERT INTO rollup_pending so that a
	// repeated row bumps its gen.
	upsertPending string
	forUpdate     string // " FOR UPDATE" where a locking read exists (SQLite has one writer)
	isDuplicate   func(error) bool
	isRetryable   func(error) bool
}

var sqliteDialect = dialect{
	name:          "sqlite",
	goose:         goose.DialectSQLite3,
	migrations:    "migrations/sqlite",
	insertIgnore:  "OR IGNORE",
	upsertRollups: " ON CONFLICT (series_id, step_ms, start_ts) DO UPDATE SET count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max",
	upsertPending: " ON CONFLICT (series_id, min_ts, max_ts) DO UPDATE SET gen = gen + 1",
	isDuplicate: func(err error) bool {
		var e *sqlite.Error
		// SQLITE_CONSTRAINT_PRIMARYKEY (1555), SQLITE_CONSTRAINT_UNIQUE (2067).
		return errors.As(err, &e) && (e.Code() == 1555 || e.Code() == 2067)
	},
	// busy_timeout absorbs lock waits and there is a single writer connection.
	isRetryable: func(error) bool { return false },
}

var mysqlDialect = dialect{
	name:          "mysql",
	goose:         goose.DialectMySQL,
	migrations:    "migrations/mysql",
	insertIgnore:  "IGNORE",
	upsertRollups: " ON DUPLICATE KEY UPDATE count = VALUES(count), sum = VALUES(sum), min = VALUES(min), max = VALUES(max)",
	upsertPending: " ON DUPLICATE KEY UPDATE gen = gen + 1",
	forUpdate:     " FOR UPDATE",
	isDuplicate: func(err error) bool {
		var e *mysql.MySQLError
		return errors.As(err, &e) && e.Number == 1062
	},
	isRetryable: func(err error) bool {
		var e *mysql.MySQLError
		// 1213 deadlock, 1205 lock wait timeout, 1062 a concurrent writer
		// inserted the same dedupe id first (the retry then skips it).
		return errors.As(err, &e) && (e.Number == 1213 || e.Number == 1205 || e.Number == 1062)
	},
}

// DefaultSeriesCacheSize bounds the series-id cache (entries).
const DefaultSeriesCacheSize = 1 << 20

// OpenSQLite opens (creating if needed) the SQLite database at path in WAL
// mode with synchronous=FULL. Writes go through one connection; reads use a
// separate pool so they never wait for a writer. It does not migrate: call
// Migrate. path must not contain '?'.
func OpenSQLite(path string) (*Store, error) {
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
	return newStore(sqliteDialect, write, read, sq.StatementBuilder.PlaceholderFormat(sq.Question)), nil
}

// OpenMariaDB opens a MariaDB database given a go-sql-driver DSN
// ("user:pass@tcp(host:3306)/db"). The store's connections use the UTC time
// zone and client-side parameter interpolation. It does not migrate: call
// Migrate.
func OpenMariaDB(dsn string) (*Store, error) {
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
	return newStore(mysqlDialect, db, db, sq.StatementBuilder.PlaceholderFormat(sq.Question)), nil
}

func newStore(d dialect, write, read *sql.DB, sb sq.StatementBuilderType) *Store {
	return &Store{
		d:          d,
		write:      write,
		read:       read,
		sb:         sb,
		series:     newSeriesCache(DefaultSeriesCacheSize),
		sampleRows: 5000,
	}
}

// Migrate applies every pending embedded migration of the store's dialect.
func (s *Store) Migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, s.d.migrations)
	if err != nil {
		return fmt.Errorf("migrations %s: %w", s.d.name, err)
	}
	p, err := goose.NewProvider(s.d.goose, s.write, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrations %s: %w", s.d.name, err)
	}
	unlock, err := s.lockMigrations(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", s.d.name, err)
	}
	return nil
}

// migrationLock names the MariaDB lock held around migrations.
const migrationLock = "pulse_migrate"

// lockMigrations makes replicas that start together migrate one after the
// other: the others wait, then find nothing left to do. On MariaDB a named
// lock is held by one connection until it is released; SQLite's single
// writer (BEGIN IMMEDIATE, busy timeout) serialises already.
func (s *Store) lockMigrations(ctx context.Context) (func(), error) {
	if s.d.name != "mysql" {
		return func() {}, nil
	}
	conn, err := s.write.Conn(ctx)
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
func (s *Store) MigrateDown(ctx context.Context, version int64) error {
	fsys, err := fs.Sub(migrations, s.d.migrations)
	if err != nil {
		return fmt.Errorf("migrations %s: %w", s.d.name, err)
	}
	p, err := goose.NewProvider(s.d.goose, s.write, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrations %s: %w", s.d.name, err)
	}
	if _, err := p.DownTo(ctx, version); err != nil {
		return fmt.Errorf("migrate %s down to %d: %w", s.d.name, version, err)
	}
	return nil
}

// Ping checks that the database answers (both pools on SQLite).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.d.name, err)
	}
	if s.read != s.write {
		if err := s.read.PingContext(ctx); err != nil {
			return fmt.Errorf("ping %s (read pool): %w", s.d.name, err)
		}
	}
	return nil
}

// Close closes the prepared statements and the connection pools.
func (s *Store) Close() error {
	err := errors.Join(s.closePrepared(), s.write.Close())
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// Dialect names the database kind: "sqlite" or "mysql".
func (s *Store) Dialect() string { return s.d.name }

// SetSampleRowsPerInsert sets how many rows each multi-row samples INSERT
// holds (default 5000). For benchmarks and tuning.
func (s *Store) SetSampleRowsPerInsert(n int) {
	if n > 0 {
		s.sampleRows = n
	}
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func nullMillis(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func timePtr(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMillis(n.Int64)
	return &t
}
