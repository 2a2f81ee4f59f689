package samples

import (
	"context"
	"fmt"
	"slices"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"

	sq "github.com/Masterminds/squirrel"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// defaultMaxPoints applies when a query leaves MaxPoints at zero.
const defaultMaxPoints = 1000

// ReadRaw returns one page of raw points of q.Name for q.TenantID in
// [q.Start, q.End), for the series whose tags carry every q.Tags pair,
// ordered by series then time and starting after q.Cursor. When more points
// remain, page.Next marks the last point returned. Series without points in
// the page are left out. A query without a tenant is sqldb.ErrTenantRequired.
func (s *Store) ReadRaw(ctx context.Context, q metric.Query) (metric.Page, error) {
	if err := sqldb.RequireTenant("read", q.TenantID); err != nil {
		return metric.Page{}, err
	}
	max := q.MaxPoints
	if max <= 0 {
		max = defaultMaxPoints
	}
	series, err := s.seriesNamed(ctx, q)
	if err != nil {
		return metric.Page{}, err
	}
	page := metric.Page{Interval: q.Interval}
	if len(series) == 0 {
		return page, nil
	}
	if len(series) == 1 {
		for id, tags := range series {
			return s.readOneSeries(ctx, q, id, tags, max)
		}
	}
	ids := make([]any, 0, len(series))
	for id := range series {
		ids = append(ids, id)
	}
	b := s.db.SB.Select("series_id", "ts", "value").From("samples").
		Where(sq.Eq{"series_id": ids}).
		Where(sq.GtOrEq{"ts": q.Start}).Where(sq.Lt{"ts": q.End})
	if q.Cursor.Set {
		b = b.Where(sq.Or{
			sq.Gt{"series_id": q.Cursor.SeriesID},
			sq.And{sq.Eq{"series_id": q.Cursor.SeriesID}, sq.Gt{"ts": q.Cursor.TS}},
		})
	}
	rows, err := b.OrderBy("series_id", "ts").Limit(uint64(max) + 1).
		RunWith(s.db.Read).QueryContext(ctx)
	if err != nil {
		return metric.Page{}, fmt.Errorf("read %s tenant=%d: %w", q.Name, q.TenantID, err)
	}
	defer rows.Close()
	var (
		n       int
		current int64 = -1
		lastTS  int64
	)
	for rows.Next() {
		var id int64
		var p metric.Point
		if err := rows.Scan(&id, &p.TS, &p.Value); err != nil {
			return metric.Page{}, fmt.Errorf("read %s tenant=%d: %w", q.Name, q.TenantID, err)
		}
		if n == max {
			page.Next = metric.Cursor{SeriesID: current, TS: lastTS, Set: true}
			break
		}
		n++
		p.Min, p.Max, p.Sum, p.Count = p.Value, p.Value, p.Value, 1
		if id != current {
			current = id
			// Few points each on a page of many series: append grows it.
			page.Series = append(page.Series, metric.SeriesPoints{Tags: series[id], Points: make([]metric.Point, 0, min(max, 64))})
		}
		last := &page.Series[len(page.Series)-1]
		last.Points = append(last.Points, p)
		lastTS = p.TS
	}
	if err := rows.Err(); err != nil {
		return metric.Page{}, fmt.Errorf("read %s tenant=%d: %w", q.Name, q.TenantID, err)
	}
	return page, nil
}

// seriesNamed returns the tenant's series of q's name whose tags match
// every pair of q.Tags and, for each key of q.TagIn, one of its values, by
// id.
func (s *Store) seriesNamed(ctx context.Context, q metric.Query) (map[int64]metric.Tags, error) {
	tenantID, name, want := q.TenantID, q.Name, q.Tags
	rows, err := s.db.SB.Select("id", "tags").From("series").
		Where(sq.Eq{"tenant_id": tenantID, "name": name}).
		RunWith(s.db.Read).QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("series %s tenant=%d: %w", name, tenantID, err)
	}
	defer rows.Close()
	out := map[int64]metric.Tags{}
	filter := newTagFilter(want, q.TagIn)
	for rows.Next() {
		var id int64
		var raw string
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, fmt.Errorf("series %s tenant=%d: %w", name, tenantID, err)
		}
		if !filter.match(raw) {
			continue // decided on the stored JSON: most series of a name are not wanted
		}
		tags, err := decodeTags(raw)
		if err != nil {
			return nil, fmt.Errorf("series %d: %w", id, err)
		}
		if matches(tags, want) && matchesOneOf(tags, q.TagIn) {
			out[id] = tags
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("series %s tenant=%d: %w", name, tenantID, err)
	}
	return out, nil
}

// matches reports whether tags carry every key of want with the same value.
func matches(tags metric.Tags, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, t := range tags {
			if t.Key == k {
				found = t.Value == v
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// matchesOneOf reports whether tags carry, for every key of in, one of its
// values.
func matchesOneOf(tags metric.Tags, in map[string][]string) bool {
	for k, values := range in {
		found := false
		for _, t := range tags {
			if t.Key == k {
				found = slices.Contains(values, t.Value)
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
