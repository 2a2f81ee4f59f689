package dashboards

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"

	sq "github.com/Masterminds/squirrel"

	"github.com/pulsemetrics/pulse/domain/dashboard"
)

// Dashboards and their widgets (dashboards_widgets.go). Every method takes
// the tenant id as a required argument and puts it in every WHERE clause:
// another tenant's dashboard or widget id matches nothing and reads as
// dashboard.ErrNotFound.

// CreateDashboard stores a new dashboard of the tenant and returns it with
// its id.
func (s *Store) CreateDashboard(ctx context.Context, tenantID int64, name string, at time.Time) (dashboard.Dashboard, error) {
	if err := sqldb.RequireTenant("create dashboard", tenantID); err != nil {
		return dashboard.Dashboard{}, err
	}
	res, err := s.db.SB.Insert("dashboards").Columns("tenant_id", "name", "created_at", "updated_at").
		Values(tenantID, name, sqldb.Millis(at), sqldb.Millis(at)).RunWith(s.db.Write).ExecContext(ctx)
	if err != nil {
		return dashboard.Dashboard{}, fmt.Errorf("create dashboard tenant=%d: %w", tenantID, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return dashboard.Dashboard{}, fmt.Errorf("create dashboard tenant=%d: id: %w", tenantID, err)
	}
	t := sqldb.FromMillis(sqldb.Millis(at))
	return dashboard.Dashboard{ID: id, TenantID: tenantID, Name: name, CreatedAt: t, UpdatedAt: t}, nil
}

// ListDashboards returns at most limit of the tenant's dashboards after
// skipping offset, ordered by name then id, with their widget counts, and
// the tenant's total number of dashboards.
func (s *Store) ListDashboards(ctx context.Context, tenantID int64, offset, limit int) ([]dashboard.Summary, int, error) {
	if err := sqldb.RequireTenant("list dashboards", tenantID); err != nil {
		return nil, 0, err
	}
	if offset < 0 || limit < 1 {
		return nil, 0, fmt.Errorf("list dashboards tenant=%d: offset %d and limit %d out of range", tenantID, offset, limit)
	}
	var total int
	if err := s.db.SB.Select("COUNT(*)").From("dashboards").Where(sq.Eq{"tenant_id": tenantID}).
		RunWith(s.db.Read).QueryRowContext(ctx).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count dashboards tenant=%d: %w", tenantID, err)
	}
	rows, err := s.db.SB.Select("d.id", "d.name", "d.updated_at",
		"(SELECT COUNT(*) FROM dashboard_widgets w WHERE w.tenant_id = d.tenant_id AND w.dashboard_id = d.id)").
		From("dashboards d").Where(sq.Eq{"d.tenant_id": tenantID}).
		OrderBy("d.name", "d.id").Limit(uint64(limit)).Offset(uint64(offset)).
		RunWith(s.db.Read).QueryContext(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list dashboards tenant=%d: %w", tenantID, err)
	}
	defer rows.Close()
	var out []dashboard.Summary
	for rows.Next() {
		var (
			d       dashboard.Summary
			updated int64
		)
		if err := rows.Scan(&d.ID, &d.Name, &updated, &d.Widgets); err != nil {
			return nil, 0, fmt.Errorf("list dashboards tenant=%d: %w", tenantID, err)
		}
		d.UpdatedAt = sqldb.FromMillis(updated)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list dashboards tenant=%d: %w", tenantID, err)
	}
	return out, total, nil
}

// DashboardByID returns the tenant's dashboard with its widgets ordered by
// position, or dashboard.ErrNotFound.
func (s *Store) DashboardByID(ctx context.Context, tenantID, id int64) (dashboard.Dashboard, error) {
	if err := sqldb.RequireTenant("dashboard", tenantID); err != nil {
		return dashboard.Dashboard{}, err
	}
	d := dashboard.Dashboard{ID: id, TenantID: tenantID}
	var created, updated int64
	err := s.db.SB.Select("name", "created_at", "updated_at").From("dashboards").
		Where(sq.Eq{"tenant_id": tenantID, "id": id}).
		RunWith(s.db.Read).QueryRowContext(ctx).Scan(&d.Name, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return dashboard.Dashboard{}, fmt.Errorf("dashboard tenant=%d id=%d: %w", tenantID, id, dashboard.ErrNotFound)
	}
	if err != nil {
		return dashboard.Dashboard{}, fmt.Errorf("dashboard tenant=%d id=%d: %w", tenantID, id, err)
	}
	d.CreatedAt, d.UpdatedAt = sqldb.FromMillis(created), sqldb.FromMillis(updated)
	d.Widgets, err = s.widgets(ctx, tenantID, id)
	if err != nil {
		return dashboard.Dashboard{}, err
	}
	return d, nil
}

// RenameDashboard renames the tenant's dashboard; an unknown id (or one of
// another tenant) is dashboard.ErrNotFound.
func (s *Store) RenameDashboard(ctx context.Context, tenantID, id int64, name string, at time.Time) error {
	if err := sqldb.RequireTenant("rename dashboard", tenantID); err != nil {
		return err
	}
	res, err := s.db.SB.Update("dashboards").Set("name", name).Set("updated_at", sqldb.Millis(at)).
		Where(sq.Eq{"tenant_id": tenantID, "id": id}).RunWith(s.db.Write).ExecContext(ctx)
	if err != nil {
		return fmt.Errorf("rename dashboard tenant=%d id=%d: %w", tenantID, id, err)
	}
	return s.requireAffected(ctx, res, "rename dashboard", tenantID, "dashboards", sq.Eq{"tenant_id": tenantID, "id": id})
}

// DeleteDashboard deletes the tenant's dashboard and its widgets; an
// unknown id is dashboard.ErrNotFound.
func (s *Store) DeleteDashboard(ctx context.Context, tenantID, id int64) error {
	if err := sqldb.RequireTenant("delete dashboard", tenantID); err != nil {
		return err
	}
	return s.inTx(ctx, fmt.Sprintf("delete dashboard tenant=%d id=%d", tenantID, id), func(tx *sql.Tx) error {
		res, err := s.db.SB.Delete("dashboards").Where(sq.Eq{"tenant_id": tenantID, "id": id}).RunWith(tx).ExecContext(ctx)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return dashboard.ErrNotFound
		}
		_, err = s.db.SB.Delete("dashboard_widgets").Where(sq.Eq{"tenant_id": tenantID, "dashboard_id": id}).RunWith(tx).ExecContext(ctx)
		return err
	})
}

// inTx runs fn in a write transaction, wrapping its error with what.
func (s *Store) inTx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", what, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	return nil
}

// requireAffected turns an UPDATE that matched no row into
// dashboard.ErrNotFound. MariaDB counts changed rows only, so a row that
// exists but was unchanged is looked up before answering.
func (s *Store) requireAffected(ctx context.Context, res sql.Result, what string, tenantID int64, table string, where sq.Eq) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s tenant=%d: %w", what, tenantID, err)
	}
	if n > 0 {
		return nil
	}
	var one int
	err = s.db.SB.Select("1").From(table).Where(where).RunWith(s.db.Write).QueryRowContext(ctx).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s tenant=%d: %w", what, tenantID, dashboard.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s tenant=%d: %w", what, tenantID, err)
	}
	return nil
}
