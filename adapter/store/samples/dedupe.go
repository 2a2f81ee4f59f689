package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultDedupeWindow is how long a sample's dedupe id is remembered.
const DefaultDedupeWindow = 24 * time.Hour

// purgeChunk bounds the rows one PurgeExpired statement deletes, so that it
// holds its locks briefly and never blocks the writers for long.
const purgeChunk = 5000

// errDedupeRace means a concurrent writer re-used an expired dedupe id of
// this transaction first; the transaction is retried and then skips it.
var errDedupeRace = errors.New("dedupe id refreshed by a concurrent writer")

// SetDedupeWindow sets how long a dedupe id is remembered (default 24 h):
// a sample whose id was first seen less than d ago stores nothing; an older
// id counts as unseen, and using it again starts a new window. Call it
// before the store is used; d <= 0 restores the default.
func (s *Store) SetDedupeWindow(d time.Duration) { s.dedupeWindow = d }

func (s *Store) dedupeWindowOrDefault() time.Duration {
	if s.dedupeWindow > 0 {
		return s.dedupeWindow
	}
	return DefaultDedupeWindow
}

// dedupeCutoff is the created_at (Unix ms) at or before which a dedupe row
// has expired at now.
func (s *Store) dedupeCutoff(now time.Time) int64 {
	return millis(now.Add(-s.dedupeWindowOrDefault()))
}

// PurgeExpired deletes the sample_dedupe rows older than the dedupe window
// and the idempotency keys expired at now, in statements of at most
// purgeChunk rows, and returns how many rows it deleted. Expired rows
// already count as absent, so purging only reclaims space; it is safe to run
// from several processes at once.
func (s *Store) PurgeExpired(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for _, t := range []struct{ table, where, key string }{
		{"sample_dedupe", "created_at <= ?", "tenant_id, dedupe_id"},
		{"idempotency_keys", "expires_at <= ?", "tenant_id, idem_key"},
	} {
		limit := millis(now)
		if t.table == "sample_dedupe" {
			limit = s.dedupeCutoff(now)
		}
		// MariaDB has DELETE … LIMIT; SQLite (without the compile option)
		// deletes the keys of a limited sub-select.
		stmt := fmt.Sprintf("DELETE FROM %s WHERE %s LIMIT %d", t.table, t.where, purgeChunk)
		if s.d.name == "sqlite" {
			stmt = fmt.Sprintf("DELETE FROM %[1]s WHERE (%[3]s) IN (SELECT %[3]s FROM %[1]s WHERE %[2]s LIMIT %[4]d)", t.table, t.where, t.key, purgeChunk)
		}
		for {
			if err := ctx.Err(); err != nil {
				return total, fmt.Errorf("purge %s: %w", t.table, err)
			}
			var n int64
			err := s.retry(ctx, func() error {
				res, err := s.write.ExecContext(ctx, stmt, limit)
				if err != nil {
					return err
				}
				n, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return total, fmt.Errorf("purge %s: %w", t.table, err)
			}
			total += n
			if n < purgeChunk {
				break
			}
		}
	}
	return total, nil
}
