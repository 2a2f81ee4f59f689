package samples

import (
	"context"
	"fmt"
	"strconv"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"

	"github.com/pulsemetrics/pulse/usecase/retention"
)

// The store serves the retention use case's ports on samples (its Tenants
// port is adapter/store/tenants').
var (
	_ retention.Partitions = (*Store)(nil)
	_ retention.Deleter    = (*Store)(nil)
)

// DefaultDeleteChunk is the rows one retention DELETE removes at most when
// the caller gives no chunk size.
const DefaultDeleteChunk = 10000

// seriesPage is how many series ids of a tenant one retention pass covers:
// its DELETE statements name these ids, so they read the primary keys of
// this tenant's series only, never other tenants' rows.
const seriesPage = 1000

// DeleteSamplesBefore deletes tenantID's raw samples with ts < cutoffMs and
// returns how many it deleted. It walks the tenant's series ids a page at a
// time (index series(tenant_id, id)) and deletes by primary key (series_id,
// ts), in statements of at most chunk rows each (chunk <= 0:
// DefaultDeleteChunk), so that each holds its locks briefly and other
// tenants' rows are never read. It checks ctx between statements; on an
// error it returns what it deleted so far. Safe to run beside writers and
// from several processes.
func (s *Store) DeleteSamplesBefore(ctx context.Context, tenantID, cutoffMs int64, chunk int) (int64, error) {
	if err := sqldb.RequireTenant("delete samples", tenantID); err != nil {
		return 0, err
	}
	if chunk <= 0 {
		chunk = DefaultDeleteChunk
	}
	stmt := "DELETE FROM samples WHERE series_id IN (%s) AND ts < ? LIMIT " + strconv.Itoa(chunk)
	if s.db.Dialect.Name == "sqlite" { // no DELETE … LIMIT: delete the keys of a limited sub-select
		stmt = "DELETE FROM samples WHERE (series_id, ts) IN (SELECT series_id, ts FROM samples WHERE series_id IN (%s) AND ts < ? LIMIT " + strconv.Itoa(chunk) + ")"
	}
	n, err := s.deleteBySeries(ctx, tenantID, chunk, stmt, cutoffMs)
	if err != nil {
		return n, fmt.Errorf("delete samples of tenant %d before %d: %w", tenantID, cutoffMs, err)
	}
	return n, nil
}

// DeleteRollupsBefore deletes tenantID's rollup rows of the step stepMs
// whose bucket starts before cutoffMs (start_ts < cutoffMs) and returns how
// many it deleted, in statements of at most chunk rows, like
// DeleteSamplesBefore.
func (s *Store) DeleteRollupsBefore(ctx context.Context, tenantID, stepMs, cutoffMs int64, chunk int) (int64, error) {
	if err := sqldb.RequireTenant("delete rollups", tenantID); err != nil {
		return 0, err
	}
	if stepMs <= 0 {
		return 0, fmt.Errorf("delete rollups of tenant %d: step %d ms <= 0", tenantID, stepMs)
	}
	if chunk <= 0 {
		chunk = DefaultDeleteChunk
	}
	stmt := "DELETE FROM rollups WHERE series_id IN (%s) AND step_ms = ? AND start_ts < ? LIMIT " + strconv.Itoa(chunk)
	if s.db.Dialect.Name == "sqlite" {
		stmt = "DELETE FROM rollups WHERE (series_id, step_ms, start_ts) IN (SELECT series_id, step_ms, start_ts FROM rollups WHERE series_id IN (%s) AND step_ms = ? AND start_ts < ? LIMIT " + strconv.Itoa(chunk) + ")"
	}
	n, err := s.deleteBySeries(ctx, tenantID, chunk, stmt, stepMs, cutoffMs)
	if err != nil {
		return n, fmt.Errorf("delete %d ms rollups of tenant %d before %d: %w", stepMs, tenantID, cutoffMs, err)
	}
	return n, nil
}

// deleteBySeries runs stmt (a format with one %s for the series ids) with
// args for every page of tenantID's series ids, each page until a statement
// deletes fewer than chunk rows, and returns the rows deleted.
func (s *Store) deleteBySeries(ctx context.Context, tenantID int64, chunk int, stmt string, args ...any) (int64, error) {
	var total int64
	after := int64(0)
	for {
		ids, err := s.seriesIDsAfter(ctx, tenantID, after)
		if err != nil {
			return total, err
		}
		if len(ids) == 0 {
			return total, nil
		}
		after = ids[len(ids)-1]
		q := fmt.Sprintf(stmt, joinIDs(ids))
		for {
			if err := ctx.Err(); err != nil {
				return total, err
			}
			var n int64
			err := s.db.Retry(ctx, func() error {
				res, err := s.db.Write.ExecContext(ctx, q, args...)
				if err != nil {
					return err
				}
				n, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return total, err
			}
			total += n
			if n < int64(chunk) {
				break
			}
		}
		if len(ids) < seriesPage {
			return total, nil
		}
	}
}

// seriesIDsAfter returns up to seriesPage ids of tenantID's series greater
// than after, in ascending order.
func (s *Store) seriesIDsAfter(ctx context.Context, tenantID, after int64) ([]int64, error) {
	rows, err := s.db.Read.QueryContext(ctx,
		"SELECT id FROM series WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT "+strconv.Itoa(seriesPage), tenantID, after)
	if err != nil {
		return nil, fmt.Errorf("series ids: %w", err)
	}
	defer rows.Close()
	ids := make([]int64, 0, seriesPage)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("series ids: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("series ids: %w", err)
	}
	return ids, nil
}

// joinIDs renders ids as a comma-separated list of literals (numbers only:
// nothing to escape).
func joinIDs(ids []int64) string {
	buf := make([]byte, 0, len(ids)*8)
	for i, id := range ids {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, id, 10)
	}
	return string(buf)
}
