package samples

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/rollup"
)

// ReadRollups returns one page of step-long buckets of q.Name for
// q.TenantID whose start lies in [q.Start, q.End), for the series whose tags
// carry every q.Tags pair, ordered by series then time and starting after
// q.Cursor; page.Next marks the last point when more remain.
//
// It stitches: a bucket that a rollup_pending row overlaps (samples written
// since the rollup job last ran) is aggregated from the raw samples instead
// of read from rollups, in the same read snapshot, so every bucket is
// counted exactly once and none is missing. A query without a tenant is
// sqldb.ErrTenantRequired.
func (s *Store) ReadRollups(ctx context.Context, q metric.Query, step int64) (metric.Page, error) {
	return s.ReadRollupsAs(ctx, q, step, step)
}

// ReadRollupsAs is ReadRollups for a step that is a whole multiple of a
// stored one (base): each step-long bucket merges the base buckets inside
// it exactly (counts and sums add, min of mins, max of maxes). It answers
// charts whose range holds too many buckets of every stored step. Only
// buckets wholly inside the range's step-aligned span are read, so the
// first one starts at or after q.Start.
func (s *Store) ReadRollupsAs(ctx context.Context, q metric.Query, base, step int64) (metric.Page, error) {
	if err := sqldb.RequireTenant("read rollups", q.TenantID); err != nil {
		return metric.Page{}, err
	}
	if base <= 0 || step <= 0 || step%base != 0 {
		return metric.Page{}, fmt.Errorf("read rollups %s: step %d is not a multiple of the stored step %d", q.Name, step, base)
	}
	max := q.MaxPoints
	if max <= 0 {
		max = defaultMaxPoints
	}
	series, err := s.seriesNamed(ctx, q)
	if err != nil {
		return metric.Page{}, err
	}
	page := metric.Page{Interval: rollup.Name(step)}
	if len(series) == 0 {
		return page, nil
	}
	ids := seriesIDs(series)
	tx, err := s.db.Read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return metric.Page{}, fmt.Errorf("read rollups %s: begin: %w", q.Name, err)
	}
	defer func() { _ = tx.Rollback() }()

	// rowsQ selects the base rows of whole step-long groups after the cursor.
	k := step / base
	rowsQ, limit := q, max+1
	if k > 1 {
		rowsQ.Start = rollup.BucketStart(q.Start+step-1, step)
		rowsQ.End = rollup.BucketStart(q.End-1, step) + step
		if q.Cursor.Set {
			rowsQ.Cursor.TS = q.Cursor.TS + step - 1 // past the cursor's whole group
		}
		limit = min((max+2)*int(k), maxGroupedRows)
	}
	stored, err := s.readRollupRows(ctx, tx, rowsQ, ids, base, limit)
	if err != nil {
		return metric.Page{}, err
	}
	var boundary *bucketKey // first key this page may not answer (a group cut by the limit)
	if k > 1 {
		cut := len(stored) == limit
		stored = groupRows(stored, step)
		if cut && len(stored) > 0 {
			boundary = &stored[len(stored)-1].key
			stored = stored[:len(stored)-1]
		}
	}
	stale, err := s.staleRanges(ctx, tx, rowsQ, ids, step)
	if err != nil {
		return metric.Page{}, err
	}
	points := stored
	if len(stale) > 0 {
		fresh := map[bucketKey]rollup.Aggregate{}
		for start := 0; start < len(stale); start += rangesPerStatement {
			if _, err := s.aggregateRaw(ctx, tx, stale[start:min(start+rangesPerStatement, len(stale))], step, fresh); err != nil {
				return metric.Page{}, fmt.Errorf("read rollups %s tenant=%d: %w", q.Name, q.TenantID, err)
			}
		}
		points = mergeFresh(stored, fresh, q)
	}
	if boundary != nil {
		keep := len(points)
		for keep > 0 && cmpKey(points[keep-1].key, *boundary) >= 0 {
			keep--
		}
		points = points[:keep]
	}
	if len(points) > max {
		last := points[max-1].key
		page.Next = metric.Cursor{SeriesID: last.series, TS: last.start, Set: true}
		points = points[:max]
	}
	current := int64(-1)
	for _, b := range points {
		if b.key.series != current {
			current = b.key.series
			page.Series = append(page.Series, metric.SeriesPoints{Tags: series[b.key.series], Points: make([]metric.Point, 0, min(len(points), 4096))})
		}
		last := &page.Series[len(page.Series)-1]
		a := b.agg
		last.Points = append(last.Points, metric.Point{TS: b.key.start, Value: a.Avg(), Min: a.Min, Max: a.Max, Count: a.Count, Sum: a.Sum})
	}
	if err := tx.Commit(); err != nil {
		return metric.Page{}, fmt.Errorf("read rollups %s: %w", q.Name, err)
	}
	return page, nil
}

// after reports whether k comes after the cursor (always, without one).
func after(k bucketKey, c metric.Cursor) bool {
	return !c.Set || k.series > c.SeriesID || (k.series == c.SeriesID && k.start > c.TS)
}

// maxGroupedRows bounds the base rows one page of a derived step reads.
const maxGroupedRows = 2_000_000

// groupRows merges ordered base buckets into step-long groups, keyed by
// the group's start.
func groupRows(rows []bucketRow, step int64) []bucketRow {
	out := rows[:0]
	for _, r := range rows {
		g := bucketKey{series: r.key.series, start: rollup.BucketStart(r.key.start, step)}
		if n := len(out); n > 0 && out[n-1].key == g {
			out[n-1].agg = out[n-1].agg.Merge(r.agg)
			continue
		}
		out = append(out, bucketRow{key: g, agg: r.agg})
	}
	return out
}

// bucketRow is one bucket of a query answer.
type bucketRow struct {
	key bucketKey
	agg rollup.Aggregate
}

// mergeFresh merges the buckets aggregated from raw samples into the
// stored ones (both ordered by series and start; a fresh bucket replaces a
// stored one), keeping those of the query's range after its cursor.
func mergeFresh(stored []bucketRow, fresh map[bucketKey]rollup.Aggregate, q metric.Query) []bucketRow {
	extra := make([]bucketRow, 0, len(fresh))
	for k, a := range fresh {
		if k.start >= q.Start && k.start < q.End && after(k, q.Cursor) {
			extra = append(extra, bucketRow{key: k, agg: a})
		}
	}
	slices.SortFunc(extra, func(a, b bucketRow) int { return cmpKey(a.key, b.key) })
	out := make([]bucketRow, 0, len(stored)+len(extra))
	i, j := 0, 0
	for i < len(stored) || j < len(extra) {
		switch {
		case j == len(extra) || (i < len(stored) && cmpKey(stored[i].key, extra[j].key) < 0):
			out = append(out, stored[i])
			i++
		case i == len(stored) || cmpKey(stored[i].key, extra[j].key) > 0:
			out = append(out, extra[j])
			j++
		default: // the same bucket: the raw samples are newer than the row
			out = append(out, extra[j])
			i++
			j++
		}
	}
	return out
}

func cmpKey(a, b bucketKey) int {
	if a.series != b.series {
		return cmpInt(a.series, b.series)
	}
	return cmpInt(a.start, b.start)
}

// readRollupRows reads up to limit stored buckets after q.Cursor, in order.
func (s *Store) readRollupRows(ctx context.Context, tx *sql.Tx, q metric.Query, ids []int64, step int64, limit int) ([]bucketRow, error) {
	if len(ids) == 1 {
		return s.readOneSeriesRollups(ctx, tx, q, ids[0], step, limit)
	}
	b := appendRollupsWhere([]byte("SELECT series_id, start_ts, count, sum, min, max FROM rollups WHERE "), step, ids, q)
	if q.Cursor.Set {
		b = append(b, " AND (series_id > "...)
		b = strconv.AppendInt(b, q.Cursor.SeriesID, 10)
		b = append(b, " OR (series_id = "...)
		b = strconv.AppendInt(b, q.Cursor.SeriesID, 10)
		b = append(b, " AND start_ts > "...)
		b = strconv.AppendInt(b, q.Cursor.TS, 10)
		b = append(b, "))"...)
	}
	b = append(b, " ORDER BY series_id, start_ts LIMIT "...)
	b = strconv.AppendInt(b, int64(limit), 10)
	rows, err := tx.QueryContext(ctx, string(b))
	if err != nil {
		return nil, fmt.Errorf("read rollups %s tenant=%d: %w", q.Name, q.TenantID, err)
	}
	defer rows.Close()
	out := make([]bucketRow, 0, min(limit, 4096))
	for rows.Next() {
		var r bucketRow
		if err := rows.Scan(&r.key.series, &r.key.start, &r.agg.Count, &r.agg.Sum, &r.agg.Min, &r.agg.Max); err != nil {
			return nil, fmt.Errorf("read rollups %s tenant=%d: %w", q.Name, q.TenantID, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read rollups %s tenant=%d: %w", q.Name, q.TenantID, err)
	}
	return out, nil
}

// staleRanges returns, per series, the step-aligned ranges within the
// query that rollup_pending rows overlap: their stored buckets may miss
// samples, so they are read from raw.
func (s *Store) staleRanges(ctx context.Context, tx *sql.Tx, q metric.Query, ids []int64, step int64) ([]seriesRange, error) {
	b := []byte("SELECT series_id, min_ts, max_ts FROM rollup_pending WHERE series_id IN (")
	b = appendIDs(b, ids)
	b = append(b, ") AND min_ts < "...)
	b = strconv.AppendInt(b, q.End+step, 10)
	b = append(b, " AND max_ts >= "...)
	b = strconv.AppendInt(b, q.Start, 10)
	rows, err := tx.QueryContext(ctx, string(b))
	if err != nil {
		return nil, fmt.Errorf("read pending rollups %s tenant=%d: %w", q.Name, q.TenantID, err)
	}
	defer rows.Close()
	var out []seriesRange
	for rows.Next() {
		var r seriesRange
		var lo, hi int64
		if err := rows.Scan(&r.series, &lo, &hi); err != nil {
			return nil, fmt.Errorf("read pending rollups %s tenant=%d: %w", q.Name, q.TenantID, err)
		}
		r.from = max(rollup.BucketStart(lo, step), rollup.BucketStart(q.Start, step))
		r.to = min(rollup.BucketStart(hi, step)+step, rollup.BucketStart(q.End, step)+step)
		if r.from < r.to {
			out = append(out, r)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read pending rollups %s tenant=%d: %w", q.Name, q.TenantID, err)
	}
	return mergeRanges(out), nil
}

// RollupCoverage counts the stored step buckets of the query's series in
// [q.Start, q.End) and the samples they summarise: enough for the query use
// case to estimate how many points each resolution would return. A query
// without a tenant is sqldb.ErrTenantRequired.
func (s *Store) RollupCoverage(ctx context.Context, q metric.Query, step int64) (buckets, samples int64, err error) {
	if err := sqldb.RequireTenant("rollup coverage", q.TenantID); err != nil {
		return 0, 0, err
	}
	series, err := s.seriesNamed(ctx, q)
	if err != nil || len(series) == 0 {
		return 0, 0, err
	}
	b := appendRollupsWhere([]byte("SELECT COUNT(*), COALESCE(SUM(count), 0) FROM rollups WHERE "), step, seriesIDs(series), q)
	if err := s.db.Read.QueryRowContext(ctx, string(b)).Scan(&buckets, &samples); err != nil {
		return 0, 0, fmt.Errorf("rollup coverage %s tenant=%d: %w", q.Name, q.TenantID, err)
	}
	return buckets, samples, nil
}

// appendRollupsWhere renders the filter on one step's buckets of the series
// in [q.Start, q.End).
func appendRollupsWhere(b []byte, step int64, ids []int64, q metric.Query) []byte {
	b = append(b, "step_ms = "...)
	b = strconv.AppendInt(b, step, 10)
	b = append(b, " AND series_id IN ("...)
	b = appendIDs(b, ids)
	b = append(b, ") AND start_ts >= "...)
	b = strconv.AppendInt(b, q.Start, 10)
	b = append(b, " AND start_ts < "...)
	return strconv.AppendInt(b, q.End, 10)
}

// seriesIDs are the ids of the series found, in order.
func seriesIDs(series map[int64]metric.Tags) []int64 {
	ids := make([]int64, 0, len(series))
	for id := range series {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func appendIDs(b []byte, ids []int64) []byte {
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return b
}
