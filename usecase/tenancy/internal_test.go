package tenancy_test

import (
	"errors"
	"testing"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/outage"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
)

// The first call creates the internal tenant (audited as Pulse); later
// calls answer from memory without asking the store.
func TestInternalTenantCreatedOnce(t *testing.T) {
	f := newFixture(t)
	want := tenant.Internal(now)
	stored := want
	stored.ID = 11
	f.tenants.EXPECT().TenantBySlug(ctx, tenant.InternalSlug).Return(tenant.Tenant{}, tenant.ErrNotFound).Times(1)
	f.tenants.EXPECT().CreateTenant(ctx, want).Return(stored, nil).Times(1)
	f.expectAudit(audit.Entry{At: now, Actor: "pulse", TenantID: 11, Action: audit.TenantCreate, Target: "tenant:_pulse", RemoteAddr: "local"}, nil)
	for range 3 {
		id, err := f.svc.InternalTenantID(ctx)
		if err != nil || id != 11 {
			t.Fatalf("InternalTenantID = %d, %v; want 11", id, err)
		}
	}
}

// Two replicas race: the loser's create is a duplicate, and it reads the
// winner's tenant instead of failing.
func TestInternalTenantRaceReadsTheWinner(t *testing.T) {
	f := newFixture(t)
	winner := tenant.Internal(now)
	winner.ID = 4
	gomock.InOrder(
		f.tenants.EXPECT().TenantBySlug(ctx, tenant.InternalSlug).Return(tenant.Tenant{}, tenant.ErrNotFound),
		f.tenants.EXPECT().CreateTenant(ctx, tenant.Internal(now)).Return(tenant.Tenant{}, tenant.ErrDuplicate),
		f.tenants.EXPECT().TenantBySlug(ctx, tenant.InternalSlug).Return(winner, nil),
	)
	id, err := f.svc.InternalTenantID(ctx)
	if err != nil || id != 4 {
		t.Fatalf("InternalTenantID = %d, %v; want the winner's 4", id, err)
	}
}

// An existing tenant is read, not created again; a failing store is an
// outage (retry later), and is not remembered.
func TestInternalTenantExistingAndOutage(t *testing.T) {
	f := newFixture(t)
	down := errors.New("connection refused")
	existing := tenant.Internal(now)
	existing.ID = 2
	gomock.InOrder(
		f.tenants.EXPECT().TenantBySlug(ctx, tenant.InternalSlug).Return(tenant.Tenant{}, down),
		f.tenants.EXPECT().TenantBySlug(ctx, tenant.InternalSlug).Return(existing, nil),
	)
	if _, err := f.svc.InternalTenantID(ctx); !errors.Is(err, outage.ErrUnavailable) {
		t.Fatalf("with the store down: %v, want outage.ErrUnavailable", err)
	}
	if id, err := f.svc.InternalTenantID(ctx); err != nil || id != 2 {
		t.Fatalf("once it answers: %d, %v; want 2", id, err)
	}
}

// Only Pulse writes into its tenant: the CLI refuses an ingest token for
// it (a read token, e.g. for an outside dashboard, is fine).
func TestNoIngestTokenForTheInternalTenant(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.CreateToken(ctx, cli, tenant.InternalSlug, token.Spec{Name: "x", Scopes: []token.Scope{token.ScopeIngest}})
	var ie *token.InvalidError
	if !errors.As(err, &ie) || ie.Field != "scopes" {
		t.Fatalf("CreateToken(ingest) = %v, want a scopes error", err)
	}
}
