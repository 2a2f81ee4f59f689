package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrRace is wrapped by a store's error when a concurrent writer won a race
// the transaction checked for (e.g. it renewed the same expired dedupe id
// first): Retry runs the transaction again, which then sees the winner.
var ErrRace = errors.New("a concurrent writer changed the rows first")

// maxAttempts bounds the retries of a transaction that deadlocked.
const maxAttempts = 6

// Retry runs fn again while it fails with a retryable error (deadlock,
// lock-wait timeout, ErrRace), with a short growing pause.
func (s *DB) Retry(ctx context.Context, fn func() error) error {
	delay := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt == maxAttempts || !(s.Dialect.IsRetryable(err) || errors.Is(err, ErrRace)) {
			if err != nil && attempt > 1 {
				return fmt.Errorf("after %d attempts: %w", attempt, err)
			}
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (retry stopped: %v)", err, ctx.Err())
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// purgeChunk bounds the rows one PurgeChunked statement deletes, so that a
// purge never holds locks on a large range for long.
const purgeChunk = 5000

// PurgeChunked deletes the rows of table matching where (one placeholder,
// given arg) in statements of at most purgeChunk rows, until none is left,
// and returns how many it deleted; key lists the primary key columns.
// Purging expired rows only reclaims space, so it is safe to run from
// several processes at once.
func (s *DB) PurgeChunked(ctx context.Context, table, where, key string, arg any) (int64, error) {
	// MariaDB has DELETE … LIMIT; SQLite (without the compile option)
	// deletes the keys of a limited sub-select.
	stmt := fmt.Sprintf("DELETE FROM %s WHERE %s LIMIT %d", table, where, purgeChunk)
	if s.Dialect.Name == "sqlite" {
		stmt = fmt.Sprintf("DELETE FROM %[1]s WHERE (%[3]s) IN (SELECT %[3]s FROM %[1]s WHERE %[2]s LIMIT %[4]d)", table, where, key, purgeChunk)
	}
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("purge %s: %w", table, err)
		}
		var n int64
		err := s.Retry(ctx, func() error {
			res, err := s.Write.ExecContext(ctx, stmt, arg)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("purge %s: %w", table, err)
		}
		total += n
		if n < purgeChunk {
			return total, nil
		}
	}
}

// InReadCommittedTx runs fn in a write transaction, READ COMMITTED on
// MariaDB: the statements lock the rows they name and no gaps, so that
// writers of different keys do not queue behind one another, and a read
// sees what the previous holder of a row lock committed. SQLite's write
// transactions are serialised (BEGIN IMMEDIATE).
func (s *DB) InReadCommittedTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var opts *sql.TxOptions
	if s.Dialect.Name == "mysql" {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	tx, err := s.Write.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
