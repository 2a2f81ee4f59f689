package dashboards_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/account"
	"github.com/pulsemetrics/pulse/domain/dashboard"
	"github.com/pulsemetrics/pulse/usecase/dashboards"
)

var now = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

var (
	admin  = dashboards.Actor{TenantID: 1, Role: account.RoleAdmin}
	viewer = dashboards.Actor{TenantID: 1, Role: account.RoleViewer}
)

func newService(t *testing.T) (*dashboards.Service, *MockDashboards, *MockWidgets) {
	ctrl := gomock.NewController(t)
	d, w := NewMockDashboards(ctrl), NewMockWidgets(ctrl)
	return dashboards.NewService(d, w, func() time.Time { return now }), d, w
}

func TestList(t *testing.T) {
	ctx := context.Background()
	svc, d, _ := newService(t)
	d.EXPECT().ListDashboards(ctx, int64(1), 20, 20).Return([]dashboard.Summary{{ID: 5}}, 41, nil)
	p, err := svc.List(ctx, viewer, 2)
	if err != nil || p.Page != 2 || p.PerPage != 20 || p.Total != 41 || p.LastPage != 3 || len(p.Items) != 1 {
		t.Errorf("page %+v, %v", p, err)
	}
	d.EXPECT().ListDashboards(ctx, int64(1), 0, 20).Return(nil, 0, nil)
	if p, err := svc.List(ctx, viewer, 1); err != nil || p.LastPage != 1 || p.Items == nil {
		t.Errorf("empty list %+v, %v: want last_page 1 and an empty (not nil) list", p, err)
	}
	for _, n := range []int{0, -1, dashboards.MaxPage + 1} {
		var ve *dashboard.ValidationError
		if _, err := svc.List(ctx, viewer, n); !errors.As(err, &ve) || ve.Fields["page"] == "" {
			t.Errorf("page %d: %v", n, err)
		}
	}
}

func TestViewerCannotChange(t *testing.T) {
	ctx := context.Background()
	svc, _, _ := newService(t) // no store call expected
	spec := dashboard.WidgetSpec{Metric: "m"}
	_, errCreate := svc.Create(ctx, viewer, "x")
	_, errAdd := svc.AddWidget(ctx, viewer, 1, spec)
	for name, err := range map[string]error{
		"create":        errCreate,
		"rename":        svc.Rename(ctx, viewer, 1, "x"),
		"delete":        svc.Delete(ctx, viewer, 1),
		"add widget":    errAdd,
		"update widget": svc.UpdateWidget(ctx, viewer, 1, 2, spec),
		"delete widget": svc.DeleteWidget(ctx, viewer, 1, 2),
	} {
		if !errors.Is(err, dashboard.ErrForbidden) {
			t.Errorf("viewer %s: %v, want dashboard.ErrForbidden", name, err)
		}
	}
}

func TestAdminChanges(t *testing.T) {
	ctx := context.Background()
	svc, d, w := newService(t)
	d.EXPECT().CreateDashboard(ctx, int64(1), "Servers", now).Return(dashboard.Dashboard{ID: 9, Name: "Servers"}, nil)
	if got, err := svc.Create(ctx, admin, "  Servers "); err != nil || got.ID != 9 {
		t.Errorf("create: %+v, %v", got, err)
	}
	d.EXPECT().RenameDashboard(ctx, int64(1), int64(9), "Hosts", now)
	if err := svc.Rename(ctx, admin, 9, "Hosts"); err != nil {
		t.Error(err)
	}
	var ve *dashboard.ValidationError
	if err := svc.Rename(ctx, admin, 9, ""); !errors.As(err, &ve) {
		t.Errorf("empty name: %v", err)
	}
	d.EXPECT().DashboardByID(ctx, int64(1), int64(9)).Return(dashboard.Dashboard{ID: 9}, nil)
	w.EXPECT().AddWidget(ctx, int64(1), int64(9), gomock.Cond(func(x dashboard.Widget) bool {
		return x.Metric == "cpu" && x.Agg == dashboard.AggAvg && x.Chart == dashboard.ChartLine
	}), now).Return(dashboard.Widget{ID: 4}, nil)
	if got, err := svc.AddWidget(ctx, admin, 9, dashboard.WidgetSpec{Metric: "cpu"}); err != nil || got.ID != 4 {
		t.Errorf("add widget: %+v, %v", got, err)
	}
	if _, err := svc.AddWidget(ctx, admin, 9, dashboard.WidgetSpec{Metric: "bad name"}); !errors.As(err, &ve) {
		t.Errorf("bad widget: %v", err)
	}
	full := dashboard.Dashboard{ID: 9, Widgets: make([]dashboard.Widget, dashboard.MaxWidgets)}
	d.EXPECT().DashboardByID(ctx, int64(1), int64(9)).Return(full, nil)
	if _, err := svc.AddWidget(ctx, admin, 9, dashboard.WidgetSpec{Metric: "cpu"}); !errors.As(err, &ve) {
		t.Errorf("51st widget: %v", err)
	}
	w.EXPECT().UpdateWidget(ctx, int64(1), int64(9), gomock.Cond(func(x dashboard.Widget) bool { return x.ID == 4 }), now)
	if err := svc.UpdateWidget(ctx, admin, 9, 4, dashboard.WidgetSpec{Metric: "cpu"}); err != nil {
		t.Error(err)
	}
	w.EXPECT().DeleteWidget(ctx, int64(1), int64(9), int64(4), now)
	if err := svc.DeleteWidget(ctx, admin, 9, 4); err != nil {
		t.Error(err)
	}
	d.EXPECT().DeleteDashboard(ctx, int64(1), int64(9))
	if err := svc.Delete(ctx, admin, 9); err != nil {
		t.Error(err)
	}
}

func TestOtherTenantIsNotFound(t *testing.T) {
	ctx := context.Background()
	svc, d, w := newService(t)
	other := dashboards.Actor{TenantID: 2, Role: account.RoleAdmin}
	d.EXPECT().DashboardByID(ctx, int64(2), int64(9)).Return(dashboard.Dashboard{}, dashboard.ErrNotFound).Times(2)
	w.EXPECT().DeleteWidget(ctx, int64(2), int64(9), int64(4), now).Return(dashboard.ErrNotFound)
	_, errGet := svc.Get(ctx, other, 9)
	_, errAdd := svc.AddWidget(ctx, other, 9, dashboard.WidgetSpec{Metric: "m"})
	for name, err := range map[string]error{"get": errGet, "add widget": errAdd, "delete widget": svc.DeleteWidget(ctx, other, 9, 4)} {
		if !errors.Is(err, dashboard.ErrNotFound) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
