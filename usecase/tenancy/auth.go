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
// Tokens and tenants are read through the cache (cache.go): a revocation or
// a disable made by another process takes effect at once with
// Invalidations, within CacheTTL without; one made through this Service at
// once. A store failure is an outage.ErrUnavailable (503), never a 401.
func (s *Service) Authenticate(ctx context.Context, raw string, need token.Scope) (Principal, error) {
	p, err := token.Parse(raw)
	if err != nil {
		return Principal{}, err
	}
	t, err := s.cachedToken(ctx, p.ID)
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
	s.touch(ctx, t)
	return Principal{TokenID: t.ID, TenantID: t.TenantID, TenantSlug: slug, SamplesPerMinute: t.RateLimit, Scopes: t.Scopes}, nil
}

// LimitsFor returns the sample limits for a tenant, its retention applied.
// A retention change takes effect as a disable does (see Authenticate).
func (s *Service) LimitsFor(ctx context.Context, tenantID int64) (metric.Limits, error) {
	t, err := s.tenant(ctx, tenantID)
	if err != nil {
		return metric.Limits{}, err
	}
	return s.limits.WithRetention(t.RetentionDays), nil
}

// nameTimeout bounds TenantName's lookup: it labels metrics, it must not
// hold a worker up.
const nameTimeout = time.Second

// TenantName is the slug of the tenant with the id, for metric labels; ""
// when it cannot be read right now.
func (s *Service) TenantName(id int64) string {
	ctx, cancel := context.WithTimeout(context.Background(), nameTimeout)
	defer cancel()
	t, err := s.tenant(ctx, id)
	if err != nil {
		return ""
	}
	return t.Slug
}

// touchTimeout bounds the last-used write, which runs beside the request.
const touchTimeout = 2 * time.Second

// touch records that the token was used, at most once a minute and never
// on the request's path: a slow or absent database must not delay ingest.
func (s *Service) touch(ctx context.Context, t token.Token) {
	now := s.now()
	if !t.LastUsedDue(now) {
		return
	}
	if _, busy := s.touching.LoadOrStore(t.ID, true); busy {
		return
	}
	// The cached copy shows the use at once, so later requests skip this.
	t.LastUsedAt = &now
	if e, ok := s.tokenCache.get(t.ID); ok && e.err == nil {
		e.val.LastUsedAt = &now
		s.tokenCache.put(t.ID, e)
	}
	go func() {
		defer s.touching.Delete(t.ID)
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), touchTimeout)
		defer cancel()
		_ = s.tokens.TouchToken(tctx, t.ID, now) // best effort
	}()
}
