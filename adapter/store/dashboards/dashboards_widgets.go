package dashboards

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"

	sq "github.com/Masterminds/squirrel"

	"github.com/pulsemetrics/pulse/domain/dashboard"
)

var widgetColumns = []string{"id", "dashboard_id", "title", "metric", "tags", "agg", "chart", "position"}

func (s *Store) widgets(ctx context.Context, tenantID, dashboardID int64) ([]dashboard.Widget, error) {
	rows, err := s.db.SB.Select(widgetColumns...).From("dashboard_widgets").
		Where(sq.Eq{"tenant_id": tenantID, "dashboard_id": dashboardID}).OrderBy("position", "id").
		RunWith(s.db.Read).QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("widgets tenant=%d dashboard=%d: %w", tenantID, dashboardID, err)
	}
	defer rows.Close()
	out := []dashboard.Widget{}
	for rows.Next() {
		var (
			w          dashboard.Widget
			tags       []byte
			agg, chart string
		)
		if err := rows.Scan(&w.ID, &w.DashboardID, &w.Title, &w.Metric, &tags, &agg, &chart, &w.Position); err != nil {
			return nil, fmt.Errorf("widgets tenant=%d dashboard=%d: %w", tenantID, dashboardID, err)
		}
		if err := json.Unmarshal(tags, &w.Tags); err != nil {
			return nil, fmt.Errorf("widget %d: tags: %w", w.ID, err)
		}
		if w.Tags == nil {
			w.Tags = map[string]string{}
		}
		w.Agg, w.Chart = dashboard.Agg(agg), dashboard.Chart(chart)
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("widgets tenant=%d dashboard=%d: %w", tenantID, dashboardID, err)
	}
	return out, nil
}

func tagsJSON(tags map[string]string) ([]byte, error) {
	if tags == nil {
		tags = map[string]string{}
	}
	return json.Marshal(tags) // keys sorted: the same tags store the same bytes
}

// AddWidget appends w to the tenant's dashboard (position after the last
// widget) and bumps the dashboard's updated_at; an unknown dashboard is
// dashboard.ErrNotFound.
func (s *Store) AddWidget(ctx context.Context, tenantID, dashboardID int64, w dashboard.Widget, at time.Time) (dashboard.Widget, error) {
	if err := sqldb.RequireTenant("add widget", tenantID); err != nil {
		return dashboard.Widget{}, err
	}
	tags, err := tagsJSON(w.Tags)
	if err != nil {
		return dashboard.Widget{}, fmt.Errorf("add widget: tags: %w", err)
	}
	err = s.inTx(ctx, fmt.Sprintf("add widget tenant=%d dashboard=%d", tenantID, dashboardID), func(tx *sql.Tx) error {
		if err := s.touchDashboard(ctx, tx, tenantID, dashboardID, at); err != nil {
			return err
		}
		var next int
		if err := s.db.SB.Select("COALESCE(MAX(position) + 1, 0)").From("dashboard_widgets").
			Where(sq.Eq{"tenant_id": tenantID, "dashboard_id": dashboardID}).
			RunWith(tx).QueryRowContext(ctx).Scan(&next); err != nil {
			return err
		}
		res, err := s.db.SB.Insert("dashboard_widgets").
			Columns("tenant_id", "dashboard_id", "title", "metric", "tags", "agg", "chart", "position").
			Values(tenantID, dashboardID, w.Title, w.Metric, string(tags), string(w.Agg), string(w.Chart), next).
			RunWith(tx).ExecContext(ctx)
		if err != nil {
			return err
		}
		if w.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		w.DashboardID, w.Position = dashboardID, next
		return nil
	})
	if err != nil {
		return dashboard.Widget{}, err
	}
	return w, nil
}

// UpdateWidget replaces the title, metric, tags, agg and chart of the
// widget w.ID of the tenant's dashboard; an unknown dashboard or widget is
// dashboard.ErrNotFound.
func (s *Store) UpdateWidget(ctx context.Context, tenantID, dashboardID int64, w dashboard.Widget, at time.Time) error {
	if err := sqldb.RequireTenant("update widget", tenantID); err != nil {
		return err
	}
	tags, err := tagsJSON(w.Tags)
	if err != nil {
		return fmt.Errorf("update widget: tags: %w", err)
	}
	return s.inTx(ctx, fmt.Sprintf("update widget tenant=%d dashboard=%d widget=%d", tenantID, dashboardID, w.ID), func(tx *sql.Tx) error {
		where := sq.Eq{"tenant_id": tenantID, "dashboard_id": dashboardID, "id": w.ID}
		var one int
		err := s.db.SB.Select("1").From("dashboard_widgets").Where(where).RunWith(tx).QueryRowContext(ctx).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return dashboard.ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := s.db.SB.Update("dashboard_widgets").Set("title", w.Title).Set("metric", w.Metric).Set("tags", string(tags)).
			Set("agg", string(w.Agg)).Set("chart", string(w.Chart)).Where(where).RunWith(tx).ExecContext(ctx); err != nil {
			return err
		}
		return s.touchDashboard(ctx, tx, tenantID, dashboardID, at)
	})
}

// DeleteWidget deletes a widget of the tenant's dashboard; an unknown
// dashboard or widget is dashboard.ErrNotFound.
func (s *Store) DeleteWidget(ctx context.Context, tenantID, dashboardID, widgetID int64, at time.Time) error {
	if err := sqldb.RequireTenant("delete widget", tenantID); err != nil {
		return err
	}
	return s.inTx(ctx, fmt.Sprintf("delete widget tenant=%d dashboard=%d widget=%d", tenantID, dashboardID, widgetID), func(tx *sql.Tx) error {
		res, err := s.db.SB.Delete("dashboard_widgets").
			Where(sq.Eq{"tenant_id": tenantID, "dashboard_id": dashboardID, "id": widgetID}).RunWith(tx).ExecContext(ctx)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return dashboard.ErrNotFound
		}
		return s.touchDashboard(ctx, tx, tenantID, dashboardID, at)
	})
}

// touchDashboard sets updated_at, or answers dashboard.ErrNotFound.
func (s *Store) touchDashboard(ctx context.Context, tx *sql.Tx, tenantID, id int64, at time.Time) error {
	where := sq.Eq{"tenant_id": tenantID, "id": id}
	res, err := s.db.SB.Update("dashboards").Set("updated_at", sqldb.Millis(at)).Where(where).RunWith(tx).ExecContext(ctx)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n > 0 {
		return nil
	}
	var one int
	err = s.db.SB.Select("1").From("dashboards").Where(where).RunWith(tx).QueryRowContext(ctx).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return dashboard.ErrNotFound
	}
	return err
}
