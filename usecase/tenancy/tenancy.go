// Package tenancy manages tenants and API tokens and authenticates requests.
package tenancy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
)

//go:generate go tool mockgen -destination=mock_ports_test.go -package=tenancy_test . Tenants,Tokens

// Tenants stores tenants.
type Tenants interface {
	CreateTenant(ctx context.Context, t tenant.Tenant) (tenant.Tenant, error)
	TenantBySlug(ctx context.Context, slug string) (tenant.Tenant, error)
	TenantByID(ctx context.Context, id int64) (tenant.Tenant, error)
	ListTenants(ctx context.Context) ([]tenant.Tenant, error)
}

// Tokens stores API tokens (hashes only).
type Tokens interface {
	CreateToken(ctx context.Context, t token.Token) error
	TokenByID(ctx context.Context, id string) (token.Token, error)
	RevokeToken(ctx context.Context, id string, at time.Time) error
	TouchToken(ctx context.Context, id string, at time.Time) error
}

// Principal is who a request acts as.
type Principal struct {
	TokenID  string
	TenantID int64 // 0 for a platform-admin token
	// SamplesPerMinute is the token's own quota (0 = the server default).
	SamplesPerMinute int64
}

// Service is the tenancy use case.
type Service struct {
	tenants Tenants
	tokens  Tokens
	random  io.Reader
	now     func() time.Time
	limits  metric.Limits
	// limitCache maps tenant id → cachedLimits.
	limitCache sync.Map
}

// NewService returns the tenancy use case. random feeds token generation
// (crypto/rand.Reader in production); base are the sample limits before retention.
func NewService(tenants Tenants, tokens Tokens, random io.Reader, now func() time.Time, base metric.Limits) *Service {
	return &Service{tenants: tenants, tokens: tokens, random: random, now: now, limits: base}
}

// CreateTenant validates and stores a tenant.
func (s *Service) CreateTenant(ctx context.Context, slug, name string, retentionDays int) (tenant.Tenant, error) {
	t, err := tenant.New(slug, name, retentionDays, s.now())
	if err != nil {
		return tenant.Tenant{}, err
	}
	created, err := s.tenants.CreateTenant(ctx, t)
	if err != nil {
		return tenant.Tenant{}, fmt.Errorf("create tenant %s: %w", slug, err)
	}
	return created, nil
}

// ListTenants lists all tenants (platform admin only).
func (s *Service) ListTenants(ctx context.Context) ([]tenant.Tenant, error) {
	return s.tenants.ListTenants(ctx)
}

// CreateToken issues a token for the tenant with the given slug.
func (s *Service) CreateToken(ctx context.Context, tenantSlug, name string, scopes []token.Scope) (token.Issued, error) {
	if len(scopes) == 0 {
		return token.Issued{}, &tenant.InvalidError{Field: "scopes", Message: "at least one scope (ingest, read, admin) is required"}
	}
	t, err := s.tenants.TenantBySlug(ctx, tenantSlug)
	if err != nil {
		return token.Issued{}, fmt.Errorf("tenant %s: %w", tenantSlug, err)
	}
	issued, err := token.Issue(s.random, t.ID, name, scopes, s.now())
	if err != nil {
		return token.Issued{}, err
	}
	if err := s.tokens.CreateToken(ctx, issued.Token); err != nil {
		return token.Issued{}, fmt.Errorf("store token for %s: %w", tenantSlug, err)
	}
	return issued, nil
}

// RevokeToken revokes a token by its public id ("pulse_<id>" is accepted too).
func (s *Service) RevokeToken(ctx context.Context, id string) error {
	if len(id) > 6 && id[:6] == "pulse_" {
		id = id[6:]
	}
	if !token.ValidID(id) {
		return fmt.Errorf("revoke %q: %w", id, token.ErrNotFound)
	}
	if err := s.tokens.RevokeToken(ctx, id, s.now()); err != nil {
		return fmt.Errorf("revoke %s: %w", id, err)
	}
	return nil
}

// Authenticate checks a presented token for a scope. Any failure short of a
// storage error is token.ErrUnauthenticated or token.ErrForbidden.
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
	if err := token.Check(t, p, need); err != nil {
		return Principal{}, err
	}
	now := s.now()
	if t.LastUsedDue(now) {
		// Best effort: a failed touch must not fail the request.
		_ = s.tokens.TouchToken(ctx, t.ID, now)
	}
	return Principal{TokenID: t.ID, TenantID: t.TenantID, SamplesPerMinute: t.RateLimit}, nil
}

// limitsTTL bounds how long a tenant's limits are reused before being read
// again: ingest asks on every request, retention changes are rare.
const limitsTTL = 30 * time.Second

type cachedLimits struct {
	limits  metric.Limits
	fetched time.Time
}

// LimitsFor returns the sample limits for a tenant, its retention applied.
// A retention change takes effect within limitsTTL.
func (s *Service) LimitsFor(ctx context.Context, tenantID int64) (metric.Limits, error) {
	now := s.now()
	if c, ok := s.limitCache.Load(tenantID); ok {
		if cl := c.(cachedLimits); now.Sub(cl.fetched) < limitsTTL {
			return cl.limits, nil
		}
	}
	t, err := s.tenants.TenantByID(ctx, tenantID)
	if err != nil {
		return metric.Limits{}, fmt.Errorf("tenant %d: %w", tenantID, err)
	}
	lim := s.limits.WithRetention(t.RetentionDays)
	s.limitCache.Store(tenantID, cachedLimits{limits: lim, fetched: now})
	return lim, nil
}
