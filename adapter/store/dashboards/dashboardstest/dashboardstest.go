package dashboardstest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/dashboard"
)

// RunDashboards runs the contract cases of the dashboards' storage; open
// is as for Run.
func RunDashboards(t *testing.T, open func(t *testing.T) sqldbtest.Target) {
	cases := []struct {
		name string
		fn   func(t *testing.T, tg sqldbtest.Target)
	}{
		{"CRUD", testDashboardCRUD},
		{"Widgets", testDashboardWidgets},
		{"ListPages", testDashboardList},
		{"TenantIsolation", testDashboardIsolation},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

func testDashboardCRUD(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "dash")
	d, err := s.CreateDashboard(c, tn, "Servers", sqldbtest.Base)
	if err != nil || d.ID == 0 || d.Name != "Servers" || !d.UpdatedAt.Equal(sqldbtest.Base) {
		t.Fatalf("CreateDashboard: %+v, %v", d, err)
	}
	got, err := s.DashboardByID(c, tn, d.ID)
	if err != nil || got.Name != "Servers" || got.TenantID != tn || len(got.Widgets) != 0 || got.Widgets == nil {
		t.Fatalf("DashboardByID: %+v, %v (want no widgets as an empty list)", got, err)
	}
	later := sqldbtest.Base.Add(time.Minute)
	if err := s.RenameDashboard(c, tn, d.ID, "Hosts", later); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameDashboard(c, tn, d.ID, "Hosts", later); err != nil {
		t.Errorf("rename to the same name at the same time: %v", err)
	}
	if got, _ := s.DashboardByID(c, tn, d.ID); got.Name != "Hosts" || !got.UpdatedAt.Equal(later) {
		t.Errorf("after rename: %+v", got)
	}
	if _, err := s.AddWidget(c, tn, d.ID, dashboard.Widget{Title: "w", Metric: "m", Agg: "avg", Chart: "line"}, later); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDashboard(c, tn, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DashboardByID(c, tn, d.ID); !errors.Is(err, dashboard.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	var n int
	if err := tg.DB.QueryRowContext(c, "SELECT COUNT(*) FROM dashboard_widgets WHERE dashboard_id = ?", d.ID).Scan(&n); err != nil || n != 0 {
		t.Errorf("widgets of a deleted dashboard: %d, %v", n, err)
	}
	for name, err := range map[string]error{
		"rename": s.RenameDashboard(c, tn, d.ID, "x", later),
		"delete": s.DeleteDashboard(c, tn, d.ID),
	} {
		if !errors.Is(err, dashboard.ErrNotFound) {
			t.Errorf("%s a deleted dashboard: %v", name, err)
		}
	}
}

func testDashboardWidgets(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "wid")
	d, err := s.CreateDashboard(c, tn, "D", sqldbtest.Base)
	if err != nil {
		t.Fatal(err)
	}
	at := sqldbtest.Base.Add(time.Minute)
	w1, err := s.AddWidget(c, tn, d.ID, dashboard.Widget{Title: "CPU", Metric: "cpu.load", Tags: map[string]string{"host": "a", "dc": "x"}, Agg: "max", Chart: "area"}, at)
	if err != nil || w1.ID == 0 || w1.Position != 0 || w1.DashboardID != d.ID {
		t.Fatalf("AddWidget: %+v, %v", w1, err)
	}
	w2, err := s.AddWidget(c, tn, d.ID, dashboard.Widget{Title: "Mem", Metric: "mem.used", Agg: "avg", Chart: "line"}, at)
	if err != nil || w2.Position != 1 {
		t.Fatalf("second AddWidget: %+v, %v", w2, err)
	}
	got, err := s.DashboardByID(c, tn, d.ID)
	if err != nil || len(got.Widgets) != 2 || !got.UpdatedAt.Equal(at) {
		t.Fatalf("dashboard with widgets: %+v, %v", got, err)
	}
	if !reflect.DeepEqual(got.Widgets[0], w1) {
		t.Errorf("widget read back %+v, want %+v", got.Widgets[0], w1)
	}
	if got.Widgets[1].Tags == nil || len(got.Widgets[1].Tags) != 0 {
		t.Errorf("widget without tags: %+v, want an empty map", got.Widgets[1].Tags)
	}
	up := w1
	up.Title, up.Metric, up.Tags, up.Agg, up.Chart = "CPU max", "cpu.max", map[string]string{}, "sum", "bar"
	later := at.Add(time.Minute)
	if err := s.UpdateWidget(c, tn, d.ID, up, later); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateWidget(c, tn, d.ID, up, later); err != nil {
		t.Errorf("update unchanged: %v", err)
	}
	got, _ = s.DashboardByID(c, tn, d.ID)
	if !reflect.DeepEqual(got.Widgets[0], up) || !got.UpdatedAt.Equal(later) {
		t.Errorf("after update %+v (updated %v), want %+v", got.Widgets[0], got.UpdatedAt, up)
	}
	if err := s.DeleteWidget(c, tn, d.ID, w1.ID, later); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteWidget(c, tn, d.ID, w1.ID, later); !errors.Is(err, dashboard.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
	w3, err := s.AddWidget(c, tn, d.ID, dashboard.Widget{Title: "t", Metric: "m", Agg: "avg", Chart: "line"}, later)
	if err != nil || w3.Position != 2 {
		t.Errorf("a widget after a deletion goes last: %+v, %v", w3, err)
	}
	other, _ := s.CreateDashboard(c, tn, "Other", sqldbtest.Base)
	if err := s.UpdateWidget(c, tn, other.ID, w3, later); !errors.Is(err, dashboard.ErrNotFound) {
		t.Errorf("update through another dashboard of the same tenant: %v", err)
	}
	if _, err := s.AddWidget(c, tn, 999999, w3, later); !errors.Is(err, dashboard.ErrNotFound) {
		t.Errorf("add to an unknown dashboard: %v", err)
	}
}

func testDashboardList(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "list")
	for i := range 25 {
		d, err := s.CreateDashboard(c, tn, fmt.Sprintf("dash %02d", 24-i), sqldbtest.Base)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 { // "dash 24"
			for range 3 {
				if _, err := s.AddWidget(c, tn, d.ID, dashboard.Widget{Title: "t", Metric: "m", Agg: "avg", Chart: "line"}, sqldbtest.Base); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	page1, total, err := s.ListDashboards(c, tn, 0, 20)
	if err != nil || total != 25 || len(page1) != 20 || page1[0].Name != "dash 00" {
		t.Fatalf("page 1: %d rows, total %d, first %+v, %v", len(page1), total, page1[0], err)
	}
	page2, _, err := s.ListDashboards(c, tn, 20, 20)
	if err != nil || len(page2) != 5 || page2[4].Name != "dash 24" || page2[4].Widgets != 3 || page2[0].Widgets != 0 {
		t.Fatalf("page 2: %+v, %v", page2, err)
	}
	if beyond, total, err := s.ListDashboards(c, tn, 100, 20); err != nil || len(beyond) != 0 || total != 25 {
		t.Errorf("beyond the last page: %+v, %d, %v", beyond, total, err)
	}
	if _, _, err := s.ListDashboards(c, tn, -1, 20); err == nil {
		t.Error("negative offset accepted")
	}
}

func testDashboardIsolation(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	a, b := sqldbtest.MkTenant(t, s, "iso-a"), sqldbtest.MkTenant(t, s, "iso-b")
	d, err := s.CreateDashboard(c, a, "A's", sqldbtest.Base)
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.AddWidget(c, a, d.ID, dashboard.Widget{Title: "t", Metric: "m", Agg: "avg", Chart: "line"}, sqldbtest.Base)
	if err != nil {
		t.Fatal(err)
	}
	if list, total, err := s.ListDashboards(c, b, 0, 20); err != nil || len(list) != 0 || total != 0 {
		t.Errorf("B lists %+v (total %d), %v", list, total, err)
	}
	_, errGet := s.DashboardByID(c, b, d.ID)
	_, errAdd := s.AddWidget(c, b, d.ID, w, sqldbtest.Base)
	for name, err := range map[string]error{
		"get":           errGet,
		"rename":        s.RenameDashboard(c, b, d.ID, "pwned", sqldbtest.Base),
		"add widget":    errAdd,
		"update widget": s.UpdateWidget(c, b, d.ID, w, sqldbtest.Base),
		"delete widget": s.DeleteWidget(c, b, d.ID, w.ID, sqldbtest.Base),
		"delete":        s.DeleteDashboard(c, b, d.ID),
	} {
		if !errors.Is(err, dashboard.ErrNotFound) {
			t.Errorf("B %s A's dashboard: %v, want dashboard.ErrNotFound", name, err)
		}
	}
	got, err := s.DashboardByID(c, a, d.ID)
	if err != nil || got.Name != "A's" || len(got.Widgets) != 1 || got.Widgets[0].Metric != "m" {
		t.Errorf("A's dashboard after B's attempts: %+v, %v", got, err)
	}
}
