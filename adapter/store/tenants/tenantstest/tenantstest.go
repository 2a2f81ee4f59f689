// Package tenantstest is the contract suite of adapter/store/tenants (the
// ports tenancy.Tenants, tenancy.Tokens and tenancy.Audit, and the admin
// API's listings). Run it against every dialect so SQLite and MariaDB
// behave the same.
package tenantstest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
)

func testTenants(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	a, err := tenant.New("acme", "Acme Inc", 90, sqldbtest.Base)
	if err != nil {
		t.Fatal(err)
	}
	created, err := s.CreateTenant(sqldbtest.Ctx(t), a)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.ID == 0 || created.Slug != "acme" || created.Name != "Acme Inc" || created.RetentionDays != 90 || !created.CreatedAt.Equal(sqldbtest.Base) {
		t.Fatalf("created = %+v", created)
	}
	if _, err := s.CreateTenant(sqldbtest.Ctx(t), a); !errors.Is(err, tenant.ErrDuplicate) {
		t.Fatalf("duplicate slug: err = %v, want tenant.ErrDuplicate", err)
	}
	bySlug, err := s.TenantBySlug(sqldbtest.Ctx(t), "acme")
	if err != nil || bySlug != created {
		t.Fatalf("TenantBySlug = %+v, %v; want %+v", bySlug, err, created)
	}
	byID, err := s.TenantByID(sqldbtest.Ctx(t), created.ID)
	if err != nil || byID != created {
		t.Fatalf("TenantByID = %+v, %v; want %+v", byID, err, created)
	}
	if _, err := s.TenantBySlug(sqldbtest.Ctx(t), "nope"); !errors.Is(err, tenant.ErrNotFound) {
		t.Fatalf("unknown slug: err = %v", err)
	}
	if _, err := s.TenantByID(sqldbtest.Ctx(t), created.ID+1000); !errors.Is(err, tenant.ErrNotFound) {
		t.Fatalf("unknown id: err = %v", err)
	}
	second := sqldbtest.MkTenant(t, s, "globex")
	list, err := s.ListTenants(sqldbtest.Ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != created.ID || list[1].ID != second || list[1].Slug != "globex" {
		t.Fatalf("ListTenants = %+v", list)
	}
}

func testTokens(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "acme")
	var hash [32]byte
	for i := range hash {
		hash[i] = byte(i * 7)
	}
	tok := token.Token{ID: "abcdefghij", TenantID: tid, Name: "ci", Scopes: []token.Scope{token.ScopeIngest, token.ScopeRead}, SecretHash: hash, CreatedAt: sqldbtest.Base}
	if err := s.CreateToken(sqldbtest.Ctx(t), tok); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	got, err := s.TokenByID(sqldbtest.Ctx(t), tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != tok.ID || got.TenantID != tid || got.Name != "ci" || got.SecretHash != hash || !got.CreatedAt.Equal(sqldbtest.Base) ||
		fmt.Sprint(got.Scopes) != fmt.Sprint(tok.Scopes) || got.RevokedAt != nil || got.LastUsedAt != nil {
		t.Fatalf("TokenByID = %+v, want %+v", got, tok)
	}
	used := sqldbtest.Base.Add(time.Minute + 123*time.Millisecond)
	if err := s.TouchToken(sqldbtest.Ctx(t), tok.ID, used); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchToken(sqldbtest.Ctx(t), tok.ID, used); err != nil { // same time again: still fine
		t.Fatal(err)
	}
	revoked := sqldbtest.Base.Add(time.Hour)
	if err := s.RevokeToken(sqldbtest.Ctx(t), tok.ID, revoked); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(sqldbtest.Ctx(t), tok.ID, revoked.Add(time.Hour)); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	got, err = s.TokenByID(sqldbtest.Ctx(t), tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) || got.RevokedAt == nil || !got.RevokedAt.Equal(revoked) {
		t.Fatalf("after touch+revoke: last_used=%v revoked=%v", got.LastUsedAt, got.RevokedAt)
	}
	for name, err := range map[string]error{
		"get":    func() error { _, err := s.TokenByID(sqldbtest.Ctx(t), "zzzzzzzzzz"); return err }(),
		"revoke": s.RevokeToken(sqldbtest.Ctx(t), "zzzzzzzzzz", sqldbtest.Base),
		"touch":  s.TouchToken(sqldbtest.Ctx(t), "zzzzzzzzzz", sqldbtest.Base),
	} {
		if !errors.Is(err, token.ErrNotFound) {
			t.Errorf("%s unknown token: err = %v, want token.ErrNotFound", name, err)
		}
	}
	// A platform token has no tenant.
	admin := token.Token{ID: "adminadmin", Name: "root", Scopes: []token.Scope{token.ScopeAdmin}, SecretHash: hash, CreatedAt: sqldbtest.Base}
	if err := s.CreateToken(sqldbtest.Ctx(t), admin); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TokenByID(sqldbtest.Ctx(t), admin.ID); err != nil || got.TenantID != 0 || !got.Has(token.ScopeAdmin) {
		t.Fatalf("admin token = %+v, %v", got, err)
	}
}
