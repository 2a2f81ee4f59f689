package tenancy_test

import (
	"context"
	"errors"
	"math/rand"
	"reflect"
	"slices"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

var httpActor = audit.Actor{ID: "adminadmin", TenantID: 9, RemoteAddr: "203.0.113.7:4000"}

func TestCreateTokenValidatesSpecBeforeAnyStoreCall(t *testing.T) {
	for _, spec := range []token.Spec{
		{Scopes: []token.Scope{token.ScopeIngest}, RateLimit: -1},
		{},
		{Scopes: []token.Scope{token.ScopePlatform}},
	} {
		f := newFixture(t) // no expectations
		_, err := f.svc.CreateToken(ctx, cli, "acme", spec)
		var ie *token.InvalidError
		if !errors.As(err, &ie) {
			t.Errorf("CreateToken(%+v) = %v, want *token.InvalidError", spec, err)
		}
		if _, err := f.svc.CreateTenantToken(ctx, httpActor, 9, spec); !errors.As(err, &ie) {
			t.Errorf("CreateTenantToken(%+v) = %v, want *token.InvalidError", spec, err)
		}
	}
}

func TestCreateTenantTokenIsBoundToTheGivenTenant(t *testing.T) {
	f := newFixture(t)
	var stored token.Token
	gomock.InOrder(
		f.tokens.EXPECT().CreateToken(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, tk token.Token) error { stored = tk; return nil }),
		f.expectAudit(audit.Entry{At: now, Actor: "adminadmin", TenantID: 9, Action: audit.TokenCreate, RemoteAddr: "203.0.113.7:4000",
			Detail: `name="ci" scopes=ingest rate_limit=60`}, nil),
	)
	iss, err := f.svc.CreateTenantToken(ctx, httpActor, 9, token.Spec{Name: "ci", Scopes: []token.Scope{token.ScopeIngest}, RateLimit: 60})
	if err != nil || stored.TenantID != 9 || stored.RateLimit != 60 || iss.Token.ID != stored.ID {
		t.Fatalf("CreateTenantToken = %+v, %v; stored %+v", iss.Token, err, stored)
	}
	if _, err := f.svc.CreateTenantToken(ctx, httpActor, 0, token.Spec{Scopes: []token.Scope{token.ScopeIngest}}); err == nil {
		t.Error("a tenant token was created for tenant 0")
	}
}

func TestCreatePlatformToken(t *testing.T) {
	f := newFixture(t)
	var stored token.Token
	gomock.InOrder(
		f.tokens.EXPECT().CreateToken(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, tk token.Token) error { stored = tk; return nil }),
		f.expectAudit(audit.Entry{At: now, Actor: "cli", TenantID: 0, Action: audit.TokenCreate, RemoteAddr: "local"}, nil),
	)
	iss, err := f.svc.CreatePlatformToken(ctx, cli, "ops")
	if err != nil {
		t.Fatal(err)
	}
	if stored.TenantID != 0 || !slices.Equal(stored.Scopes, []token.Scope{token.ScopeAdmin}) || stored.Name != "ops" || stored.RateLimit != 0 {
		t.Errorf("stored = %+v", stored)
	}
	if _, err := token.Parse(iss.Plain); err != nil {
		t.Errorf("plain token %q: %v", iss.Plain, err)
	}
}

func TestIssueFailsClosedWhenTheAuditFails(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("audit table gone")
	var id string
	gomock.InOrder(
		f.tokens.EXPECT().CreateToken(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, tk token.Token) error { id = tk.ID; return nil }),
		f.audit.EXPECT().Record(gomock.Any(), gomock.Any()).Return(boom),
		f.tokens.EXPECT().RevokeToken(gomock.Any(), gomock.Any(), now).DoAndReturn(func(_ context.Context, got string, _ time.Time) error {
			if got != id {
				t.Errorf("revoked %q, want the new token %q", got, id)
			}
			return nil
		}),
	)
	iss, err := f.svc.CreatePlatformToken(ctx, cli, "ops")
	if !errors.Is(err, boom) || iss.Plain != "" {
		t.Fatalf("CreatePlatformToken = %q, %v; want no token and the audit error", iss.Plain, err)
	}
}

func TestListTokensNeverReturnsHashes(t *testing.T) {
	f := newFixture(t)
	stored := []token.Token{{ID: "aaaaaaaaaa", TenantID: 9, SecretHash: [32]byte{1}}, {ID: "bbbbbbbbbb", TenantID: 9, SecretHash: [32]byte{2}}}
	f.tokens.EXPECT().ListTokens(gomock.Any(), int64(9), "a", 50).Return(stored, nil)
	got, err := f.svc.ListTokens(ctx, 9, "a", 50)
	if err != nil || len(got) != 2 || got[0].ID != "aaaaaaaaaa" {
		t.Fatalf("ListTokens = %+v, %v", got, err)
	}
	for _, tk := range got {
		if tk.SecretHash != ([32]byte{}) {
			t.Errorf("token %s returned with its hash", tk.ID)
		}
	}
}

func TestRevokeTenantToken(t *testing.T) {
	const id = "abcdefgh12"
	tests := []struct {
		name       string
		in         string
		owner      int64 // tenant of the stored token; -1 = unknown id
		wantErr    error
		wantRevoke bool
		wantAudit  audit.Action // "" = none
	}{
		{name: "own token", in: id, owner: 9, wantRevoke: true, wantAudit: audit.TokenRevoke},
		{name: "own token, public id", in: "pulse_" + id, owner: 9, wantRevoke: true, wantAudit: audit.TokenRevoke},
		{name: "another tenant's token: not found, audited", in: id, owner: 10, wantErr: token.ErrNotFound, wantAudit: audit.CrossTenantDenied},
		{name: "a platform token: not found, audited", in: id, owner: 0, wantErr: token.ErrNotFound, wantAudit: audit.CrossTenantDenied},
		{name: "unknown token: not found, not audited", in: id, owner: -1, wantErr: token.ErrNotFound},
		{name: "malformed id: no store call", in: "x' OR 1=1", wantErr: token.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if token.ValidID(tt.in) || tt.in == "pulse_"+id {
				if tt.owner < 0 {
					f.tokens.EXPECT().TokenByID(gomock.Any(), id).Return(token.Token{}, token.ErrNotFound)
				} else {
					f.tokens.EXPECT().TokenByID(gomock.Any(), id).Return(token.Token{ID: id, TenantID: tt.owner}, nil)
				}
			}
			if tt.wantRevoke {
				f.tokens.EXPECT().RevokeTenantToken(gomock.Any(), int64(9), id, now).Return(nil)
			}
			if tt.wantAudit != "" {
				// The record names the actor's tenant, never the owner.
				f.expectAudit(audit.Entry{At: now, Actor: "adminadmin", TenantID: 9, Action: tt.wantAudit, Target: "token:" + id, RemoteAddr: "203.0.113.7:4000"}, nil)
			}
			err := f.svc.RevokeTenantToken(ctx, httpActor, 9, tt.in)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("RevokeTenantToken = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestRevokeTenantTokenAuditFailureIsAnError(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("audit down")
	f.tokens.EXPECT().TokenByID(gomock.Any(), "abcdefgh12").Return(token.Token{ID: "abcdefgh12", TenantID: 10}, nil)
	f.audit.EXPECT().Record(gomock.Any(), gomock.Any()).Return(boom)
	if err := f.svc.RevokeTenantToken(ctx, httpActor, 9, "abcdefgh12"); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the audit failure", err)
	}
}

func TestUpdateTenant(t *testing.T) {
	days := func(d int) *int { return &d }
	yes := true
	acme := tenant.Tenant{ID: 9, Slug: "acme", Name: "Acme", RetentionDays: 30}
	t.Run("retention and disable", func(t *testing.T) {
		f := newFixture(t)
		want := acme
		want.RetentionDays, want.Disabled = 7, true
		gomock.InOrder(
			f.tenants.EXPECT().TenantBySlug(gomock.Any(), "acme").Return(acme, nil),
			f.tenants.EXPECT().UpdateTenant(gomock.Any(), want).Return(nil),
			f.expectAudit(audit.Entry{At: now, Actor: "cli", TenantID: 9, Action: audit.TenantUpdate, Target: "tenant:acme", RemoteAddr: "local",
				Detail: "retention_days=7 disabled=true"}, nil),
		)
		got, err := f.svc.UpdateTenant(ctx, cli, "acme", days(7), &yes)
		if err != nil || got != want {
			t.Fatalf("UpdateTenant = %+v, %v", got, err)
		}
	})
	t.Run("invalid: no store write", func(t *testing.T) {
		f := newFixture(t)
		f.tenants.EXPECT().TenantBySlug(gomock.Any(), "acme").Return(acme, nil).Times(2)
		var ie *tenant.InvalidError
		if _, err := f.svc.UpdateTenant(ctx, cli, "acme", nil, nil); !errors.As(err, &ie) {
			t.Errorf("empty update: %v", err)
		}
		if _, err := f.svc.UpdateTenant(ctx, cli, "acme", days(0), nil); !errors.As(err, &ie) || ie.Field != "retention_days" {
			t.Errorf("retention 0: %v", err)
		}
	})
	t.Run("unknown tenant", func(t *testing.T) {
		f := newFixture(t)
		f.tenants.EXPECT().TenantBySlug(gomock.Any(), "nope").Return(tenant.Tenant{}, tenant.ErrNotFound)
		if _, err := f.svc.UpdateTenant(ctx, cli, "nope", days(3), nil); !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("err = %v", err)
		}
	})
}

// platformAndTenantTokens returns a tenant-9 admin token and a platform token.
func platformAndTenantTokens(t *testing.T) (tenantAdmin, platform token.Issued) {
	t.Helper()
	ta, err := token.Issue(rand.New(rand.NewSource(40)), 9, "ta", []token.Scope{token.ScopeAdmin, token.ScopeIngest}, now)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := token.Issue(rand.New(rand.NewSource(41)), 0, "pl", []token.Scope{token.ScopeAdmin}, now)
	if err != nil {
		t.Fatal(err)
	}
	ta.Token.LastUsedAt, pl.Token.LastUsedAt = &now, &now // no touch
	return ta, pl
}

func TestAuthenticatePlatformRoutes(t *testing.T) {
	ta, pl := platformAndTenantTokens(t)
	t.Run("platform token on the platform API", func(t *testing.T) {
		f := newFixture(t)
		f.tokens.EXPECT().TokenByID(gomock.Any(), pl.Token.ID).Return(pl.Token, nil)
		p, err := f.svc.Authenticate(ctx, pl.Plain, token.ScopePlatform)
		if err != nil || !reflect.DeepEqual(p, tenancy.Principal{TokenID: pl.Token.ID, Scopes: pl.Token.Scopes}) {
			t.Fatalf("Authenticate = %+v, %v", p, err)
		}
	})
	for _, need := range []token.Scope{token.ScopeIngest, token.ScopeRead, token.ScopeAdmin} {
		t.Run("platform token on tenant scope "+string(need), func(t *testing.T) {
			f := newFixture(t) // no tenant lookup, no audit
			f.tokens.EXPECT().TokenByID(gomock.Any(), pl.Token.ID).Return(pl.Token, nil)
			if _, err := f.svc.Authenticate(ctx, pl.Plain, need); !errors.Is(err, token.ErrForbidden) {
				t.Fatalf("err = %v, want ErrForbidden", err)
			}
		})
	}
	t.Run("tenant admin token on the platform API: 403, audited with the remote address", func(t *testing.T) {
		f := newFixture(t)
		f.activeTenant()
		f.tokens.EXPECT().TokenByID(gomock.Any(), ta.Token.ID).Return(ta.Token, nil)
		f.expectAudit(audit.Entry{At: now, Actor: ta.Token.ID, TenantID: 9, Action: audit.CrossTenantDenied, Target: "platform:admin-api", RemoteAddr: "198.51.100.2:999"}, nil)
		_, err := f.svc.Authenticate(tenancy.WithRemoteAddr(ctx, "198.51.100.2:999"), ta.Plain, token.ScopePlatform)
		if !errors.Is(err, token.ErrForbidden) {
			t.Fatalf("err = %v, want ErrForbidden", err)
		}
	})
}

func TestAuthenticateDisabledTenant(t *testing.T) {
	ta, _ := platformAndTenantTokens(t)
	ctrl := gomock.NewController(t)
	tenants, tokens, aud := NewMockTenants(ctrl), NewMockTokens(ctrl), NewMockAudit(ctrl)
	clock := now
	svc := tenancy.NewService(tenants, tokens, aud, rand.New(rand.NewSource(1)), func() time.Time { return clock }, metric.DefaultLimits())
	tokens.EXPECT().TokenByID(gomock.Any(), ta.Token.ID).Return(ta.Token, nil).AnyTimes()
	acme := tenant.Tenant{ID: 9, Slug: "acme", RetentionDays: 30}
	off := acme
	off.Disabled = true

	// Active: served, and cached.
	tenants.EXPECT().TenantByID(gomock.Any(), int64(9)).Return(acme, nil).Times(1)
	if _, err := svc.Authenticate(ctx, ta.Plain, token.ScopeIngest); err != nil {
		t.Fatal(err)
	}
	// Disabled by another process: seen once the cache entry expires.
	clock = clock.Add(tenancy.CacheTTL - time.Millisecond)
	if _, err := svc.Authenticate(ctx, ta.Plain, token.ScopeIngest); err != nil {
		t.Fatalf("within the TTL: %v", err)
	}
	clock = clock.Add(time.Millisecond)
	tenants.EXPECT().TenantByID(gomock.Any(), int64(9)).Return(off, nil).Times(1)
	for _, need := range []token.Scope{token.ScopeIngest, token.ScopeRead, token.ScopeAdmin, token.ScopePlatform} {
		_, err := svc.Authenticate(ctx, ta.Plain, need)
		if !errors.Is(err, tenant.ErrDisabled) || !errors.Is(err, token.ErrForbidden) {
			t.Fatalf("need %s: err = %v, want ErrDisabled and ErrForbidden", need, err)
		}
	}
	// Enabled through this Service: effective at once.
	no := false
	gomock.InOrder(
		tenants.EXPECT().TenantBySlug(gomock.Any(), "acme").Return(off, nil),
		tenants.EXPECT().UpdateTenant(gomock.Any(), acme).Return(nil),
	)
	aud.EXPECT().Record(gomock.Any(), gomock.Any()).Return(nil)
	if _, err := svc.UpdateTenant(ctx, cli, "acme", nil, &no); err != nil {
		t.Fatal(err)
	}
	tenants.EXPECT().TenantByID(gomock.Any(), int64(9)).Return(acme, nil).Times(1)
	if _, err := svc.Authenticate(ctx, ta.Plain, token.ScopeIngest); err != nil {
		t.Fatalf("after enable: %v", err)
	}
}

func TestAuthenticateUnknownTenantIsUnauthenticated(t *testing.T) {
	ta, _ := platformAndTenantTokens(t)
	f := newFixture(t)
	f.tokens.EXPECT().TokenByID(gomock.Any(), ta.Token.ID).Return(ta.Token, nil)
	f.tenants.EXPECT().TenantByID(gomock.Any(), int64(9)).Return(tenant.Tenant{}, tenant.ErrNotFound)
	if _, err := f.svc.Authenticate(ctx, ta.Plain, token.ScopeIngest); !errors.Is(err, token.ErrUnauthenticated) {
		t.Fatalf("err = %v", err)
	}
}
