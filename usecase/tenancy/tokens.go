package tenancy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
)

// CreateToken issues a token for the tenant with the given slug (CLI).
func (s *Service) CreateToken(ctx context.Context, actor audit.Actor, tenantSlug string, spec token.Spec) (token.Issued, error) {
	if err := spec.Validate(); err != nil {
		return token.Issued{}, err
	}
	if tenant.IsReserved(tenantSlug) && slices.Contains(spec.Scopes, token.ScopeIngest) {
		// Only Pulse writes its own figures: a token could forge them.
		return token.Issued{}, &token.InvalidError{Field: "scopes", Message: "Pulse's internal tenant takes no ingest tokens"}
	}
	t, err := s.tenants.TenantBySlug(ctx, tenantSlug)
	if err != nil {
		return token.Issued{}, fmt.Errorf("tenant %s: %w", tenantSlug, err)
	}
	return s.issue(ctx, actor, t.ID, spec)
}

// CreateTenantToken issues a token for the tenant with the id: a tenant
// admin token manages its own tenant's tokens only, so the caller passes
// the principal's tenant, and may only lower a token's quota below the
// platform's default (WithDefaultQuota).
func (s *Service) CreateTenantToken(ctx context.Context, actor audit.Actor, tenantID int64, spec token.Spec) (token.Issued, error) {
	if tenantID == 0 {
		return token.Issued{}, &token.InvalidError{Field: "tenant", Message: "a tenant token needs a tenant"}
	}
	if err := spec.ValidateForTenantAdmin(s.defaultQuota); err != nil {
		return token.Issued{}, err
	}
	return s.issue(ctx, actor, tenantID, spec)
}

// CreatePlatformToken issues a platform-admin token: bound to no tenant,
// scope admin only, usable on the platform admin API only.
func (s *Service) CreatePlatformToken(ctx context.Context, actor audit.Actor, name string) (token.Issued, error) {
	spec := token.Spec{Name: name, Scopes: []token.Scope{token.ScopeAdmin}}
	if err := spec.Validate(); err != nil {
		return token.Issued{}, err
	}
	return s.issue(ctx, actor, 0, spec)
}

func (s *Service) issue(ctx context.Context, actor audit.Actor, tenantID int64, spec token.Spec) (token.Issued, error) {
	issued, err := token.Issue(s.random, tenantID, spec.Name, spec.Scopes, s.now())
	if err != nil {
		return token.Issued{}, err
	}
	issued.Token.RateLimit = spec.RateLimit
	if err := s.tokens.CreateToken(ctx, issued.Token); err != nil {
		return token.Issued{}, fmt.Errorf("store token for tenant %d: %w", tenantID, err)
	}
	detail := fmt.Sprintf("name=%q scopes=%s rate_limit=%d", spec.Name, joinScopes(spec.Scopes), spec.RateLimit)
	if err := s.record(ctx, actor, tenantID, audit.TokenCreate, "token:"+issued.Token.ID, detail); err != nil {
		// Fail closed: no usable token exists without its audit record.
		_ = s.tokens.RevokeToken(ctx, issued.Token.ID, s.now())
		return token.Issued{}, fmt.Errorf("token %s not issued: %w", issued.Token.ID, err)
	}
	if err := s.provision(ctx, issued); err != nil {
		// Fail closed as well: a token the broker does not know is revoked.
		_ = s.tokens.RevokeToken(ctx, issued.Token.ID, s.now())
		return token.Issued{}, fmt.Errorf("token %s not issued: %w", issued.Token.ID, err)
	}
	return issued, nil
}

// ListTokens lists at most limit tokens of the tenant with an id above
// afterID. The hashes are never returned.
func (s *Service) ListTokens(ctx context.Context, tenantID int64, afterID string, limit int) ([]token.Token, error) {
	ts, err := s.tokens.ListTokens(ctx, tenantID, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("list tokens of tenant %d: %w", tenantID, err)
	}
	for i := range ts {
		ts[i].SecretHash = [32]byte{}
	}
	return ts, nil
}

// ListTokensOf lists the tokens of the tenant with the slug, as ListTokens
// (the CLI, which acts for the platform; a disabled tenant's too).
func (s *Service) ListTokensOf(ctx context.Context, slug, afterID string, limit int) ([]token.Token, error) {
	t, err := s.tenants.TenantBySlug(ctx, slug)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", slug, err)
	}
	return s.ListTokens(ctx, t.ID, afterID, limit)
}

// RevokeToken revokes any token by its public id ("pulse_<id>" is accepted
// too): the CLI, which acts for the platform.
func (s *Service) RevokeToken(ctx context.Context, actor audit.Actor, id string) error {
	id = strings.TrimPrefix(id, "pulse_")
	if !token.ValidID(id) {
		return fmt.Errorf("revoke %q: %w", id, token.ErrNotFound)
	}
	t, err := s.tokens.TokenByID(ctx, id)
	if err != nil {
		return fmt.Errorf("revoke %s: %w", id, err)
	}
	if err := s.tokens.RevokeToken(ctx, id, s.now()); err != nil {
		return fmt.Errorf("revoke %s: %w", id, err)
	}
	s.changed(ctx, Invalidation{TokenID: id})
	if err := s.record(ctx, actor, t.TenantID, audit.TokenRevoke, "token:"+id, ""); err != nil {
		return err
	}
	return s.unprovision(ctx, id)
}

// RevokeTenantToken revokes a token of the tenant. A token of another
// tenant is reported as token.ErrNotFound, exactly like an unknown one, and
// the attempt is audited as a refused cross-tenant attempt.
func (s *Service) RevokeTenantToken(ctx context.Context, actor audit.Actor, tenantID int64, id string) error {
	id = strings.TrimPrefix(id, "pulse_")
	if !token.ValidID(id) {
		return fmt.Errorf("revoke %q: %w", id, token.ErrNotFound)
	}
	t, err := s.tokens.TokenByID(ctx, id)
	if err != nil {
		return fmt.Errorf("revoke %s: %w", id, err)
	}
	if t.TenantID != tenantID {
		if err := s.record(ctx, actor, tenantID, audit.CrossTenantDenied, "token:"+id, "revoke refused: the token belongs to another tenant"); err != nil {
			return err
		}
		return fmt.Errorf("revoke %s: %w", id, token.ErrNotFound)
	}
	if err := s.tokens.RevokeTenantToken(ctx, tenantID, id, s.now()); err != nil {
		return fmt.Errorf("revoke %s: %w", id, err)
	}
	s.changed(ctx, Invalidation{TokenID: id})
	if err := s.record(ctx, actor, tenantID, audit.TokenRevoke, "token:"+id, ""); err != nil {
		return err
	}
	return s.unprovision(ctx, id)
}

func joinScopes(sc []token.Scope) string {
	parts := make([]string, len(sc))
	for i, v := range sc {
		parts[i] = string(v)
	}
	return strings.Join(parts, ",")
}

// WithDefaultQuota tells the Service the platform's default quota in
// samples per minute (0 = unlimited), the most a tenant admin may give a
// token.
func (s *Service) WithDefaultQuota(samplesPerMinute int64) *Service {
	s.defaultQuota = samplesPerMinute
	return s
}
