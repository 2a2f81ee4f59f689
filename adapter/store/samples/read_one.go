package samples

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// oneSeriesSQL reads one series' points after a timestamp. It runs as a
// server-side prepared statement: MariaDB then sends ts and value as binary
// numbers instead of text, which the server no longer formats nor the
// driver parses (measured: about a third of a large single-series read).
const oneSeriesSQL = "SELECT ts, value FROM samples WHERE series_id = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?"

// preparedReads holds the read statements, each prepared on first use (a
// failed prepare is not remembered: the next call tries again). *sql.Stmt
// re-prepares itself on each pooled connection as needed.
type preparedReads struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func (s *Store) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	s.prepared.mu.Lock()
	defer s.prepared.mu.Unlock()
	if st, ok := s.prepared.stmts[query]; ok {
		return st, nil
	}
	st, err := s.db.Read.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare read: %w", err)
	}
	if s.prepared.stmts == nil {
		s.prepared.stmts = map[string]*sql.Stmt{}
	}
	s.prepared.stmts[query] = st
	return st, nil
}

// closePrepared closes every prepared statement.
func (s *Store) closePrepared() error {
	s.prepared.mu.Lock()
	defer s.prepared.mu.Unlock()
	var errs []error
	for _, st := range s.prepared.stmts {
		errs = append(errs, st.Close())
	}
	s.prepared.stmts = nil
	return errors.Join(errs...)
}

// afterCursor is where one series' points start: from, or just after the
// cursor when it is in this series; done when the cursor is past it.
func afterCursor(c metric.Cursor, id, from int64) (start int64, done bool) {
	switch {
	case !c.Set || c.SeriesID < id:
		return from, false
	case c.SeriesID > id:
		return 0, true
	}
	return max(from, c.TS+1), false
}

// readOneSeries is ReadRaw for a query that matched a single series (the
// usual chart query): the same page, read through the prepared statement.
func (s *Store) readOneSeries(ctx context.Context, q metric.Query, id int64, tags metric.Tags, max int) (metric.Page, error) {
	page := metric.Page{Interval: q.Interval}
	from, done := afterCursor(q.Cursor, id, q.Start)
	if done {
		return page, nil
	}
	stmt, err := s.readStmt(ctx, oneSeriesSQL)
	if err != nil {
		return metric.Page{}, err
	}
	rows, err := stmt.QueryContext(ctx, id, from, q.End, max+1)
	if err != nil {
		return metric.Page{}, fmt.Errorf("read %s tenant=%d: %w", q.Name, q.TenantID, err)
	}
	defer rows.Close()
	points := make([]metric.Point, 0, min(max, 4096))
	for rows.Next() {
		var p metric.Point
		if err := rows.Scan(&p.TS, &p.Value); err != nil {
			return metric.Page{}, fmt.Errorf("read %s tenant=%d: %w", q.Name, q.TenantID, err)
		}
		if len(points) == max {
			page.Next = metric.Cursor{SeriesID: id, TS: points[max-1].TS, Set: true}
			break
		}
		p.Min, p.Max, p.Sum, p.Count = p.Value, p.Value, p.Value, 1
		points = append(points, p)
	}
	if err := rows.Err(); err != nil {
		return metric.Page{}, fmt.Errorf("read %s tenant=%d: %w", q.Name, q.TenantID, err)
	}
	if len(points) > 0 {
		page.Series = []metric.SeriesPoints{{Tags: tags, Points: points}}
	}
	return page, nil
}

// oneSeriesRollupsSQL reads one series' stored buckets of a step, prepared
// like oneSeriesSQL.
const oneSeriesRollupsSQL = "SELECT start_ts, count, sum, min, max FROM rollups WHERE series_id = ? AND step_ms = ? AND start_ts >= ? AND start_ts < ? ORDER BY start_ts LIMIT ?"

// readOneSeriesRollups is readRollupRows for a single series.
func (s *Store) readOneSeriesRollups(ctx context.Context, tx *sql.Tx, q metric.Query, id, step int64, limit int) ([]bucketRow, error) {
	from, done := afterCursor(q.Cursor, id, q.Start)
	if done {
		return nil, nil
	}
	stmt, err := s.readStmt(ctx, oneSeriesRollupsSQL)
	if err != nil {
		return nil, err
	}
	rows, err := tx.StmtContext(ctx, stmt).QueryContext(ctx, id, step, from, q.End, limit)
	if err != nil {
		return nil, fmt.Errorf("read rollups %s tenant=%d: %w", q.Name, q.TenantID, err)
	}
	defer rows.Close()
	out := make([]bucketRow, 0, min(limit, 4096))
	for rows.Next() {
		r := bucketRow{key: bucketKey{series: id}}
		if err := rows.Scan(&r.key.start, &r.agg.Count, &r.agg.Sum, &r.agg.Min, &r.agg.Max); err != nil {
			return nil, fmt.Errorf("read rollups %s tenant=%d: %w", q.Name, q.TenantID, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read rollups %s tenant=%d: %w", q.Name, q.TenantID, err)
	}
	return out, nil
}
