// Package tenancy manages tenants and API tokens, authenticates requests and
// keeps the audit trail of every administrative change and every refused
// cross-tenant attempt.
package tenancy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/outage"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
)

//go:generate go tool mockgen -destination=mock_ports_test.go -package=tenancy_test . Tenants,Tokens,Audit,BrokerAccounts

// Tenants stores tenants. Implementations must be safe for concurrent use.
type Tenants interface {
	CreateTenant(ctx context.Context, t tenant.Tenant) (tenant.Tenant, error)
	TenantBySlug(ctx context.Context, slug string) (tenant.Tenant, error)
	TenantByID(ctx context.Context, id int64) (tenant.Tenant, error)
	ListTenants(ctx context.Context) ([]tenant.Tenant, error)
	// ListTenantsAfter returns at most limit tenants with an id above
	// afterID, ordered by id.
	ListTenantsAfter(ctx context.Context, afterID int64, limit int) ([]tenant.Tenant, error)
	// UpdateTenant writes t's retention and disabled flag to the tenant with
	// t.ID; an unknown id is tenant.ErrNotFound.
	UpdateTenant(ctx context.Context, t tenant.Tenant) error
}

// Tokens stores API tokens (hashes only). Implementations must be safe for
// concurrent use.
type Tokens interface {
	CreateToken(ctx context.Context, t token.Token) error
	TokenByID(ctx context.Context, id string) (token.Token, error)
	RevokeToken(ctx context.Context, id string, at time.Time) error
	TouchToken(ctx context.Context, id string, at time.Time) error
	// ListTokens returns at most limit tokens of the tenant (a tenant id is
	// required) with an id above afterID, ordered by id, without their hashes.
	ListTokens(ctx context.Context, tenantID int64, afterID string, limit int) ([]token.Token, error)
	// RevokeTenantToken revokes the token only if it belongs to the tenant;
	// otherwise it is token.ErrNotFound.
	RevokeTenantToken(ctx context.Context, tenantID int64, id string, at time.Time) error
}

// Audit records audit entries. Record must be durable when it returns nil
// and safe for concurrent use.
type Audit interface {
	Record(ctx context.Context, e audit.Entry) error
}

// AuditFunc adapts a function to the Audit port.
type AuditFunc func(ctx context.Context, e audit.Entry) error

// Record calls f.
func (f AuditFunc) Record(ctx context.Context, e audit.Entry) error { return f(ctx, e) }

// Principal is who a request acts as.
type Principal struct {
	TokenID  string
	TenantID int64 // 0 for a platform-admin token
	// TenantSlug names the tenant in MQTT topics ("" for a platform token).
	TenantSlug string
	// SamplesPerMinute is the token's own quota (0 = the server default).
	SamplesPerMinute int64
	// Scopes are the token's scopes, for doors that check more than one
	// operation per connection (MQTT: publish needs ingest, subscribe read).
	Scopes []token.Scope
}

// Can reports whether the principal's token carries the scope.
func (p Principal) Can(s token.Scope) bool {
	for _, have := range p.Scopes {
		if have == s {
			return true
		}
	}
	return false
}

// Service is the tenancy use case. It is safe for concurrent use.
type Service struct {
	tenants     Tenants
	tokens      Tokens
	audit       Audit
	random      io.Reader
	now         func() time.Time
	limits      metric.Limits
	tokenCache  boundedCache[string, token.Token] // see cache.go
	tenantCache boundedCache[int64, tenant.Tenant]
	slugs       sync.Map       // slug → tenant id (slugs never change)
	touching    sync.Map       // token id → true while its last-used write runs
	inval       Invalidations  // nil: no other process to tell
	broker      BrokerAccounts // nil: no external MQTT broker to keep in step
	// defaultQuota is the platform's default samples per minute (0 = unlimited).
	defaultQuota int64
}

// NewService returns the tenancy use case. random feeds token generation
// (crypto/rand.Reader in production); base are the sample limits before
// retention; every change and refused cross-tenant attempt goes to audit.
func NewService(tenants Tenants, tokens Tokens, audit Audit, random io.Reader, now func() time.Time, base metric.Limits) *Service {
	return &Service{tenants: tenants, tokens: tokens, audit: audit, random: random, now: now, limits: base}
}

// record writes an audit entry; a failure is returned with what was done.
func (s *Service) record(ctx context.Context, actor audit.Actor, tenantID int64, action audit.Action, target, detail string) error {
	if err := s.audit.Record(ctx, audit.NewEntry(s.now(), actor, tenantID, action, target, detail)); err != nil {
		return fmt.Errorf("audit %s %s: %w", action, target, err)
	}
	return nil
}

// CreateTenant validates and stores a tenant, and audits it.
func (s *Service) CreateTenant(ctx context.Context, actor audit.Actor, slug, name string, retentionDays int) (tenant.Tenant, error) {
	t, err := tenant.New(slug, name, retentionDays, s.now())
	if err != nil {
		return tenant.Tenant{}, err
	}
	created, err := s.tenants.CreateTenant(ctx, t)
	if err != nil {
		return tenant.Tenant{}, fmt.Errorf("create tenant %s: %w", slug, err)
	}
	detail := fmt.Sprintf("name=%q retention_days=%d", created.Name, created.RetentionDays)
	if err := s.record(ctx, actor, created.ID, audit.TenantCreate, "tenant:"+slug, detail); err != nil {
		return tenant.Tenant{}, fmt.Errorf("tenant %s created: %w", slug, err)
	}
	return created, nil
}

// ListTenants lists all tenants (platform admin only).
func (s *Service) ListTenants(ctx context.Context) ([]tenant.Tenant, error) {
	return s.tenants.ListTenants(ctx)
}

// ListTenantsAfter lists at most limit tenants with an id above afterID
// (platform admin only).
func (s *Service) ListTenantsAfter(ctx context.Context, afterID int64, limit int) ([]tenant.Tenant, error) {
	ts, err := s.tenants.ListTenantsAfter(ctx, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("list tenants after %d: %w", afterID, err)
	}
	return ts, nil
}

// UpdateTenant changes a tenant's retention and/or disabled flag (nil =
// unchanged) and audits it. The change applies at once in this process and
// within tenantTTL in every other one (see Authenticate, LimitsFor).
func (s *Service) UpdateTenant(ctx context.Context, actor audit.Actor, slug string, retentionDays *int, disabled *bool) (tenant.Tenant, error) {
	t, err := s.tenants.TenantBySlug(ctx, slug)
	if err != nil {
		return tenant.Tenant{}, fmt.Errorf("tenant %s: %w", slug, err)
	}
	updated, err := t.Update(retentionDays, disabled)
	if err != nil {
		return tenant.Tenant{}, err
	}
	if err := s.tenants.UpdateTenant(ctx, updated); err != nil {
		return tenant.Tenant{}, fmt.Errorf("update tenant %s: %w", slug, err)
	}
	s.changed(ctx, Invalidation{TenantID: updated.ID})
	var changes []string
	if retentionDays != nil {
		changes = append(changes, "retention_days="+strconv.Itoa(updated.RetentionDays))
	}
	if disabled != nil {
		changes = append(changes, "disabled="+strconv.FormatBool(updated.Disabled))
	}
	if err := s.record(ctx, actor, updated.ID, audit.TenantUpdate, "tenant:"+slug, strings.Join(changes, " ")); err != nil {
		return tenant.Tenant{}, fmt.Errorf("tenant %s updated: %w", slug, err)
	}
	if disabled != nil {
		if err := s.setBrokerTenant(ctx, slug, !updated.Disabled); err != nil {
			return updated, err
		}
	}
	return updated, nil
}

// TenantIDBySlug resolves a tenant named in an MQTT topic. An unknown slug
// wraps tenant.ErrNotFound; a disabled tenant wraps both tenant.ErrDisabled
// and tenant.ErrNotFound (its messages are refused like an unknown tenant's).
func (s *Service) TenantIDBySlug(ctx context.Context, slug string) (int64, error) {
	id, ok := s.slugs.Load(slug)
	if !ok {
		t, err := s.tenants.TenantBySlug(ctx, slug)
		if errors.Is(err, tenant.ErrNotFound) {
			return 0, fmt.Errorf("tenant %s: %w", slug, err)
		}
		if err != nil {
			return 0, fmt.Errorf("tenant %s: %w", slug, outage.Unavailable("database", err))
		}
		id = t.ID
		s.slugs.Store(slug, t.ID)
	}
	t, err := s.tenant(ctx, id.(int64))
	if err != nil {
		return 0, fmt.Errorf("tenant %s: %w", slug, err)
	}
	if t.Disabled {
		return 0, fmt.Errorf("tenant %s: %w (%w)", slug, tenant.ErrDisabled, tenant.ErrNotFound)
	}
	return t.ID, nil
}
