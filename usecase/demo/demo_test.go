package demo_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/account"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/dashboard"
	"github.com/pulsemetrics/pulse/domain/synth"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/demo"
)

const tenantID = 7

var (
	now     = time.Date(2026, 12, 4, 12, 0, 30, 0, time.UTC)
	weekTo  = now.Truncate(time.Minute)
	week    = &demo.BackfillRange{From: weekTo.Add(-7 * 24 * time.Hour), To: weekTo}
	boom    = errors.New("boom")
	samples = int64(18 * 10080)
)

type fakes struct {
	tenants  *MockTenants
	tokens   *MockTokens
	users    *MockUsers
	dash     *MockDashboards
	rules    *MockRules
	backfill *MockBackfill
	rollup   *MockRollup
	state    *MockState
	stored   token.Issued // the token in the state
	progress int64        // the last done the progress was told
}

func issue(t *testing.T) token.Issued {
	is, err := token.Issue(rand.Reader, tenantID, "demo", []token.Scope{token.ScopeIngest, token.ScopeRead}, now)
	if err != nil {
		t.Fatal(err)
	}
	return is
}

func done(r *demo.BackfillRange) *demo.BackfillRange {
	d := *r
	d.Done, d.Samples, d.Series = true, samples, 18
	return &d
}

// present expects the lookups of a run on a complete demo after the state.
func (f *fakes) present() {
	f.tenants.EXPECT().TenantIDBySlug(gomock.Any(), "demo").Return(int64(tenantID), nil)
	f.tokens.EXPECT().ListTokensOf(gomock.Any(), "demo", "", 500).Return([]token.Token{f.stored.Token}, nil).MaxTimes(1)
	f.users.EXPECT().Exists(gomock.Any(), "admin@demo.local").Return(true, nil).MaxTimes(1)
	widgets := make([]dashboard.Widget, 0, 6)
	for _, w := range demo.Widgets() {
		widgets = append(widgets, dashboard.Widget{Title: w.Title})
	}
	f.dash.EXPECT().FindByName(gomock.Any(), int64(tenantID), "Hosts overview").Return(dashboard.Dashboard{ID: 3, Widgets: widgets}, true, nil).MaxTimes(1)
	f.rules.EXPECT().FindByName(gomock.Any(), int64(tenantID), "High CPU").Return(int64(5), true, nil).MaxTimes(1)
}

// backfills expects the six plans over r written, the state saved done and a rollup.
func (f *fakes) backfills(r *demo.BackfillRange) *gomock.Call {
	return f.backfill.EXPECT().Write(gomock.Any(), "demo", gomock.Any(), gomock.Any()).Times(6).DoAndReturn(
		func(_ context.Context, _ string, p synth.Plan, progress func(int64)) (int64, error) {
			if !p.Spec.Start.Equal(r.From) || !p.Spec.End.Equal(r.To) {
				return 0, errors.New("plan over another range")
			}
			progress(p.Samples())
			return p.Samples(), nil
		})
}

func (f *fakes) finish(r *demo.BackfillRange, tok string) {
	f.state.EXPECT().Save(gomock.Any(), demo.Saved{TenantID: tenantID, Token: tok, Backfill: done(r)})
	f.rollup.EXPECT().RunOnce(gomock.Any()).Return("rolled up 181440 raw samples", nil)
}

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, f *fakes)
		want    []string // substrings of the output, in order
		last    string   // the last line (prefix)
		wantErr string
	}{{
		name: "first run creates everything in order",
		setup: func(t *testing.T, f *fakes) {
			f.stored = issue(t)
			tok := f.stored.Plain
			gomock.InOrder(
				f.tenants.EXPECT().TenantIDBySlug(gomock.Any(), "demo").Return(int64(0), tenant.ErrNotFound),
				f.tenants.EXPECT().CreateTenant(gomock.Any(), audit.CLI(), "demo", "Demo", tenant.DefaultRetentionDays).
					Return(tenant.Tenant{ID: tenantID, Slug: "demo", RetentionDays: 30}, nil),
				f.state.EXPECT().Load(gomock.Any()).Return(demo.Saved{}, nil),
				f.tokens.EXPECT().CreateToken(gomock.Any(), audit.CLI(), "demo", token.Spec{Name: "demo", Scopes: []token.Scope{token.ScopeIngest, token.ScopeRead}}).Return(f.stored, nil),
				f.state.EXPECT().Save(gomock.Any(), demo.Saved{TenantID: tenantID, Token: tok}),
				f.users.EXPECT().Exists(gomock.Any(), "admin@demo.local").Return(false, nil),
				f.users.EXPECT().Create(gomock.Any(), "admin@demo.local", "secret-password", "demo", account.RoleAdmin),
				f.dash.EXPECT().FindByName(gomock.Any(), int64(tenantID), "Hosts overview").Return(dashboard.Dashboard{}, false, nil),
				f.dash.EXPECT().Create(gomock.Any(), int64(tenantID), "Hosts overview").Return(dashboard.Dashboard{ID: 3}, nil),
				f.dash.EXPECT().AddWidget(gomock.Any(), int64(tenantID), int64(3), gomock.Any()).Times(6),
				f.rules.EXPECT().FindByName(gomock.Any(), int64(tenantID), "High CPU").Return(int64(0), false, nil),
				f.rules.EXPECT().Create(gomock.Any(), int64(tenantID), demo.Rule()).DoAndReturn(
					func(_ context.Context, _ int64, r alert.Rule) (alert.Rule, error) { r.ID = 5; return r, nil }),
				f.state.EXPECT().Save(gomock.Any(), demo.Saved{TenantID: tenantID, Token: tok, Backfill: week}),
				f.backfills(week),
			)
			f.finish(week, tok)
		},
		want: []string{"created tenant demo (id 7, retention 30 days)", "created token pulse_", "kept in /data/demo.json, mode 0600",
			"created user admin@demo.local (admin of demo), password: secret-password (shown once: store it now)",
			`created dashboard "Hosts overview" (id 3) with 6 widgets`,
			`created alert rule "High CPU" (id 5): system.cpu.utilization avg over 5m0s > 0.9 for 5m0s, per host`,
			"backfilled 181440 samples in 18 series (2026-11-27T12:00:00Z → 2026-12-04T12:00:00Z, one every 1m0s)",
			"rolled up 181440 raw samples"},
		last: "demo ready: with pulse serve running (make run), open http://localhost:8080 and log in as admin@demo.local",
	}, {
		name: "second run with everything present does nothing",
		setup: func(t *testing.T, f *fakes) {
			f.stored = issue(t)
			f.state.EXPECT().Load(gomock.Any()).Return(demo.Saved{TenantID: tenantID, Token: f.stored.Plain, Backfill: done(week)}, nil)
			f.present()
		},
		want: []string{"tenant demo exists (id 7)", "token (ingest, read; kept in /data/demo.json): pulse_", "user admin@demo.local exists",
			`dashboard "Hosts overview" exists (id 3)`, `alert rule "High CPU" exists (id 5)`,
			"backfill done: 181440 samples in 18 series (2026-11-27T12:00:00Z → 2026-12-04T12:00:00Z)"},
		last: "demo already set up: nothing changed",
	}, {
		name: "an interrupted backfill is redone over the same range",
		setup: func(t *testing.T, f *fakes) {
			f.stored = issue(t)
			earlier := &demo.BackfillRange{From: week.From.Add(-72 * time.Hour), To: week.To.Add(-72 * time.Hour)}
			f.state.EXPECT().Load(gomock.Any()).Return(demo.Saved{TenantID: tenantID, Token: f.stored.Plain, Backfill: earlier}, nil)
			f.present()
			f.backfills(earlier)
			f.finish(earlier, f.stored.Plain)
		},
		want: []string{"user admin@demo.local exists", "backfilled 181440 samples in 18 series (2026-11-24T12:00:00Z → 2026-12-01T12:00:00Z"},
		last: "demo ready: ",
	}, {
		name: "a revoked stored token gets a new one",
		setup: func(t *testing.T, f *fakes) {
			old, fresh := issue(t), issue(t)
			revoked := now.Add(-time.Hour)
			old.Token.RevokedAt = &revoked
			f.stored = old
			f.state.EXPECT().Load(gomock.Any()).Return(demo.Saved{TenantID: tenantID, Token: old.Plain, Backfill: done(week)}, nil)
			f.present()
			gomock.InOrder(
				f.tokens.EXPECT().CreateToken(gomock.Any(), audit.CLI(), "demo", gomock.Any()).Return(fresh, nil),
				f.state.EXPECT().Save(gomock.Any(), demo.Saved{TenantID: tenantID, Token: fresh.Plain}),
				f.state.EXPECT().Save(gomock.Any(), demo.Saved{TenantID: tenantID, Token: fresh.Plain, Backfill: week}),
				f.backfills(week),
			)
			f.finish(week, fresh.Plain)
		},
		want: []string{"created token pulse_", "user admin@demo.local exists", "backfilled 181440 samples"},
		last: "demo ready: ",
	}, {
		name: "a disabled tenant is refused",
		setup: func(t *testing.T, f *fakes) {
			f.tenants.EXPECT().TenantIDBySlug(gomock.Any(), "demo").Return(int64(0), tenant.ErrDisabled)
		},
		wantErr: "tenant demo is disabled: enable it (pulse tenant update demo --enable) or remove it",
	}, {
		name: "a port's error surfaces with context",
		setup: func(t *testing.T, f *fakes) {
			f.stored = issue(t)
			f.state.EXPECT().Load(gomock.Any()).Return(demo.Saved{TenantID: tenantID, Token: f.stored.Plain, Backfill: done(week)}, nil)
			f.tenants.EXPECT().TenantIDBySlug(gomock.Any(), "demo").Return(int64(tenantID), nil)
			f.tokens.EXPECT().ListTokensOf(gomock.Any(), "demo", "", 500).Return([]token.Token{f.stored.Token}, nil)
			f.users.EXPECT().Exists(gomock.Any(), "admin@demo.local").Return(true, nil)
			f.dash.EXPECT().FindByName(gomock.Any(), int64(tenantID), "Hosts overview").Return(dashboard.Dashboard{}, false, nil)
			f.dash.EXPECT().Create(gomock.Any(), int64(tenantID), "Hosts overview").Return(dashboard.Dashboard{}, boom)
		},
		wantErr: `create dashboard "Hosts overview": boom`,
	}, {
		name: "a failed backfill says to run again",
		setup: func(t *testing.T, f *fakes) {
			f.stored = issue(t)
			f.state.EXPECT().Load(gomock.Any()).Return(demo.Saved{TenantID: tenantID, Token: f.stored.Plain, Backfill: week}, nil)
			f.present()
			f.backfill.EXPECT().Write(gomock.Any(), "demo", gomock.Any(), gomock.Any()).Return(int64(0), boom)
		},
		wantErr: "backfill system.cpu.utilization: boom (run pulse demo again to finish it)",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ctrl := gomock.NewController(t)
			f := &fakes{tenants: NewMockTenants(ctrl), tokens: NewMockTokens(ctrl), users: NewMockUsers(ctrl),
				dash: NewMockDashboards(ctrl), rules: NewMockRules(ctrl), backfill: NewMockBackfill(ctrl),
				rollup: NewMockRollup(ctrl), state: NewMockState(ctrl)}
			f.state.EXPECT().Where().Return("/data/demo.json").AnyTimes()
			tc.setup(t, f)
			svc := demo.New(demo.Ports{Tenants: f.tenants, Tokens: f.tokens, Users: f.users, Dashboards: f.dash,
				Rules: f.rules, Backfill: f.backfill, Rollup: f.rollup, State: f.state},
				demo.Options{HTTPAddr: ":8080", RollupEvery: time.Minute, Now: func() time.Time { return now },
					Password: func() string { return "secret-password" }})
			var out bytes.Buffer
			err := svc.Run(context.Background(), &out, func(d, total int64) {
				if total != samples || d < f.progress {
					t.Errorf("progress %d of %d after %d", d, total, f.progress)
				}
				f.progress = d
			})
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("Run = %v; want %q", err, tc.wantErr)
				}
				if strings.Contains(tc.wantErr, "boom") && !errors.Is(err, boom) {
					t.Fatalf("Run = %v; does not wrap the port's error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, &out)
			}
			rest := out.String()
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("no %q (in this order) in\n%s", w, &out)
				}
				rest = rest[i+len(w):]
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if !strings.HasPrefix(lines[len(lines)-1], tc.last) {
				t.Errorf("last line %q; want %q", lines[len(lines)-1], tc.last)
			}
			if strings.Contains(tc.last, "nothing changed") && strings.Contains(out.String(), "created") {
				t.Errorf("a run that changed nothing says created:\n%s", &out)
			}
			if strings.HasPrefix(tc.last, "demo ready") && strings.Contains(out.String(), "backfilled") && f.progress != samples {
				t.Errorf("progress ended at %d; want %d", f.progress, samples)
			}
		})
	}
}
