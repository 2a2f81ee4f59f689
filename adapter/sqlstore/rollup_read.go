package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"

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
// ErrTenantRequired.
func (s *Store) ReadRollups(ctx context.Context, q metric.Query, step int64) (metric.Page, error) {
	if err := requireTenant("read rollups", q.TenantID); err != nil {
		return metric.Page{}, err
	}
	if step <= 0 {
		return metric.Page{}, fmt.Errorf("read rollups %s: step %d", q.Name, step)
	}
	max := q.MaxPoints
	if max <= 0 {
		max = defaultMaxPoints
	}
	series, err := s.seriesNamed(ctx, q.TenantID, q.Name, q.Tags)
	if err != nil {
		return metric.Page{}, err
	}
	page := metric.Page{Interval: rollup.Name(step)}
	if len(series) == 0 {
		return page, nil
	}
	ids := make([]int64, 0, len(series))
	for id := range series {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return metric.Page{}, fmt.Errorf("read rollups %s: begin: %w", q.Name, err)
	}
	defer func() { _ = tx.Rollback() }()

	points, err := s.readRollupRows(ctx, tx, q, ids, step, max+1)
	if err != nil {
		return metric.Page{}, err
	}
	stale, err := s.staleRanges(ctx, tx, q, ids, step)
	if err != nil {
		return metric.Page{}, err
	}
	if len(stale) > 0 {
		fresh := map[bucketKey]rollup.Aggregate{}
		for start := 0; start < len(stale); start += rangesPerStatement {
			if _, err := s.aggregateRaw(ctx, tx, stale[start:min(start+rangesPerStatement, len(stale))], step, fresh); err != nil {
				return metric.Page{}, fmt.Errorf("read rollups %s tenant=%d: %w", q.Name, q.TenantID, err)
			}
		}
		for k, a := range fresh {
			if k.start < q.Start || k.start >= q.End || !after(k, q.Cursor) {
				continue
			}
			points[k] = a // the raw samples are newer than the rollup row
		}
	}
	keys := make([]bucketKey, 0, len(points))
	for k := range points {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b bucketKey) int {
		if a.series != b.series {
			return cmpInt(a.series, b.series)
		}
		return cmpInt(a.start, b.start)
	})
	if len(keys) > max {
		last := keys[max-1]
		page.Next = metric.Cursor{SeriesID: last.series, TS: last.start, Set: true}
		keys = keys[:max]
	}
	current := int64(-1)
	for _, k := range keys {
		a := points[k]
		if k.series != current {
			current = k.series
			page.Series = append(page.Series, metric.SeriesPoints{Tags: series[k.series]})
		}
		last := &page.Series[len(page.Series)-1]
		last.Points = append(last.Points, metric.Point{TS: k.start, Value: a.Avg(), Min: a.Min, Max: a.Max, Count: a.Count, Sum: a.Sum})
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

// readRollupRows reads up to limit stored buckets after q.Cursor.
func (s *Store) readRollupRows(ctx context.Context, tx *sql.Tx, q metric.Query, ids []int64, step int64, limit int) (map[bucketKey]rollup.Aggregate, error) {
	b := []byte("SELECT series_id, start_ts, count, sum, min, max FROM rollups WHERE step_ms = ")
	b = strconv.AppendInt(b, step, 10)
	b = append(b, " AND series_id IN ("...)
	b = appendIDs(b, ids)
	b = append(b, ") AND start_ts >= "...)
	b = strconv.AppendInt(b, q.Start, 10)
	b = append(b, " AND start_ts < "...)
	b = strconv.AppendInt(b, q.End, 10)
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
	out := map[bucketKey]rollup.Aggregate{}
	for rows.Next() {
		var k bucketKey
		var a rollup.Aggregate
		if err := rows.Scan(&k.series, &k.start, &a.Count, &a.Sum, &a.Min, &a.Max); err != nil {
			return nil, fmt.Errorf("read rollups %s tenant=%d: %w", q.Name, q.TenantID, err)
		}
		out[k] = a
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
// without a tenant is ErrTenantRequired.
func (s *Store) RollupCoverage(ctx context.Context, q metric.Query, step int64) (buckets, samples int64, err error) {
	if err := requireTenant("rollup coverage", q.TenantID); err != nil {
		return 0, 0, err
	}
	series, err := s.seriesNamed(ctx, q.TenantID, q.Name, q.Tags)
	if err != nil || len(series) == 0 {
		return 0, 0, err
	}
	ids := make([]int64, 0, len(series))
	for id := range series {
		ids = append(ids, id)
	}
	b := []byte("SELECT COUNT(*), COALESCE(SUM(count), 0) FROM rollups WHERE step_ms = ")
	b = strconv.AppendInt(b, step, 10)
	b = append(b, " AND series_id IN ("...)
	b = appendIDs(b, ids)
	b = append(b, ") AND start_ts >= "...)
	b = strconv.AppendInt(b, q.Start, 10)
	b = append(b, " AND start_ts < "...)
	b = strconv.AppendInt(b, q.End, 10)
	if err := s.read.QueryRowContext(ctx, string(b)).Scan(&buckets, &samples); err != nil {
		return 0, 0, fmt.Errorf("rollup coverage %s tenant=%d: %w", q.Name, q.TenantID, err)
	}
	return buckets, samples, nil
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
