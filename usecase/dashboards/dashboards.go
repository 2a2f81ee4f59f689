// Package dashboards is the tenant-scoped management of dashboards and
// their widgets: a viewer reads, an admin changes, and another tenant's
// dashboard is never found.
package dashboards

import (
	"context"
	"fmt"
	"time"

	"github.com/pulsemetrics/pulse/domain/account"
	"github.com/pulsemetrics/pulse/domain/dashboard"
)

//go:generate go tool mockgen -destination=mock_ports_test.go -package=dashboards_test . Dashboards,Widgets

// Dashboards stores dashboards. Every method takes the tenant as a
// required argument; another tenant's id is dashboard.ErrNotFound.
// Implementations must be safe for concurrent use.
type Dashboards interface {
	CreateDashboard(ctx context.Context, tenantID int64, name string, at time.Time) (dashboard.Dashboard, error)
	// ListDashboards returns a page (by name) and the tenant's total.
	ListDashboards(ctx context.Context, tenantID int64, offset, limit int) ([]dashboard.Summary, int, error)
	// DashboardByID returns the dashboard with its widgets.
	DashboardByID(ctx context.Context, tenantID, id int64) (dashboard.Dashboard, error)
	RenameDashboard(ctx context.Context, tenantID, id int64, name string, at time.Time) error
	DeleteDashboard(ctx context.Context, tenantID, id int64) error
}

// Widgets stores the widgets of a tenant's dashboards (same rules).
type Widgets interface {
	AddWidget(ctx context.Context, tenantID, dashboardID int64, w dashboard.Widget, at time.Time) (dashboard.Widget, error)
	UpdateWidget(ctx context.Context, tenantID, dashboardID int64, w dashboard.Widget, at time.Time) error
	DeleteWidget(ctx context.Context, tenantID, dashboardID, widgetID int64, at time.Time) error
}

// PerPage is the size of a page of the dashboards list.
const PerPage = 20

// Actor is who acts: the tenant of their session and their role.
type Actor struct {
	TenantID int64
	Role     account.Role
}

// Service is the dashboards use case. It is safe for concurrent use.
type Service struct {
	dashboards Dashboards
	widgets    Widgets
	now        func() time.Time
}

// NewService builds the use case.
func NewService(d Dashboards, w Widgets, now func() time.Time) *Service {
	return &Service{dashboards: d, widgets: w, now: now}
}

// Page is one page of the tenant's dashboards.
type Page struct {
	Items    []dashboard.Summary
	Page     int
	PerPage  int
	Total    int
	LastPage int
}

// MaxPage bounds the page number (offsets stay far from overflow).
const MaxPage = 1_000_000

// List returns page n (from 1) of the actor's dashboards. A page past the
// last one is empty; n outside 1..MaxPage is a *dashboard.ValidationError
// on "page".
func (s *Service) List(ctx context.Context, a Actor, n int) (Page, error) {
	if n < 1 || n > MaxPage {
		return Page{}, &dashboard.ValidationError{Fields: map[string]string{"page": fmt.Sprintf("page must be between 1 and %d", MaxPage)}}
	}
	items, total, err := s.dashboards.ListDashboards(ctx, a.TenantID, (n-1)*PerPage, PerPage)
	if err != nil {
		return Page{}, err
	}
	if items == nil {
		items = []dashboard.Summary{}
	}
	return Page{Items: items, Page: n, PerPage: PerPage, Total: total, LastPage: max(1, (total+PerPage-1)/PerPage)}, nil
}

// Get returns one of the actor's dashboards with its widgets.
func (s *Service) Get(ctx context.Context, a Actor, id int64) (dashboard.Dashboard, error) {
	return s.dashboards.DashboardByID(ctx, a.TenantID, id)
}

// Create makes a dashboard. Errors: dashboard.ErrForbidden for a viewer,
// *dashboard.ValidationError for a bad name.
func (s *Service) Create(ctx context.Context, a Actor, name string) (dashboard.Dashboard, error) {
	if err := canChange(a); err != nil {
		return dashboard.Dashboard{}, err
	}
	n, err := dashboard.CheckName(name)
	if err != nil {
		return dashboard.Dashboard{}, err
	}
	return s.dashboards.CreateDashboard(ctx, a.TenantID, n, s.now())
}

// Rename renames one of the actor's dashboards.
func (s *Service) Rename(ctx context.Context, a Actor, id int64, name string) error {
	if err := canChange(a); err != nil {
		return err
	}
	n, err := dashboard.CheckName(name)
	if err != nil {
		return err
	}
	return s.dashboards.RenameDashboard(ctx, a.TenantID, id, n, s.now())
}

// Delete deletes one of the actor's dashboards and its widgets.
func (s *Service) Delete(ctx context.Context, a Actor, id int64) error {
	if err := canChange(a); err != nil {
		return err
	}
	return s.dashboards.DeleteDashboard(ctx, a.TenantID, id)
}

func canChange(a Actor) error {
	if !a.Role.CanChange() {
		return dashboard.ErrForbidden
	}
	return nil
}
