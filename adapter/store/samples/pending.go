package samples

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
)

// pendingGap splits one series' samples of a write into several pending
// ranges where consecutive timestamps are further apart than this, so a
// late sample does not make the rollup job re-read the hours between it
// and the fresh ones.
const pendingGap = 60_000

// insertPending records, in the samples' transaction, which time ranges of
// which series the rollup job must recompute (rollup_pending). rows are
// sorted by series then time. A row is written even for samples the INSERT
// IGNORE skipped as duplicates: recomputing an unchanged bucket is harmless.
// A row already pending bumps its gen instead (see deletePending).
func (s *Store) insertPending(ctx context.Context, tx *sql.Tx, rows []sampleRow, buf []byte) error {
	if len(rows) == 0 {
		return nil
	}
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		buf = append(buf, s.db.Dialect.UpsertPending...)
		if _, err := tx.ExecContext(ctx, string(buf)); err != nil {
			return fmt.Errorf("insert rollup_pending: %w", err)
		}
		n = 0
		return nil
	}
	add := func(series, lo, hi int64) error {
		if n == 0 {
			buf = append(buf[:0], "INSERT INTO rollup_pending (series_id, min_ts, max_ts) VALUES "...)
		} else {
			buf = append(buf, ',')
		}
		buf = append(buf, '(')
		buf = strconv.AppendInt(buf, series, 10)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, lo, 10)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, hi, 10)
		buf = append(buf, ')')
		n++
		if n == s.sampleRows {
			return flush()
		}
		return nil
	}
	series, lo, hi := rows[0].seriesID, rows[0].ts, rows[0].ts
	for _, r := range rows[1:] {
		if r.seriesID == series && r.ts-hi <= pendingGap {
			hi = r.ts
			continue
		}
		if err := add(series, lo, hi); err != nil {
			return err
		}
		series, lo, hi = r.seriesID, r.ts, r.ts
	}
	if err := add(series, lo, hi); err != nil {
		return err
	}
	return flush()
}
