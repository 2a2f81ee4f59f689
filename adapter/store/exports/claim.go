package exports

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/usecase/export"
)

// The job's side: claims, chunks and outcomes. Every write after the
// claim is guarded by `claimed_by = holder AND status = 'running'`, taken
// as a row lock (an UPDATE) in the write's own transaction: a claim that
// moved to another worker in between (its lease passed) makes the old
// holder's write change nothing (export.ErrClaimLost), and the new holder's
// claim, which deletes the chunks, never interleaves with an old chunk.

// claimable is a queued export, or a running one whose claim has passed.
const claimable = "(status = ? OR (status = ? AND claimed_until < ?))"

// ClaimExport claims the oldest claimable export for holder until
// now+lease: running, attempts counted, rows, progress, bytes and error
// reset and its chunks deleted, in one transaction. On MariaDB the
// candidate is read FOR UPDATE SKIP LOCKED, so concurrent claimers take
// different exports; the UPDATE's guard makes a claim that lost a race
// retry on the next candidate.
func (s *Store) ClaimExport(ctx context.Context, holder string, now int64, lease time.Duration) (export.Export, bool, error) {
	var (
		e     export.Export
		found bool
	)
	err := s.db.Retry(ctx, func() error {
		found = false
		return s.db.InReadCommittedTx(ctx, func(tx *sql.Tx) error {
			row := tx.QueryRowContext(ctx, "SELECT "+cols+" FROM exports WHERE "+claimable+" ORDER BY id LIMIT 1"+s.db.Dialect.SkipLocked,
				export.StatusQueued, export.StatusRunning, now)
			var err error
			if e, err = scan(row); errors.Is(err, sql.ErrNoRows) {
				return nil
			} else if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, "UPDATE exports SET status = ?, claimed_by = ?, claimed_until = ?, started_at = ?, attempts = attempts + 1, "+
				"`rows` = 0, progress = 0, bytes = 0, error = '', finished_at = 0 WHERE id = ? AND "+claimable,
				export.StatusRunning, holder, now+lease.Milliseconds(), now, e.ID, export.StatusQueued, export.StatusRunning, now)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return errors.Join(err, sqldb.ErrRace) // another claimer took it first
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM export_chunks WHERE export_id = ?", e.ID); err != nil {
				return err
			}
			found = true
			return nil
		})
	})
	if err != nil {
		return export.Export{}, false, fmt.Errorf("claim export: %w", err)
	}
	if !found {
		return export.Export{}, false, nil
	}
	e.Status, e.Attempts, e.StartedAt = export.StatusRunning, e.Attempts+1, now
	e.Rows, e.Progress, e.Bytes, e.Error, e.FinishedAt = 0, 0, 0, "", 0
	return e, true, nil
}

// guarded runs fn in a transaction after the UPDATE of set (its
// arguments lead) on the export while holder holds its claim.
func (s *Store) guarded(ctx context.Context, what string, id int64, holder, set string, args []any, fn func(tx *sql.Tx) error) error {
	err := s.db.Retry(ctx, func() error {
		return s.db.InReadCommittedTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, "UPDATE exports SET "+set+" WHERE id = ? AND claimed_by = ? AND status = ?",
				append(args, id, holder, export.StatusRunning)...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n == 0 { // MariaDB counts changed rows: is the claim held, the row unchanged?
				var one int
				err := tx.QueryRowContext(ctx, "SELECT 1 FROM exports WHERE id = ? AND claimed_by = ? AND status = ?", id, holder, export.StatusRunning).Scan(&one)
				if errors.Is(err, sql.ErrNoRows) {
					return export.ErrClaimLost
				}
				if err != nil {
					return err
				}
			}
			if fn == nil {
				return nil
			}
			return fn(tx)
		})
	})
	if err != nil {
		return fmt.Errorf("%s export=%d holder=%s: %w", what, id, holder, err)
	}
	return nil
}

// AppendChunk stores chunk seq of the export's file and renews the claim
// until until.
func (s *Store) AppendChunk(ctx context.Context, id int64, holder string, seq int, data []byte, until int64) error {
	return s.guarded(ctx, "append chunk", id, holder, "bytes = bytes + ?, claimed_until = ?", []any{len(data), until}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO export_chunks (export_id, seq, data) VALUES (?, ?, ?)", id, seq, data)
		return err
	})
}

// SaveProgress records the rows and progress so far and renews the claim.
func (s *Store) SaveProgress(ctx context.Context, id int64, holder string, rows int64, progress float64, until int64) error {
	return s.guarded(ctx, "save export progress", id, holder, "`rows` = ?, progress = ?, claimed_until = ?",
		[]any{rows, progress, until}, nil)
}

// FinishExport ends the claim as done (progress 1) or failed (errMsg
// kept, chunks deleted).
func (s *Store) FinishExport(ctx context.Context, id int64, holder, status string, rows int64, errMsg string, at int64) error {
	progress := 0.0
	if status == export.StatusDone {
		progress = 1
	}
	var dropChunks func(tx *sql.Tx) error
	if status == export.StatusFailed {
		dropChunks = func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "DELETE FROM export_chunks WHERE export_id = ?", id)
			return err
		}
	}
	return s.guarded(ctx, "finish export", id, holder, "status = ?, `rows` = ?, progress = ?, error = ?, finished_at = ?, claimed_until = 0",
		[]any{status, rows, progress, capError(errMsg), at}, dropChunks)
}

// ReleaseExport queues the export again, its claim not counted.
func (s *Store) ReleaseExport(ctx context.Context, id int64, holder string) error {
	return s.guarded(ctx, "release export", id, holder, "status = ?, claimed_until = 0, attempts = attempts - 1", []any{export.StatusQueued}, nil)
}

// maxErrorBytes bounds a stored error.
const maxErrorBytes = 1000

// capError is a message as stored: valid UTF-8 (MariaDB refuses anything
// else) of at most maxErrorBytes, cut between characters.
func capError(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxErrorBytes {
		return s
	}
	cut := maxErrorBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
