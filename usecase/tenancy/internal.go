package tenancy

import (
	"context"
	"errors"
	"fmt"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/outage"
	"github.com/pulsemetrics/pulse/domain/tenant"
)

// InternalActor is who creates the internal tenant in the audit trail: Pulse itself.
var InternalActor = audit.Actor{ID: "pulse", RemoteAddr: "local"}

// InternalTenantID returns the id of the tenant Pulse records its own
// figures in (tenant.InternalSlug), creating it on first use. Whichever
// process needs it first creates it; when two replicas try at once, the
// store's unique slug lets one win and the other reads the winner's. The
// id is remembered (slugs never change), so later calls touch no store.
func (s *Service) InternalTenantID(ctx context.Context) (int64, error) {
	if id, ok := s.slugs.Load(tenant.InternalSlug); ok {
		return id.(int64), nil
	}
	t, err := s.tenants.TenantBySlug(ctx, tenant.InternalSlug)
	if errors.Is(err, tenant.ErrNotFound) {
		t, err = s.createInternal(ctx)
	}
	if err != nil {
		return 0, fmt.Errorf("internal tenant %s: %w", tenant.InternalSlug, outage.Unavailable("database", err))
	}
	s.slugs.Store(tenant.InternalSlug, t.ID)
	return t.ID, nil
}

func (s *Service) createInternal(ctx context.Context) (tenant.Tenant, error) {
	created, err := s.tenants.CreateTenant(ctx, tenant.Internal(s.now()))
	if errors.Is(err, tenant.ErrDuplicate) {
		return s.tenants.TenantBySlug(ctx, tenant.InternalSlug) // another process made it first
	}
	if err != nil {
		return tenant.Tenant{}, err
	}
	detail := fmt.Sprintf("name=%q retention_days=%d (Pulse's own figures)", created.Name, created.RetentionDays)
	if err := s.record(ctx, InternalActor, created.ID, audit.TenantCreate, "tenant:"+created.Slug, detail); err != nil {
		// The tenant exists and the next call finds it; the failure is the caller's to log.
		return tenant.Tenant{}, err
	}
	return created, nil
}
