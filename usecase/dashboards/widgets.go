package dashboards

import (
	"context"
	"fmt"

	"github.com/pulsemetrics/pulse/domain/dashboard"
)

// AddWidget validates spec and appends the widget to one of the actor's
// dashboards (at most dashboard.MaxWidgets).
func (s *Service) AddWidget(ctx context.Context, a Actor, dashboardID int64, spec dashboard.WidgetSpec) (dashboard.Widget, error) {
	if err := canChange(a); err != nil {
		return dashboard.Widget{}, err
	}
	w, err := dashboard.NewWidget(spec)
	if err != nil {
		return dashboard.Widget{}, err
	}
	d, err := s.dashboards.DashboardByID(ctx, a.TenantID, dashboardID)
	if err != nil {
		return dashboard.Widget{}, err
	}
	if len(d.Widgets) >= dashboard.MaxWidgets {
		return dashboard.Widget{}, &dashboard.ValidationError{Fields: map[string]string{
			"metric": fmt.Sprintf("a dashboard holds at most %d widgets", dashboard.MaxWidgets)}}
	}
	return s.widgets.AddWidget(ctx, a.TenantID, dashboardID, w, s.now())
}

// UpdateWidget replaces a widget of one of the actor's dashboards.
func (s *Service) UpdateWidget(ctx context.Context, a Actor, dashboardID, widgetID int64, spec dashboard.WidgetSpec) error {
	if err := canChange(a); err != nil {
		return err
	}
	w, err := dashboard.NewWidget(spec)
	if err != nil {
		return err
	}
	w.ID = widgetID
	return s.widgets.UpdateWidget(ctx, a.TenantID, dashboardID, w, s.now())
}

// DeleteWidget deletes a widget of one of the actor's dashboards.
func (s *Service) DeleteWidget(ctx context.Context, a Actor, dashboardID, widgetID int64) error {
	if err := canChange(a); err != nil {
		return err
	}
	return s.widgets.DeleteWidget(ctx, a.TenantID, dashboardID, widgetID, s.now())
}
