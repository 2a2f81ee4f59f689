package tenancy_test

import (
	"context"
	"errors"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"testing/synctest"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

var now = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

type fixture struct {
	svc     *tenancy.Service
	tenants *MockTenants
	tokens  *MockTokens
	audit   *MockAudit
	t       *testing.T
}

func newFixture(t *testing.T) *fixture {
	ctrl := gomock.NewController(t)
	f := &fixture{tenants: NewMockTenants(ctrl), tokens: NewMockTokens(ctrl), audit: NewMockAudit(ctrl), t: t}
	f.svc = tenancy.NewService(f.tenants, f.tokens, f.audit, rand.New(rand.NewSource(1)), func() time.Time { return now }, metric.DefaultLimits())
	return f
}

var ctx = context.Background()

var cli = audit.CLI()

// expectAudit expects exactly one audit record matching want (Target and
// Detail are not compared when empty in want) and returns err from it.
func (f *fixture) expectAudit(want audit.Entry, err error) *gomock.Call {
	return f.audit.EXPECT().Record(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, got audit.Entry) error {
		if want.Detail == "" {
			got.Detail = ""
		}
		if want.Target == "" {
			got.Target = ""
		}
		if got != want {
			f.t.Errorf("audit entry = %+v, want %+v", got, want)
		}
		return err
	}).Times(1)
}

// activeTenant answers the tenant lookup of Authenticate for tenant 9.
func (f *fixture) activeTenant() {
	f.tenants.EXPECT().TenantByID(gomock.Any(), int64(9)).Return(tenant.Tenant{ID: 9, Slug: "acme", RetentionDays: 30}, nil).AnyTimes()
}

func TestCreateTenant(t *testing.T) {
	f := newFixture(t)
	want := tenant.Tenant{Slug: "acme", Name: "acme", RetentionDays: 30, CreatedAt: now}
	stored := want
	stored.ID = 5
	gomock.InOrder(
		f.tenants.EXPECT().CreateTenant(gomock.Any(), want).Return(stored, nil).Times(1),
		f.expectAudit(audit.Entry{At: now, Actor: "cli", TenantID: 5, Action: audit.TenantCreate, Target: "tenant:acme", RemoteAddr: "local",
			Detail: `name="acme" retention_days=30`}, nil),
	)
	got, err := f.svc.CreateTenant(ctx, cli, "acme", "", 0)
	if err != nil || got != stored {
		t.Fatalf("CreateTenant = %+v, %v; want %+v", got, err, stored)
	}
}

func TestCreateTenantValidatesBeforeStoring(t *testing.T) {
	tests := []struct {
		name, slug, tname string
		retention         int
		field             string
	}{
		{"bad slug", "Acme Corp", "", 0, "slug"},
		{"empty slug", "", "", 0, "slug"},
		{"name too long", "acme", strings.Repeat("n", 201), 0, "name"},
		{"retention too long", "acme", "", 5000, "retention_days"},
		{"negative retention", "acme", "", -1, "retention_days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t) // no expectations: the store must not be called
			_, err := f.svc.CreateTenant(ctx, cli, tt.slug, tt.tname, tt.retention)
			var ie *tenant.InvalidError
			if !errors.As(err, &ie) || ie.Field != tt.field {
				t.Fatalf("err = %v, want *tenant.InvalidError on %s", err, tt.field)
			}
		})
	}
}

func TestCreateTenantStoreError(t *testing.T) {
	f := newFixture(t)
	f.tenants.EXPECT().CreateTenant(gomock.Any(), gomock.Any()).Return(tenant.Tenant{}, tenant.ErrDuplicate)
	got, err := f.svc.CreateTenant(ctx, cli, "acme", "Acme", 7)
	if !errors.Is(err, tenant.ErrDuplicate) || got != (tenant.Tenant{}) {
		t.Fatalf("CreateTenant = %+v, %v; want ErrDuplicate wrapped", got, err)
	}
}

func TestListTenants(t *testing.T) {
	f := newFixture(t)
	want := []tenant.Tenant{{ID: 1, Slug: "a1"}, {ID: 2, Slug: "b2"}}
	f.tenants.EXPECT().ListTenants(gomock.Any()).Return(want, nil)
	got, err := f.svc.ListTenants(ctx)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ListTenants = %v, %v", got, err)
	}
}

func TestCreateToken(t *testing.T) {
	f := newFixture(t)
	scopes := []token.Scope{token.ScopeIngest, token.ScopeRead}
	var stored token.Token
	gomock.InOrder(
		f.tenants.EXPECT().TenantBySlug(gomock.Any(), "acme").Return(tenant.Tenant{ID: 9, Slug: "acme"}, nil),
		f.tokens.EXPECT().CreateToken(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, tk token.Token) error {
			stored = tk
			return nil
		}).Times(1),
		f.expectAudit(audit.Entry{At: now, Actor: "cli", TenantID: 9, Action: audit.TokenCreate, RemoteAddr: "local"}, nil),
	)
	iss, err := f.svc.CreateToken(ctx, cli, "acme", token.Spec{Name: "agent", Scopes: scopes, RateLimit: 600})
	if err != nil {
		t.Fatal(err)
	}
	if stored.TenantID != 9 || stored.Name != "agent" || stored.RateLimit != 600 || !slices.Equal(stored.Scopes, scopes) || !stored.CreatedAt.Equal(now) {
		t.Errorf("stored token = %+v", stored)
	}
	if stored.RevokedAt != nil || stored.LastUsedAt != nil {
		t.Error("a new token is stored revoked or used")
	}
	p, err := token.Parse(iss.Plain)
	if err != nil {
		t.Fatalf("returned token %q does not parse: %v", iss.Plain, err)
	}
	if p.ID != stored.ID || !p.Matches(stored.SecretHash) {
		t.Error("the stored hash does not match the returned plain token")
	}
	if strings.Contains(stored.Name+stored.ID, iss.Plain[17:49]) {
		t.Error("the secret was stored")
	}
}

func TestCreateTokenUnknownTenant(t *testing.T) {
	f := newFixture(t)
	f.tenants.EXPECT().TenantBySlug(gomock.Any(), "nope").Return(tenant.Tenant{}, tenant.ErrNotFound)
	iss, err := f.svc.CreateToken(ctx, cli, "nope", token.Spec{Name: "x", Scopes: []token.Scope{token.ScopeRead}})
	if !errors.Is(err, tenant.ErrNotFound) {
		t.Fatalf("err = %v, want tenant.ErrNotFound wrapped", err)
	}
	if !strings.Contains(err.Error(), "nope") {
		t.Errorf("err %q does not name the slug", err)
	}
	if iss.Plain != "" {
		t.Error("a token was returned for an unknown tenant")
	}
}

func TestCreateTokenStoreErrorReturnsNoToken(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("db down")
	f.tenants.EXPECT().TenantBySlug(gomock.Any(), "acme").Return(tenant.Tenant{ID: 9}, nil)
	f.tokens.EXPECT().CreateToken(gomock.Any(), gomock.Any()).Return(boom)
	iss, err := f.svc.CreateToken(ctx, cli, "acme", token.Spec{Name: "x", Scopes: []token.Scope{token.ScopeRead}})
	if !errors.Is(err, boom) || iss.Plain != "" {
		t.Fatalf("CreateToken = %q, %v; want no token and the store error", iss.Plain, err)
	}
}

func TestCreateTokenRandomFailure(t *testing.T) {
	ctrl := gomock.NewController(t)
	tenants, tokens := NewMockTenants(ctrl), NewMockTokens(ctrl)
	svc := tenancy.NewService(tenants, tokens, NewMockAudit(ctrl), iotest.ErrReader(errors.New("no entropy")), func() time.Time { return now }, metric.DefaultLimits())
	tenants.EXPECT().TenantBySlug(gomock.Any(), "acme").Return(tenant.Tenant{ID: 9}, nil)
	// tokens.CreateToken must not be called.
	if _, err := svc.CreateToken(ctx, cli, "acme", token.Spec{Name: "x", Scopes: []token.Scope{token.ScopeRead}}); err == nil {
		t.Fatal("CreateToken succeeded without randomness")
	}
}

// issued returns a fresh token for tenant 9 with the given scopes, as stored.
func issued(t *testing.T, seed int64, scopes ...token.Scope) token.Issued {
	t.Helper()
	iss, err := token.Issue(rand.New(rand.NewSource(seed)), 9, "t", scopes, now.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func TestAuthenticateMalformedNeedsNoStore(t *testing.T) {
	good := issued(t, 1, token.ScopeIngest).Plain
	for _, raw := range []string{"", "garbage", "pulse_", good[:len(good)-1], good[:20] + "X" + good[21:], "Bearer " + good} {
		f := newFixture(t) // no expectations: no store call allowed
		p, err := f.svc.Authenticate(ctx, raw, token.ScopeIngest)
		if !errors.Is(err, token.ErrUnauthenticated) || !reflect.DeepEqual(p, tenancy.Principal{}) {
			t.Errorf("Authenticate(%q) = %+v, %v; want ErrUnauthenticated", raw, p, err)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	iss := issued(t, 2, token.ScopeIngest, token.ScopeRead)
	other := issued(t, 3, token.ScopeIngest, token.ScopeRead)
	at := func(d time.Duration) *time.Time { x := now.Add(-d); return &x }
	with := func(mod func(*token.Token)) token.Token { tk := iss.Token; mod(&tk); return tk }
	storeDown := errors.New("db down")

	tests := []struct {
		name      string
		stored    token.Token
		lookupErr error
		need      token.Scope
		wantErr   error
		wantTouch bool
	}{
		{name: "ok, never used: touched", stored: iss.Token, need: token.ScopeIngest, wantTouch: true},
		{name: "ok, used 59s ago: not touched", stored: with(func(tk *token.Token) { tk.LastUsedAt = at(59 * time.Second) }), need: token.ScopeRead},
		{name: "ok, used 60s ago: touched", stored: with(func(tk *token.Token) { tk.LastUsedAt = at(time.Minute) }), need: token.ScopeRead, wantTouch: true},
		{name: "ok, used a day ago: touched", stored: with(func(tk *token.Token) { tk.LastUsedAt = at(24 * time.Hour) }), need: token.ScopeIngest, wantTouch: true},
		{name: "unknown id", lookupErr: token.ErrNotFound, need: token.ScopeIngest, wantErr: token.ErrUnauthenticated},
		{name: "unknown id, wrapped by the store", lookupErr: errors.Join(errors.New("sql: no rows"), token.ErrNotFound), need: token.ScopeIngest, wantErr: token.ErrUnauthenticated},
		{name: "storage failure is not a 401", lookupErr: storeDown, need: token.ScopeIngest, wantErr: storeDown},
		{name: "revoked", stored: with(func(tk *token.Token) { tk.RevokedAt = at(time.Hour) }), need: token.ScopeIngest, wantErr: token.ErrUnauthenticated},
		{name: "wrong secret", stored: with(func(tk *token.Token) { tk.SecretHash = other.Token.SecretHash }), need: token.ScopeIngest, wantErr: token.ErrUnauthenticated},
		{name: "wrong scope", stored: iss.Token, need: token.ScopeAdmin, wantErr: token.ErrForbidden},
		{name: "revoked and wrong scope", stored: with(func(tk *token.Token) { tk.RevokedAt = at(time.Hour) }), need: token.ScopeAdmin, wantErr: token.ErrUnauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t)
				f.activeTenant()
				f.tokens.EXPECT().TokenByID(gomock.Any(), iss.Token.ID).Return(tt.stored, tt.lookupErr).Times(1)
				if tt.wantTouch {
					f.tokens.EXPECT().TouchToken(gomock.Any(), iss.Token.ID, now).Return(nil).Times(1)
				}
				p, err := f.svc.Authenticate(ctx, iss.Plain, tt.need)
				synctest.Wait() // the last-used write runs beside the request
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("err = %v, want %v", err, tt.wantErr)
					}
					if tt.wantErr == storeDown && errors.Is(err, token.ErrUnauthenticated) {
						t.Error("a storage failure was reported as 401")
					}
					if !reflect.DeepEqual(p, tenancy.Principal{}) {
						t.Errorf("principal %+v on error", p)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if want := (tenancy.Principal{TokenID: iss.Token.ID, TenantID: 9, TenantSlug: "acme", Scopes: iss.Token.Scopes}); !reflect.DeepEqual(p, want) {
					t.Errorf("principal = %+v, want %+v", p, want)
				}
			})
		})
	}
}

func TestAuthenticateTouchFailureDoesNotFailTheRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		iss := issued(t, 4, token.ScopeIngest)
		f := newFixture(t)
		f.activeTenant()
		f.tokens.EXPECT().TokenByID(gomock.Any(), iss.Token.ID).Return(iss.Token, nil)
		f.tokens.EXPECT().TouchToken(gomock.Any(), iss.Token.ID, now).Return(errors.New("db busy"))
		p, err := f.svc.Authenticate(ctx, iss.Plain, token.ScopeIngest)
		synctest.Wait()
		if err != nil || p.TenantID != 9 {
			t.Fatalf("Authenticate = %+v, %v", p, err)
		}
	})
}

// A stalled database must not delay the request: the last-used write runs
// beside it, with its own deadline, once per token at a time.
func TestAuthenticateDoesNotWaitForTheTouch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		iss := issued(t, 4, token.ScopeIngest)
		f := newFixture(t)
		f.activeTenant()
		f.tokens.EXPECT().TokenByID(gomock.Any(), iss.Token.ID).Return(iss.Token, nil)
		f.tokens.EXPECT().TouchToken(gomock.Any(), iss.Token.ID, now).DoAndReturn(func(ctx context.Context, _ string, _ time.Time) error {
			<-ctx.Done() // the database never answers
			return ctx.Err()
		}).Times(1)
		start := time.Now()
		for range 3 { // cached: one lookup, one touch
			if _, err := f.svc.Authenticate(ctx, iss.Plain, token.ScopeIngest); err != nil {
				t.Fatal(err)
			}
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("Authenticate waited %s for the touch", took)
		}
		time.Sleep(time.Minute) // the touch gives up on its own deadline
	})
}

func TestRevokeToken(t *testing.T) {
	const id = "abcdefgh12"
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"bare id", id, true},
		{"public id with prefix", "pulse_" + id, true},
		{"empty", "", false},
		{"prefix only", "pulse_", false},
		{"too short", "abc", false},
		{"too long", id + "3", false},
		{"upper case", "ABCDEFGH12", false},
		{"whole token", "pulse_" + id + "_" + strings.Repeat("a", 38), false},
		{"sql-ish", "1' OR '1'='1", false},
		{"double prefix", "pulse_pulse_" + id, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.ok {
				gomock.InOrder(
					f.tokens.EXPECT().TokenByID(gomock.Any(), id).Return(token.Token{ID: id, TenantID: 3}, nil),
					f.tokens.EXPECT().RevokeToken(gomock.Any(), id, now).Return(nil).Times(1),
					f.expectAudit(audit.Entry{At: now, Actor: "cli", TenantID: 3, Action: audit.TokenRevoke, Target: "token:" + id, RemoteAddr: "local"}, nil),
				)
			}
			err := f.svc.RevokeToken(ctx, cli, tt.in)
			if tt.ok && err != nil {
				t.Fatalf("RevokeToken(%q) = %v", tt.in, err)
			}
			if !tt.ok && !errors.Is(err, token.ErrNotFound) {
				t.Fatalf("RevokeToken(%q) = %v, want token.ErrNotFound and no store call", tt.in, err)
			}
		})
	}
}

func TestRevokeTokenStoreError(t *testing.T) {
	f := newFixture(t)
	f.tokens.EXPECT().TokenByID(gomock.Any(), "abcdefgh12").Return(token.Token{}, token.ErrNotFound)
	if err := f.svc.RevokeToken(ctx, cli, "abcdefgh12"); !errors.Is(err, token.ErrNotFound) {
		t.Fatalf("err = %v, want token.ErrNotFound wrapped", err)
	}
}

func TestLimitsFor(t *testing.T) {
	tests := []struct {
		retention int
		want      time.Duration
	}{
		{30, 30 * 24 * time.Hour},
		{7, 7 * 24 * time.Hour},
		{3650, 3650 * 24 * time.Hour},
	}
	for _, tt := range tests {
		f := newFixture(t)
		f.tenants.EXPECT().TenantByID(gomock.Any(), int64(4)).Return(tenant.Tenant{ID: 4, RetentionDays: tt.retention}, nil)
		got, err := f.svc.LimitsFor(ctx, 4)
		if err != nil {
			t.Fatal(err)
		}
		if want := metric.DefaultLimits().WithRetention(tt.retention); got != want || got.MaxAge != tt.want {
			t.Errorf("retention %d: LimitsFor = %+v, want MaxAge %v", tt.retention, got, tt.want)
		}
	}
}

func TestLimitsForUnknownTenant(t *testing.T) {
	f := newFixture(t)
	f.tenants.EXPECT().TenantByID(gomock.Any(), int64(4)).Return(tenant.Tenant{}, tenant.ErrNotFound)
	if _, err := f.svc.LimitsFor(ctx, 4); !errors.Is(err, tenant.ErrNotFound) {
		t.Fatalf("err = %v, want tenant.ErrNotFound wrapped", err)
	}
}

func TestLimitsForCachesPerTenantForCacheTTL(t *testing.T) {
	ctrl := gomock.NewController(t)
	tenants := NewMockTenants(ctrl)
	clock := now
	svc := tenancy.NewService(tenants, NewMockTokens(ctrl), NewMockAudit(ctrl), rand.New(rand.NewSource(1)), func() time.Time { return clock }, metric.DefaultLimits())
	days := func(d int) time.Duration { return time.Duration(d) * 24 * time.Hour }

	steps := []struct {
		name      string
		advance   time.Duration
		tenantID  int64
		fetch     bool // the store is asked
		retention int  // what the store answers
		want      time.Duration
	}{
		{"first call reads the store", 0, 4, true, 7, days(7)},
		{"cached", time.Second, 4, false, 0, days(7)},
		{"still cached at 1.999s", tenancy.CacheTTL - time.Second - time.Millisecond, 4, false, 0, days(7)},
		{"other tenant is not served tenant 4's limits", 0, 5, true, 90, days(90)},
		{"expired at CacheTTL: read again, change seen", time.Millisecond, 4, true, 14, days(14)},
		{"new value cached", time.Second, 4, false, 0, days(14)},
	}
	for _, st := range steps {
		clock = clock.Add(st.advance)
		if st.fetch {
			tenants.EXPECT().TenantByID(gomock.Any(), st.tenantID).Return(tenant.Tenant{ID: st.tenantID, RetentionDays: st.retention}, nil).Times(1)
		}
		got, err := svc.LimitsFor(ctx, st.tenantID)
		if err != nil || got.MaxAge != st.want {
			t.Fatalf("%s: LimitsFor(%d) MaxAge = %v, %v; want %v", st.name, st.tenantID, got.MaxAge, err, st.want)
		}
	}
}

func TestLimitsForDoesNotCacheErrors(t *testing.T) {
	f := newFixture(t)
	gomock.InOrder(
		f.tenants.EXPECT().TenantByID(gomock.Any(), int64(4)).Return(tenant.Tenant{}, errors.New("db blip")),
		f.tenants.EXPECT().TenantByID(gomock.Any(), int64(4)).Return(tenant.Tenant{ID: 4, RetentionDays: 3}, nil),
	)
	if _, err := f.svc.LimitsFor(ctx, 4); err == nil {
		t.Fatal("want the store error")
	}
	got, err := f.svc.LimitsFor(ctx, 4)
	if err != nil || got.MaxAge != 3*24*time.Hour {
		t.Fatalf("after an error: LimitsFor = %v, %v; want a fresh read", got.MaxAge, err)
	}
}

func TestLimitsForConcurrentUse(t *testing.T) {
	f := newFixture(t)
	f.tenants.EXPECT().TenantByID(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, id int64) (tenant.Tenant, error) {
		return tenant.Tenant{ID: id, RetentionDays: int(id)}, nil
	}).AnyTimes()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				id := int64(1 + (g+i)%5)
				got, err := f.svc.LimitsFor(ctx, id)
				if err != nil || got.MaxAge != time.Duration(id)*24*time.Hour {
					t.Errorf("LimitsFor(%d) = %v, %v", id, got.MaxAge, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
