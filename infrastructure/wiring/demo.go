package wiring

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/wire"

	"github.com/pulsemetrics/pulse/adapter/demostate"
	"github.com/pulsemetrics/pulse/adapter/store/users"
	"github.com/pulsemetrics/pulse/domain/account"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/dashboard"
	"github.com/pulsemetrics/pulse/domain/synth"
	"github.com/pulsemetrics/pulse/usecase/accounts"
	"github.com/pulsemetrics/pulse/usecase/alerting"
	"github.com/pulsemetrics/pulse/usecase/dashboards"
	"github.com/pulsemetrics/pulse/usecase/demo"
	"github.com/pulsemetrics/pulse/usecase/rollupjob"
)

// Demo is what `pulse demo` sets up the demo tenant with.
type Demo struct {
	Writer     SyntheticWriter
	Users      *users.Store
	Accounts   *accounts.Service
	Dashboards *dashboards.Service
	Alerts     *alerting.Service
	Rollup     *rollupjob.Service
}

// DemoSet builds a Demo (the CLI's injector).
var DemoSet = wire.NewSet(SyntheticSet, ProvideAccounts, ProvideDashboards, ProvideAlerting, ProvideRegistry, ProvideRollupJob,
	wire.Struct(new(Demo), "*"))

// NewDemo is the demo use case (usecase/demo) on the configured store, its
// state in demo.json in the data dir.
func NewDemo(d Demo) *demo.Service {
	cfg := d.Writer.Config
	return demo.New(demo.Ports{
		Tenants:    d.Writer.Tenancy,
		Tokens:     d.Writer.Tenancy,
		Users:      demoUsers{d.Users, d.Accounts},
		Dashboards: demoDashboards{d.Dashboards},
		Rules:      demoRules{d.Alerts},
		Backfill:   demoBackfill{d.Writer},
		Rollup:     demoRollup{d.Rollup},
		State:      demostate.InDir(cfg.DataDir),
	}, demo.Options{HTTPAddr: cfg.HTTPAddr, RollupEvery: cfg.RollupEvery, Now: time.Now, Password: rand.Text})
}

// SetUpDemo is `pulse demo`: the demo use case's Run (what it did goes to
// out, the backfill's progress to progress).
func SetUpDemo(ctx context.Context, d Demo, out io.Writer, progress demo.Progress) error {
	return NewDemo(d).Run(ctx, out, progress)
}

// demoUsers is demo.Users on the users store and the accounts use case.
type demoUsers struct {
	store    *users.Store
	accounts *accounts.Service
}

func (u demoUsers) Exists(ctx context.Context, email string) (bool, error) {
	_, err := u.store.UserByEmail(ctx, email)
	if errors.Is(err, account.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (u demoUsers) Create(ctx context.Context, email, password, tenantSlug string, role account.Role) error {
	_, err := u.accounts.CreateUser(ctx, audit.CLI(), accounts.NewUserSpec{Email: email, Password: password, TenantSlug: tenantSlug, Role: string(role)})
	return err
}

// demoDashboards is demo.Dashboards on the dashboards use case, as the
// tenant's admin.
type demoDashboards struct{ svc *dashboards.Service }

func demoDashboardActor(tenantID int64) dashboards.Actor {
	return dashboards.Actor{TenantID: tenantID, Role: account.RoleAdmin}
}

func (d demoDashboards) FindByName(ctx context.Context, tenantID int64, name string) (dashboard.Dashboard, bool, error) {
	a := demoDashboardActor(tenantID)
	for page := 1; ; page++ {
		p, err := d.svc.List(ctx, a, page)
		if err != nil {
			return dashboard.Dashboard{}, false, fmt.Errorf("list dashboards: %w", err)
		}
		for _, s := range p.Items {
			if s.Name == name {
				got, err := d.svc.Get(ctx, a, s.ID)
				if err != nil {
					return dashboard.Dashboard{}, false, fmt.Errorf("read dashboard %d: %w", s.ID, err)
				}
				return got, true, nil
			}
		}
		if page >= p.LastPage {
			return dashboard.Dashboard{}, false, nil
		}
	}
}

func (d demoDashboards) Create(ctx context.Context, tenantID int64, name string) (dashboard.Dashboard, error) {
	return d.svc.Create(ctx, demoDashboardActor(tenantID), name)
}

func (d demoDashboards) AddWidget(ctx context.Context, tenantID, dashboardID int64, spec dashboard.WidgetSpec) error {
	_, err := d.svc.AddWidget(ctx, demoDashboardActor(tenantID), dashboardID, spec)
	return err
}

// demoRules is demo.Rules on the alerting use case, as the tenant's admin.
type demoRules struct{ svc *alerting.Service }

func (r demoRules) FindByName(ctx context.Context, tenantID int64, name string) (int64, bool, error) {
	a := alerting.Actor{TenantID: tenantID, Admin: true}
	for page := 1; ; page++ {
		p, err := r.svc.List(ctx, a, page, alerting.MaxPerPage)
		if err != nil {
			return 0, false, fmt.Errorf("list alert rules: %w", err)
		}
		for _, rule := range p.Rules {
			if rule.Name == name {
				return rule.ID, true, nil
			}
		}
		if page*p.PerPage >= p.Total || len(p.Rules) == 0 {
			return 0, false, nil
		}
	}
}

func (r demoRules) Create(ctx context.Context, tenantID int64, rule alert.Rule) (alert.Rule, error) {
	stored, err := r.svc.Create(ctx, alerting.Actor{TenantID: tenantID, Admin: true}, rule)
	return stored.Rule, err
}

// demoBackfill is demo.Backfill: WriteSynthetic on the configured store.
type demoBackfill struct{ w SyntheticWriter }

func (b demoBackfill) Write(ctx context.Context, tenantSlug string, plan synth.Plan, progress func(done int64)) (int64, error) {
	return WriteSynthetic(ctx, b.w, tenantSlug, plan, SyntheticOptions{}, progress)
}

// demoRollup is demo.Rollup: one rollup pass (RunRollupOnce).
type demoRollup struct{ job *rollupjob.Service }

func (r demoRollup) RunOnce(ctx context.Context) (string, error) { return RunRollupOnce(ctx, r.job) }
