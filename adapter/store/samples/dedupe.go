package samples

import (
	"context"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
)

// DefaultDedupeWindow is how long a sample's dedupe id is remembered.
const DefaultDedupeWindow = 24 * time.Hour

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
	return sqldb.Millis(now.Add(-s.dedupeWindowOrDefault()))
}

// PurgeDedupe deletes the sample_dedupe rows older than the dedupe window
// at now and returns how many it deleted. Expired rows already count as
// absent, so purging only reclaims space; it is safe to run from several
// processes at once.
func (s *Store) PurgeDedupe(ctx context.Context, now time.Time) (int64, error) {
	return s.db.PurgeChunked(ctx, "sample_dedupe", "created_at <= ?", "tenant_id, dedupe_id", s.dedupeCutoff(now))
}
