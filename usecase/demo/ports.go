// Package demo is the `pulse demo` use case: it sets up, idempotently, the
// tenant demo, an ingest+read token (kept in the demo state), the user
// admin@demo.local with a generated password (printed once), the dashboard
// "Hosts overview", the alert rule "High CPU" and a week of generated
// samples for three hosts (then one rollup pass). Whatever exists is left
// as it is.
package demo

import (
	"context"
	"time"

	"github.com/pulsemetrics/pulse/domain/account"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/dashboard"
	"github.com/pulsemetrics/pulse/domain/synth"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
)

//go:generate go tool mockgen -destination=mock_ports_test.go -package=demo_test . Tenants,Tokens,Users,Dashboards,Rules,Backfill,Rollup,State

// Tenants finds a tenant by slug (tenant.ErrNotFound, tenant.ErrDisabled)
// and creates one.
type Tenants interface {
	TenantIDBySlug(ctx context.Context, slug string) (int64, error)
	CreateTenant(ctx context.Context, actor audit.Actor, slug, name string, retentionDays int) (tenant.Tenant, error)
}

// Tokens lists a tenant's tokens (revoked ones too, by id after afterID)
// and issues one.
type Tokens interface {
	ListTokensOf(ctx context.Context, slug, afterID string, limit int) ([]token.Token, error)
	CreateToken(ctx context.Context, actor audit.Actor, tenantSlug string, spec token.Spec) (token.Issued, error)
}

// Users tells whether a user exists and creates one in a tenant.
type Users interface {
	Exists(ctx context.Context, email string) (bool, error)
	Create(ctx context.Context, email, password, tenantSlug string, role account.Role) error
}

// Dashboards finds a tenant's dashboard by name (with its widgets),
// creates one and adds a widget to one.
type Dashboards interface {
	FindByName(ctx context.Context, tenantID int64, name string) (d dashboard.Dashboard, found bool, err error)
	Create(ctx context.Context, tenantID int64, name string) (dashboard.Dashboard, error)
	AddWidget(ctx context.Context, tenantID, dashboardID int64, spec dashboard.WidgetSpec) error
}

// Rules finds a tenant's alert rule by name and creates one (returned as
// stored).
type Rules interface {
	FindByName(ctx context.Context, tenantID int64, name string) (id int64, found bool, err error)
	Create(ctx context.Context, tenantID int64, r alert.Rule) (alert.Rule, error)
}

// Backfill writes a plan's samples for a tenant (stored once however
// often it is written), telling progress the samples written so far.
type Backfill interface {
	Write(ctx context.Context, tenantSlug string, plan synth.Plan, progress func(done int64)) (int64, error)
}

// Rollup folds the stored raw samples into the rollups once, returning
// the line to print.
type Rollup interface {
	RunOnce(ctx context.Context) (string, error)
}

// State keeps the demo's Saved between runs (Where names it for the
// output); Load of nothing saved is the zero Saved.
type State interface {
	Load(ctx context.Context) (Saved, error)
	Save(ctx context.Context, s Saved) error
	Where() string
}

// Saved is what a run leaves for the next: the token and the backfill.
type Saved struct {
	TenantID int64
	Token    string
	// Backfill is set before the backfill starts (so a rerun after an
	// interruption writes the very same samples, stored once) and Done
	// once all of it is stored.
	Backfill *BackfillRange
}

// BackfillRange is the backfill's fixed range and, once done, its size.
type BackfillRange struct {
	From, To time.Time
	Done     bool
	Samples  int64
	Series   int
}
