package tenancy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
)

type remoteAddrKey struct{}

// WithRemoteAddr tells Authenticate where the request comes from, for the
// audit record of a refused cross-tenant attempt.
func WithRemoteAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, remoteAddrKey{}, addr)
}

func remoteAddrFrom(ctx context.Context) string {
	addr, _ := ctx.Value(remoteAddrKey{}).(string)
	return addr
}

// Authenticate checks a presented token for a scope; token.ScopePlatform is
// met only by a platform token, which meets nothing else. Failures:
// token.ErrUnauthenticated (401: malformed, unknown, revoked, wrong
// secret), an error matching both tenant.ErrDisabled and token.ErrForbidden
// (the token's tenant is disabled), token.ErrForbidden (valid token lacking
// the scope); anything else is a storage failure. A tenant token refused on
// the platform API is audited as a cross-tenant attempt.
//
// A tenant's disabled flag is read through the tenant cache: a disable made
// by another process (the CLI, another API replica) takes effect within
// tenantTTL (30 s); one made through this Service at once.
func (s *Service) Authenticate(ctx context.Context, raw string, need token.Scope) (Principal, error) {
	p, err := token.Parse(raw)
	if err != nil {
		return Principal{}, err
	}
	t, err := s.tokens.TokenByID(ctx, p.ID)
	if errors.Is(err, token.ErrNotFound) {
		return Principal{}, token.ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up token %s: %w", p.ID, err)
	}
	checkErr := token.Check(t, p, need)
	if errors.Is(checkErr, token.ErrUnauthenticated) {
		return Principal{}, checkErr
	}
	var slug string
	if t.TenantID != 0 {
		ten, err := s.tenant(ctx, t.TenantID)
		if errors.Is(err, tenant.ErrNotFound) {
			return Principal{}, token.ErrUnauthenticated
		}
		if err != nil {
			return Principal{}, err
		}
		if ten.Disabled {
			return Principal{}, fmt.Errorf("tenant %s: %w (%w)", ten.Slug, tenant.ErrDisabled, token.ErrForbidden)
		}
		slug = ten.Slug
	}
	if checkErr != nil {
		if need == token.ScopePlatform && t.TenantID != 0 {
			actor := audit.Actor{ID: t.ID, TenantID: t.TenantID, RemoteAddr: remoteAddrFrom(ctx)}
			if err := s.record(ctx, actor, t.TenantID, audit.CrossTenantDenied, "platform:admin-api", "a tenant token was presented to the platform admin API"); err != nil {
				return Principal{}, err
			}
		}
		return Principal{}, checkErr
	}
	now := s.now()
	if t.LastUsedDue(now) {
		// Best effort: a failed touch must not fail the request.
		_ = s.tokens.TouchToken(ctx, t.ID, now)
	}
	return Principal{TokenID: t.ID, TenantID: t.TenantID, TenantSlug: slug, SamplesPerMinute: t.RateLimit, Scopes: t.Scopes}, nil
}

// tenantTTL bounds how long a tenant read from the store is reused (its
// retention for LimitsFor, its disabled flag for Authenticate): both are
// asked on every request, changes are rare. A change made through this
// Service drops the entry at once.
const tenantTTL = 30 * time.Second

type cachedTenant struct {
	tenant  tenant.Tenant
	fetched time.Time
}

// tenant returns the tenant with the id, from the cache when fresh.
// Errors are not cached.
func (s *Service) tenant(ctx context.Context, id int64) (tenant.Tenant, error) {
	now := s.now()
	if c, ok := s.tenantCache.Load(id); ok {
		if ct := c.(cachedTenant); now.Sub(ct.fetched) < tenantTTL {
			return ct.tenant, nil
		}
	}
	t, err := s.tenants.TenantByID(ctx, id)
	if err != nil {
		return tenant.Tenant{}, fmt.Errorf("tenant %d: %w", id, err)
	}
	s.tenantCache.Store(id, cachedTenant{tenant: t, fetched: now})
	return t, nil
}

// LimitsFor returns the sample limits for a tenant, its retention applied.
// A retention change takes effect within tenantTTL.
func (s *Service) LimitsFor(ctx context.Context, tenantID int64) (metric.Limits, error) {
	t, err := s.tenant(ctx, tenantID)
	if err != nil {
		return metric.Limits{}, err
	}
	return s.limits.WithRetention(t.RetentionDays), nil
}
