// Package sqlitequeue is the embedded durable batch queue of single-binary
// mode: a table in its own SQLite file (WAL, synchronous=FULL), so an Enqueue
// that returned is on disk.
//
// Concurrency: one writer goroutine owns inserts and commits the Enqueue
// calls that arrived while the previous commit was running in one
// transaction (group commit): a burst of requests shares one fsync. All
// statements of one Queue go through a single connection; several Queue
// values (processes) may share the file, SQLite's locks and busy timeout
// serialise them.
//
// An entry whose payload this build cannot decode is an alarm, not routine:
// Fetch logs it at ERROR ("queue entry unreadable"), counts it
// (QueueStats.Unreadable) and moves it, payload and all, to dead_entries.
package sqlitequeue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pulsemetrics/pulse/adapter/queue/batchcodec"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/flush"
	"github.com/pulsemetrics/pulse/usecase/ingest"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// The queue serves both sides of the hand-off, and describes itself.
var (
	_ ingest.Queue      = (*Queue)(nil)
	_ flush.Source      = (*Queue)(nil)
	_ flush.StatsSource = (*Queue)(nil)
)

// ErrClosed is returned by calls on a closed Queue.
var ErrClosed = errors.New("sqlitequeue: queue is closed")

// Options tunes the queue. Zero values take the defaults.
type Options struct {
	// LeaseTimeout is how long a fetched entry stays invisible to other
	// fetches before it is redelivered (default 30s).
	LeaseTimeout time.Duration
	// MaxAttempts is how many times an entry is delivered; when a lease of an
	// entry delivered MaxAttempts times expires, the entry moves to the
	// dead_entries table and is logged (default 10).
	MaxAttempts int
	// Clock stamps enqueue times and leases (default time.Now).
	Clock func() time.Time
	// Logger receives dead-letter and unreadable-entry reports (default
	// slog.Default()).
	Logger *slog.Logger
	// PollInterval bounds how long a waiting Fetch takes to notice entries
	// enqueued by another process on the same file (default 50ms); entries
	// enqueued through this Queue wake it at once.
	PollInterval time.Duration
	// MaxGroup caps the entries committed in one transaction (default 512).
	MaxGroup int
}

func (o *Options) defaults() {
	if o.LeaseTimeout <= 0 {
		o.LeaseTimeout = 30 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 10
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 50 * time.Millisecond
	}
	if o.MaxGroup <= 0 {
		o.MaxGroup = 512
	}
}

// Queue is the SQLite queue. It implements ingest.Queue and flush.Source and
// is safe for concurrent use.
type Queue struct {
	db   *sql.DB
	opts Options
	reqs chan enqueueReq
	done chan struct{} // closed when the writer has drained and stopped

	mu     sync.RWMutex // guards closed and the send side of reqs
	closed bool

	notifyMu sync.Mutex
	notify   chan struct{} // closed (and replaced) after each commit

	closeMu  sync.Mutex
	closeErr error

	commits    atomic.Int64 // transactions committed by the writer
	unreadable atomic.Int64 // entries found undecodable by this Queue
}

type enqueueReq struct {
	payload []byte
	at      int64
	result  chan error
}

const schema = `
CREATE TABLE IF NOT EXISTS queue_entries (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	payload     BLOB    NOT NULL,
	enqueued_at INTEGER NOT NULL,
	lease_until INTEGER NOT NULL DEFAULT 0,
	attempts    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS dead_entries (
	id          INTEGER PRIMARY KEY,
	payload     BLOB    NOT NULL,
	enqueued_at INTEGER NOT NULL,
	attempts    INTEGER NOT NULL,
	died_at     INTEGER NOT NULL
);
-- Stats and Backlog count from these instead of walking the payloads.
CREATE INDEX IF NOT EXISTS queue_entries_by_attempts ON queue_entries (attempts, enqueued_at);
CREATE INDEX IF NOT EXISTS dead_entries_by_died_at ON dead_entries (died_at);`

// Open opens (creating if needed) the queue file at path.
func Open(path string, opts Options) (*Queue, error) {
	opts.defaults()
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?_txlock=immediate" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open queue %s: %w", path, err)
	}
	// One connection: statements of this process never contend for SQLite's
	// write lock among themselves (which would cost busy-handler sleeps).
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	if _, err := db.Exec(schema); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("create queue tables in %s: %w", path, err)
	}
	q := &Queue{
		db:     db,
		opts:   opts,
		reqs:   make(chan enqueueReq, opts.MaxGroup),
		done:   make(chan struct{}),
		notify: make(chan struct{}),
	}
	go q.writer()
	return q, nil
}

// Enqueue stores b and returns once it is committed and fsynced. If ctx ends
// first the error says so, but the batch may still have been stored (as with
// any at-least-once hand-off).
func (q *Queue) Enqueue(ctx context.Context, b metric.Batch) error {
	req := enqueueReq{
		payload: batchcodec.Encode(b),
		at:      q.opts.Clock().UnixMilli(),
		result:  make(chan error, 1),
	}
	q.mu.RLock()
	if q.closed {
		q.mu.RUnlock()
		return ErrClosed
	}
	select {
	case q.reqs <- req:
		q.mu.RUnlock()
	case <-ctx.Done():
		q.mu.RUnlock()
		return fmt.Errorf("enqueue batch %s: %w", b.ID, ctx.Err())
	}
	select {
	case err := <-req.result:
		if err != nil {
			return fmt.Errorf("enqueue batch %s: %w", b.ID, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("enqueue batch %s: outcome unknown: %w", b.ID, ctx.Err())
	}
}

// writer commits queued requests in groups until reqs is closed.
func (q *Queue) writer() {
	defer close(q.done)
	group := make([]enqueueReq, 0, q.opts.MaxGroup)
	for first := range q.reqs {
		group = append(group[:0], first)
	drain:
		for len(group) < q.opts.MaxGroup {
			select {
			case r, ok := <-q.reqs:
				if !ok {
					break drain
				}
				group = append(group, r)
			default:
				break drain
			}
		}
		err := q.insert(group)
		for _, r := range group {
			r.result <- err
		}
		if err == nil {
			q.notifyMu.Lock()
			close(q.notify)
			q.notify = make(chan struct{})
			q.notifyMu.Unlock()
		}
	}
}

func (q *Queue) insert(group []enqueueReq) error {
	ctx := context.Background()
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO queue_entries (payload, enqueued_at) VALUES (?, ?)`)
	if err != nil {
		return fmt.Errorf("prepare insert: %w", err)
	}
	defer stmt.Close()
	for _, r := range group {
		if _, err := stmt.ExecContext(ctx, r.payload, r.at); err != nil {
			return fmt.Errorf("insert: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit %d entries: %w", len(group), err)
	}
	q.commits.Add(1)
	return nil
}

// Fetch leases up to max of the oldest available entries, waiting up to wait
// for the first one. It returns an empty slice when none came in time, and
// ctx's error if ctx ends first.
func (q *Queue) Fetch(ctx context.Context, max int, wait time.Duration) ([]flush.Delivery, error) {
	if max <= 0 {
		return nil, nil
	}
	deadline := time.Now().Add(wait)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		q.mu.RLock()
		closed := q.closed
		q.mu.RUnlock()
		q.notifyMu.Lock()
		notify := q.notify
		q.notifyMu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		ds, err := q.lease(ctx, max)
		if err != nil || len(ds) > 0 {
			return ds, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return []flush.Delivery{}, nil
		}
		timer.Reset(min(left, q.opts.PollInterval))
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("fetch: %w", ctx.Err())
		case <-notify:
		case <-timer.C:
		}
	}
}

// lease takes up to max available entries, dead-lettering those already
// delivered MaxAttempts times. It loops while it only found dead ones.
func (q *Queue) lease(ctx context.Context, max int) ([]flush.Delivery, error) {
	for {
		ds, dead, err := q.leaseOnce(ctx, max)
		if err != nil || len(ds) > 0 || dead == 0 {
			return ds, err
		}
	}
}

func (q *Queue) leaseOnce(ctx context.Context, max int) ([]flush.Delivery, int, error) {
	now := q.opts.Clock()
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, `
		UPDATE queue_entries SET lease_until = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM queue_entries WHERE lease_until < ? ORDER BY id LIMIT ?)
		RETURNING id, payload, attempts`,
		now.Add(q.opts.LeaseTimeout).UnixMilli(), now.UnixMilli(), max)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch: lease: %w", err)
	}
	ds := make([]flush.Delivery, 0, max)
	var (
		dead    []int64
		reasons []string
	)
	for rows.Next() {
		var (
			id       int64
			payload  string
			attempts int
		)
		if err := rows.Scan(&id, &payload, &attempts); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("fetch: scan: %w", err)
		}
		if attempts > q.opts.MaxAttempts {
			dead, reasons = append(dead, id), append(reasons, "max attempts reached")
			continue
		}
		b, err := batchcodec.DecodeString(payload)
		if err != nil {
			// A payload this build cannot read never will: dead-letter it,
			// and raise the alarm (it was accepted, it will not be stored).
			q.unreadable.Add(1)
			q.opts.Logger.Error("queue entry unreadable", "id", id, "err", err,
				"payload_bytes", len(payload), "attempts", attempts)
			dead, reasons = append(dead, id), append(reasons, "unreadable payload: "+err.Error())
			continue
		}
		ds = append(ds, flush.Delivery{ID: strconv.FormatInt(id, 10), Batch: b, Attempts: attempts})
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, 0, fmt.Errorf("fetch: lease rows: %w", err)
	}
	rows.Close()
	if len(dead) > 0 {
		if err := q.bury(ctx, tx, dead, now); err != nil {
			return nil, 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, 0, fmt.Errorf("fetch: commit: %w", err)
	}
	for i, id := range dead {
		q.opts.Logger.Warn("queue entry dead-lettered", "id", id, "reason", reasons[i], "max_attempts", q.opts.MaxAttempts)
	}
	// SQLite does not promise RETURNING order: restore FIFO explicitly.
	sortByID(ds)
	return ds, len(dead), nil
}

// bury moves entries to dead_entries inside tx.
func (q *Queue) bury(ctx context.Context, tx *sql.Tx, ids []int64, now time.Time) error {
	in, args := inList(ids)
	if _, err := tx.ExecContext(ctx, `
		INSERT OR REPLACE INTO dead_entries (id, payload, enqueued_at, attempts, died_at)
		SELECT id, payload, enqueued_at, attempts - 1, ? FROM queue_entries WHERE id IN (`+in+`)`,
		append([]any{now.UnixMilli()}, args...)...); err != nil {
		return fmt.Errorf("fetch: dead-letter: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM queue_entries WHERE id IN (`+in+`)`, args...); err != nil {
		return fmt.Errorf("fetch: dead-letter delete: %w", err)
	}
	return nil
}

// Ack deletes the entries: they are never delivered again. Unknown ids are ignored.
func (q *Queue) Ack(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	nums := make([]int64, len(ids))
	for i, s := range ids {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("ack: bad entry id %q", s)
		}
		nums[i] = n
	}
	in, args := inList(nums)
	if _, err := q.db.ExecContext(ctx, `DELETE FROM queue_entries WHERE id IN (`+in+`)`, args...); err != nil {
		return fmt.Errorf("ack %d entries: %w", len(ids), err)
	}
	return nil
}

// Backlog counts entries not yet acknowledged (leased ones included).
func (q *Queue) Backlog(ctx context.Context) (int64, error) {
	return q.count(ctx, "queue_entries")
}

// DeadLetters counts the entries in dead_entries.
func (q *Queue) DeadLetters(ctx context.Context) (int64, error) {
	return q.count(ctx, "dead_entries")
}

// Stats describes the queue file (every process's entries; Unreadable is
// this Queue's own count): Waiting are entries never leased, Pending those
// leased at least once and not acknowledged (an expired lease included),
// OldestAge is measured from the smallest enqueued_at by Options.Clock. One
// statement, answered from the indexes, not the payloads.
func (q *Queue) Stats(ctx context.Context) (flush.QueueStats, error) {
	var (
		s      flush.QueueStats
		total  int64
		oldest sql.NullInt64
	)
	err := q.db.QueryRowContext(ctx, `
		SELECT COUNT(*), COALESCE(SUM(attempts = 0), 0), MIN(enqueued_at),
		       (SELECT COUNT(*) FROM dead_entries)
		FROM queue_entries`).Scan(&total, &s.Waiting, &oldest, &s.DeadLetters)
	if err != nil {
		return flush.QueueStats{}, fmt.Errorf("queue stats: %w", err)
	}
	s.Pending = total - s.Waiting
	if oldest.Valid {
		s.OldestAge = max(q.opts.Clock().Sub(time.UnixMilli(oldest.Int64)), 0)
	}
	s.Unreadable = q.unreadable.Load()
	return s, nil
}

func (q *Queue) count(ctx context.Context, table string) (int64, error) {
	var n int64
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", table, err)
	}
	return n, nil
}

// Ping checks the file is readable.
func (q *Queue) Ping(ctx context.Context) error {
	q.mu.RLock()
	closed := q.closed
	q.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if err := q.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping queue: %w", err)
	}
	return nil
}

// Close stops accepting batches, commits those already handed to the
// writer, and closes the file. Later calls return the first call's result.
func (q *Queue) Close() error {
	q.closeMu.Lock()
	defer q.closeMu.Unlock()
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return q.closeErr
	}
	q.closed = true
	close(q.reqs)
	q.mu.Unlock()
	<-q.done
	q.closeErr = q.db.Close()
	return q.closeErr
}

func inList(ids []int64) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return strings.TrimSuffix(strings.Repeat("?,", len(ids)), ","), args
}

func sortByID(ds []flush.Delivery) {
	// Insertion sort: at most max entries, already nearly ordered.
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && idLess(ds[j].ID, ds[j-1].ID); j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
