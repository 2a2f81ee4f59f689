package tenantstest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/adapter/store/tenants"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// The store serves the tenancy ports.
var (
	_ tenancy.Tenants = (*tenants.Store)(nil)
	_ tenancy.Tokens  = (*tenants.Store)(nil)
	_ tenancy.Audit   = tenancy.AuditFunc((*tenants.Store)(nil).RecordAudit)
)

// Run runs the contract cases of the tenants' storage (tenants, tokens,
// and the admin API's tenant updates, token listing and tenant-bound
// revocation, the audit log); open must return a fresh, migrated, empty
// database for each call and clean it up when t ends.
func Run(t *testing.T, open func(t *testing.T) sqldbtest.Target) {
	cases := []struct {
		name string
		fn   func(t *testing.T, tg sqldbtest.Target)
	}{
		{"Tenants", testTenants},
		{"Tokens", testTokens},
		{"UpdateTenant", testAdminUpdateTenant},
		{"ListTenantsAfter", testAdminListTenants},
		{"ListTokens", testAdminListTokens},
		{"RevokeTenantToken", testAdminRevokeTenantToken},
		{"Audit", testAdminAudit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, open(t))
		})
	}
}

func adminCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func adminTenant(t *testing.T, s *sqldbtest.Stores, slug string) tenant.Tenant {
	t.Helper()
	tn, err := tenant.New(slug, "", 0, sqldbtest.Base)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.CreateTenant(adminCtx(t), tn)
	if err != nil {
		t.Fatalf("create tenant %s: %v", slug, err)
	}
	return got
}

func adminToken(t *testing.T, s *sqldbtest.Stores, tenantID int64, id string, rate int64) token.Token {
	t.Helper()
	tk := token.Token{ID: id, TenantID: tenantID, Name: "n-" + id, Scopes: []token.Scope{token.ScopeIngest, token.ScopeAdmin},
		RateLimit: rate, SecretHash: [32]byte{9, 9, 9}, CreatedAt: sqldbtest.Base}
	if err := s.CreateToken(adminCtx(t), tk); err != nil {
		t.Fatalf("create token %s: %v", id, err)
	}
	return tk
}

func testAdminUpdateTenant(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	a := adminTenant(t, s, "acme")
	b := adminTenant(t, s, "other")
	up := a
	up.RetentionDays, up.Disabled = 7, true
	up.Name = "ignored" // only retention and disabled are written
	if err := s.UpdateTenant(adminCtx(t), up); err != nil {
		t.Fatal(err)
	}
	// The same values again: no change, no error (MariaDB reports 0 rows).
	if err := s.UpdateTenant(adminCtx(t), up); err != nil {
		t.Fatalf("unchanged update: %v", err)
	}
	got, err := s.TenantBySlug(adminCtx(t), "acme")
	if err != nil || got.RetentionDays != 7 || !got.Disabled || got.Name != "acme" || !got.CreatedAt.Equal(sqldbtest.Base) {
		t.Fatalf("after update: %+v, %v", got, err)
	}
	if other, _ := s.TenantByID(adminCtx(t), b.ID); other != b {
		t.Errorf("the other tenant changed: %+v, want %+v", other, b)
	}
	up.Disabled = false
	if err := s.UpdateTenant(adminCtx(t), up); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.TenantByID(adminCtx(t), a.ID); got.Disabled {
		t.Error("enable did not stick")
	}
	if err := s.UpdateTenant(adminCtx(t), tenant.Tenant{ID: 99999, RetentionDays: 3}); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("unknown tenant: %v, want tenant.ErrNotFound", err)
	}
}

func testAdminListTenants(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	var ids []int64
	for i := range 5 {
		ids = append(ids, adminTenant(t, s, fmt.Sprintf("t%d", i)).ID)
	}
	var seen []int64
	after := int64(0)
	for pages := 0; ; pages++ {
		page, err := s.ListTenantsAfter(adminCtx(t), after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 2 || pages > 5 {
			t.Fatalf("page of %d (page %d)", len(page), pages)
		}
		if len(page) == 0 {
			break
		}
		for _, tn := range page {
			seen = append(seen, tn.ID)
		}
		after = page[len(page)-1].ID
	}
	if fmt.Sprint(seen) != fmt.Sprint(ids) {
		t.Errorf("paged ids = %v, want %v", seen, ids)
	}
	if page, err := s.ListTenantsAfter(adminCtx(t), ids[4], 10); err != nil || len(page) != 0 {
		t.Errorf("after the last: %v, %v", page, err)
	}
}

func testAdminListTokens(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	a := adminTenant(t, s, "acme")
	b := adminTenant(t, s, "other")
	want := []token.Token{
		adminToken(t, s, a.ID, "aaaaaaaaa1", 600),
		adminToken(t, s, a.ID, "aaaaaaaaa2", 0),
		adminToken(t, s, a.ID, "aaaaaaaaa3", 0),
	}
	adminToken(t, s, b.ID, "bbbbbbbbb1", 0)
	adminToken(t, s, 0, "ppppppppp1", 0)

	first, err := s.ListTokens(adminCtx(t), a.ID, "", 2)
	if err != nil || len(first) != 2 {
		t.Fatalf("first page: %v, %v", first, err)
	}
	rest, err := s.ListTokens(adminCtx(t), a.ID, first[1].ID, 2)
	if err != nil || len(rest) != 1 {
		t.Fatalf("second page: %v, %v", rest, err)
	}
	got := append(first, rest...)
	for i, tk := range got {
		w := want[i]
		if tk.ID != w.ID || tk.TenantID != a.ID || tk.Name != w.Name || tk.RateLimit != w.RateLimit ||
			joinedScopes(tk.Scopes) != joinedScopes(w.Scopes) || !tk.CreatedAt.Equal(sqldbtest.Base) || tk.RevokedAt != nil {
			t.Errorf("token %d = %+v, want %+v", i, tk, w)
		}
		if tk.SecretHash != ([32]byte{}) {
			t.Errorf("token %s listed with its hash", tk.ID)
		}
	}
	if only, err := s.ListTokens(adminCtx(t), b.ID, "", 100); err != nil || len(only) != 1 || only[0].ID != "bbbbbbbbb1" {
		t.Errorf("tenant b sees %v, %v", only, err)
	}
	if pl, err := s.ListPlatformTokens(adminCtx(t), "", 100); err != nil || len(pl) != 1 || pl[0].ID != "ppppppppp1" || pl[0].TenantID != 0 {
		t.Errorf("platform tokens: %v, %v", pl, err)
	}
	if zero, err := s.ListTokens(adminCtx(t), 0, "", 100); !errors.Is(err, sqldb.ErrTenantRequired) || len(zero) != 0 {
		t.Errorf("tenant 0 (no tenant): %v, %v; want sqldb.ErrTenantRequired", zero, err)
	}
	if none, err := s.ListTokens(adminCtx(t), 99999, "", 100); err != nil || len(none) != 0 {
		t.Errorf("unknown tenant: %v, %v", none, err)
	}
}

func joinedScopes(sc []token.Scope) string {
	parts := make([]string, len(sc))
	for i, v := range sc {
		parts[i] = string(v)
	}
	return strings.Join(parts, ",")
}

func testAdminRevokeTenantToken(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	a := adminTenant(t, s, "acme")
	b := adminTenant(t, s, "other")
	mine := adminToken(t, s, a.ID, "aaaaaaaaa1", 0)
	theirs := adminToken(t, s, b.ID, "bbbbbbbbb1", 0)
	platform := adminToken(t, s, 0, "ppppppppp1", 0)
	at := sqldbtest.Base.Add(time.Hour)

	if err := s.RevokeTenantToken(adminCtx(t), a.ID, theirs.ID, at); !errors.Is(err, token.ErrNotFound) {
		t.Fatalf("revoke another tenant's token: %v, want token.ErrNotFound", err)
	}
	if got, _ := s.TokenByID(adminCtx(t), theirs.ID); got.RevokedAt != nil {
		t.Fatal("another tenant's token was revoked")
	}
	if err := s.RevokeTenantToken(adminCtx(t), a.ID, platform.ID, at); !errors.Is(err, token.ErrNotFound) {
		t.Fatalf("revoke a platform token as a tenant: %v", err)
	}
	if err := s.RevokeTenantToken(adminCtx(t), a.ID, "zzzzzzzzzz", at); !errors.Is(err, token.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
	if err := s.RevokeTenantToken(adminCtx(t), a.ID, mine.ID, at); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeTenantToken(adminCtx(t), a.ID, mine.ID, at.Add(time.Hour)); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	if got, _ := s.TokenByID(adminCtx(t), mine.ID); got.RevokedAt == nil || !got.RevokedAt.Equal(at) {
		t.Errorf("RevokedAt = %v, want the first revocation %v", got.RevokedAt, at)
	}
	if err := s.RevokeTenantToken(adminCtx(t), 0, platform.ID, at); !errors.Is(err, sqldb.ErrTenantRequired) {
		t.Fatalf("revoke with tenant 0 (no tenant): %v, want sqldb.ErrTenantRequired", err)
	}
	if err := s.RevokePlatformToken(adminCtx(t), theirs.ID, at); !errors.Is(err, token.ErrNotFound) {
		t.Fatalf("platform revoke of a tenant's token: %v, want token.ErrNotFound", err)
	}
	if err := s.RevokePlatformToken(adminCtx(t), platform.ID, at); err != nil {
		t.Fatalf("platform revoke: %v", err)
	}
	if got, _ := s.TokenByID(adminCtx(t), platform.ID); got.RevokedAt == nil {
		t.Error("platform token not revoked")
	}
}

func testAdminAudit(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	long := strings.Repeat("é", 600) // 1200 bytes: NewEntry cuts to 1000
	entries := []audit.Entry{
		audit.NewEntry(sqldbtest.Base, audit.CLI(), 1, audit.TenantCreate, "tenant:acme", `name="acme"`),
		audit.NewEntry(sqldbtest.Base.Add(time.Second), audit.Actor{ID: "aaaaaaaaa1", TenantID: 1, RemoteAddr: "[2001:db8::1]:443"}, 1, audit.CrossTenantDenied, "token:bbbbbbbbb1", long),
		audit.NewEntry(sqldbtest.Base.Add(2*time.Second), audit.CLI(), 2, audit.TokenCreate, "token:bbbbbbbbb1", ""),
		audit.NewEntry(sqldbtest.Base.Add(3*time.Second), audit.CLI(), 0, audit.TokenCreate, "token:ppppppppp1", "platform"),
		audit.NewEntry(sqldbtest.Base.Add(4*time.Second), audit.Actor{ID: "aaaaaaaaa1", TenantID: 1, RemoteAddr: strings.Repeat("r", 300)}, 1, audit.TokenRevoke, strings.Repeat("t", 300), ""),
	}
	for _, e := range entries {
		if err := s.RecordAudit(adminCtx(t), e); err != nil {
			t.Fatalf("record %s: %v", e.Action, err)
		}
	}
	got, err := s.ListAudit(adminCtx(t), 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []audit.Entry{entries[4], entries[1], entries[0]} // newest first, tenant 1 only
	if len(got) != len(want) {
		t.Fatalf("tenant 1 audit = %+v", got)
	}
	for i := range want {
		if got[i].ID == 0 {
			t.Errorf("entry %d has no id", i)
		}
		got[i].ID = 0
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if two, err := s.ListAudit(adminCtx(t), 1, 2); err != nil || len(two) != 2 || two[0].Action != audit.TokenRevoke {
		t.Errorf("limit 2: %+v, %v", two, err)
	}
	if pl, err := s.ListPlatformAudit(adminCtx(t), 10); err != nil || len(pl) != 1 || pl[0].Target != "token:ppppppppp1" {
		t.Errorf("platform audit: %+v, %v", pl, err)
	}
	if none, err := s.ListAudit(adminCtx(t), 3, 10); err != nil || len(none) != 0 {
		t.Errorf("tenant 3 audit: %+v, %v", none, err)
	}
}
