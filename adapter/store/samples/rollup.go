package samples

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"

	"github.com/pulsemetrics/pulse/domain/rollup"
)

// rangesPerStatement bounds the (series, range) disjuncts of one statement.
const rangesPerStatement = 200

// seriesRange is [from, to) of one series, aligned on the coarsest step.
type seriesRange struct {
	series   int64
	from, to int64
}

// RollupPending recomputes the rollups that up to limit rows of
// rollup_pending (oldest first) call for, and deletes those rows, in one
// transaction. Each pending range is widened to whole buckets of the
// coarsest step; the finest step is aggregated from the raw samples of
// those ranges, and every coarser step from the one before (count-weighted
// average, min of mins, max of maxes), so all levels agree exactly. Rows are
// upserted, never deleted, so rollups outlive the raw data they came from.
//
// Running it again with nothing pending does nothing; running it over a
// range already computed writes the same values. Passes must not overlap:
// one from an older snapshot could overwrite a newer bucket. So holder must
// hold the rollup lease (see AcquireLease); the pass locks the lease row
// first and fails with rollup.ErrNotLeaseHolder otherwise, which also
// serialises a pass that outlived its lease with its successor's.
// Maintenance over every tenant (the tenant is part of each series).
func (s *Store) RollupPending(ctx context.Context, holder string, steps rollup.Steps, limit int) (rollup.Pass, error) {
	var run rollup.Pass
	err := s.db.Retry(ctx, func() error {
		var err error
		run, err = s.rollupTx(ctx, holder, steps, limit)
		return err
	})
	if err != nil {
		return rollup.Pass{}, fmt.Errorf("rollup pending: %w", err)
	}
	return run, nil
}

func (s *Store) rollupTx(ctx context.Context, holder string, steps rollup.Steps, limit int) (rollup.Pass, error) {
	var run rollup.Pass
	tx, err := s.db.Write.BeginTx(ctx, nil)
	if err != nil {
		return run, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	// A locking read: it takes no snapshot, so the reads below see every
	// pass committed before this one got the lock.
	var current string
	var until int64
	err = tx.QueryRowContext(ctx, "SELECT holder, expires_at FROM job_leases WHERE name = ?"+s.db.Dialect.ForUpdate, rollup.LeaseName).Scan(&current, &until)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return run, fmt.Errorf("check rollup lease: %w", err)
	}
	if current != holder || until < sqldb.Millis(s.db.Now()) {
		return run, fmt.Errorf("rollup pass as %q (lease held by %q): %w", holder, current, rollup.ErrNotLeaseHolder)
	}

	marks, ranges, err := s.readPending(ctx, tx, steps.Coarsest(), limit)
	if err != nil || len(marks) == 0 {
		return run, err
	}
	run.Pending = len(marks)
	// levels[i] holds the buckets of steps[i], keyed by series and start.
	levels := make([]map[bucketKey]rollup.Aggregate, len(steps))
	levels[0] = map[bucketKey]rollup.Aggregate{}
	for start := 0; start < len(ranges); start += rangesPerStatement {
		n, err := s.aggregateRaw(ctx, tx, ranges[start:min(start+rangesPerStatement, len(ranges))], steps.Finest(), levels[0])
		if err != nil {
			return run, err
		}
		run.RawRows += n
	}
	for i := 1; i < len(steps); i++ {
		levels[i] = make(map[bucketKey]rollup.Aggregate, len(levels[i-1])/int(steps[i]/steps[i-1])+1)
		for k, a := range levels[i-1] {
			up := bucketKey{series: k.series, start: rollup.BucketStart(k.start, steps[i])}
			levels[i][up] = levels[i][up].Merge(a)
		}
	}
	seen := map[int64]bool{}
	for _, r := range ranges {
		seen[r.series] = true
	}
	run.Series = len(seen)
	for i, step := range steps {
		if err := s.upsertRollups(ctx, tx, step, levels[i]); err != nil {
			return run, err
		}
		run.Buckets += len(levels[i])
	}
	if err := s.deletePending(ctx, tx, marks); err != nil {
		return run, err
	}
	if err := tx.Commit(); err != nil {
		return run, fmt.Errorf("commit: %w", err)
	}
	return run, nil
}

// bucketKey is one bucket of one series (the step is implied).
type bucketKey struct {
	series int64
	start  int64
}

// pendingMark is one rollup_pending row as read.
type pendingMark struct {
	series, lo, hi int64
	gen            int64
}

// readPending reads up to limit pending rows and returns them and their
// ranges widened to the coarsest step and merged per series.
func (s *Store) readPending(ctx context.Context, tx *sql.Tx, coarsest int64, limit int) ([]pendingMark, []seriesRange, error) {
	rows, err := tx.QueryContext(ctx, "SELECT series_id, min_ts, max_ts, gen FROM rollup_pending ORDER BY series_id, min_ts, max_ts LIMIT "+strconv.Itoa(limit))
	if err != nil {
		return nil, nil, fmt.Errorf("read rollup_pending: %w", err)
	}
	defer rows.Close()
	var marks []pendingMark
	var ranges []seriesRange
	for rows.Next() {
		var m pendingMark
		if err := rows.Scan(&m.series, &m.lo, &m.hi, &m.gen); err != nil {
			return nil, nil, fmt.Errorf("read rollup_pending: %w", err)
		}
		marks = append(marks, m)
		ranges = append(ranges, seriesRange{series: m.series, from: rollup.BucketStart(m.lo, coarsest), to: rollup.BucketStart(m.hi, coarsest) + coarsest})
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read rollup_pending: %w", err)
	}
	return marks, mergeRanges(ranges), nil
}

// mergeRanges sorts ranges and joins those of a series that overlap or touch.
func mergeRanges(rs []seriesRange) []seriesRange {
	slices.SortFunc(rs, func(a, b seriesRange) int {
		if a.series != b.series {
			return cmpInt(a.series, b.series)
		}
		return cmpInt(a.from, b.from)
	})
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && out[n-1].series == r.series && r.from <= out[n-1].to {
			out[n-1].to = max(out[n-1].to, r.to)
			continue
		}
		out = append(out, r)
	}
	return out
}

// appendRangeFilter renders (series_id = s AND col >= from AND col < to) OR …
func appendRangeFilter(b []byte, col string, ranges []seriesRange) []byte {
	for i, r := range ranges {
		if i > 0 {
			b = append(b, " OR "...)
		}
		b = append(b, "(series_id = "...)
		b = strconv.AppendInt(b, r.series, 10)
		b = append(b, " AND "...)
		b = append(b, col...)
		b = append(b, " >= "...)
		b = strconv.AppendInt(b, r.from, 10)
		b = append(b, " AND "...)
		b = append(b, col...)
		b = append(b, " < "...)
		b = strconv.AppendInt(b, r.to, 10)
		b = append(b, ')')
	}
	return b
}

// rawAggregateSQL groups the raw samples of ranges into step buckets. Times
// are positive (ingest refuses samples older than the retention), so
// ts - ts % step is the bucket start on both engines.
func rawAggregateSQL(ranges []seriesRange, step int64) string {
	st := strconv.FormatInt(step, 10)
	b := []byte("SELECT series_id, ts - ts % " + st + " AS bucket, COUNT(*), SUM(value), MIN(value), MAX(value) FROM samples WHERE ")
	b = appendRangeFilter(b, "ts", ranges)
	b = append(b, " GROUP BY series_id, bucket"...)
	return string(b)
}

// querier is a *sql.Tx or *sql.DB.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// aggregateRaw adds the step buckets of the raw samples in ranges to into
// and returns how many samples it read.
func (s *Store) aggregateRaw(ctx context.Context, q querier, ranges []seriesRange, step int64, into map[bucketKey]rollup.Aggregate) (int64, error) {
	rows, err := q.QueryContext(ctx, rawAggregateSQL(ranges, step))
	if err != nil {
		return 0, fmt.Errorf("aggregate raw samples: %w", err)
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		var k bucketKey
		var a rollup.Aggregate
		if err := rows.Scan(&k.series, &k.start, &a.Count, &a.Sum, &a.Min, &a.Max); err != nil {
			return 0, fmt.Errorf("aggregate raw samples: %w", err)
		}
		into[k] = a
		n += a.Count
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("aggregate raw samples: %w", err)
	}
	return n, nil
}

// upsertRollups writes the buckets of one step, replacing what is there.
func (s *Store) upsertRollups(ctx context.Context, tx *sql.Tx, step int64, buckets map[bucketKey]rollup.Aggregate) error {
	keys := make([]bucketKey, 0, len(buckets))
	for k := range buckets {
		keys = append(keys, k)
	}
	// Key order: sequential B-tree writes and a stable lock order.
	slices.SortFunc(keys, func(a, b bucketKey) int {
		if a.series != b.series {
			return cmpInt(a.series, b.series)
		}
		return cmpInt(a.start, b.start)
	})
	var b []byte
	for start := 0; start < len(keys); start += s.sampleRows {
		b = append(b[:0], "INSERT INTO rollups (series_id, step_ms, start_ts, count, sum, min, max) VALUES "...)
		for i, k := range keys[start:min(start+s.sampleRows, len(keys))] {
			a := buckets[k]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '(')
			b = strconv.AppendInt(b, k.series, 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, step, 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, k.start, 10)
			b = append(b, ',')
			b = strconv.AppendInt(b, a.Count, 10)
			b = append(b, ',')
			b = strconv.AppendFloat(b, a.Sum, 'g', -1, 64)
			b = append(b, ',')
			b = strconv.AppendFloat(b, a.Min, 'g', -1, 64)
			b = append(b, ',')
			b = strconv.AppendFloat(b, a.Max, 'g', -1, 64)
			b = append(b, ')')
		}
		b = append(b, s.db.Dialect.UpsertRollups...)
		if _, err := tx.ExecContext(ctx, string(b)); err != nil {
			return fmt.Errorf("upsert %s rollups: %w", rollup.Name(step), err)
		}
	}
	return nil
}

// deletePending deletes the handled pending rows, each only if its gen is
// still the one read: a row a writer repeated meanwhile (gen bumped, its
// samples unseen by this transaction) stays for the next run, as do rows
// added since. (The DELETE reads the latest committed rows and waits for a
// writer still holding one.)
func (s *Store) deletePending(ctx context.Context, tx *sql.Tx, marks []pendingMark) error {
	var b strings.Builder
	for start := 0; start < len(marks); start += rangesPerStatement {
		b.Reset()
		b.WriteString("DELETE FROM rollup_pending WHERE ")
		for i, m := range marks[start:min(start+rangesPerStatement, len(marks))] {
			if i > 0 {
				b.WriteString(" OR ")
			}
			fmt.Fprintf(&b, "(series_id = %d AND min_ts = %d AND max_ts = %d AND gen = %d)", m.series, m.lo, m.hi, m.gen)
		}
		if _, err := tx.ExecContext(ctx, b.String()); err != nil {
			return fmt.Errorf("delete rollup_pending: %w", err)
		}
	}
	return nil
}

// PendingRollups counts the rows of rollup_pending (the rollup backlog).
// Maintenance over every tenant; returns a count only.
func (s *Store) PendingRollups(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM rollup_pending").Scan(&n); err != nil {
		return 0, fmt.Errorf("count rollup_pending: %w", err)
	}
	return n, nil
}
