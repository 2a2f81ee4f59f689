package tenants

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"

	sq "github.com/Masterminds/squirrel"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
)

// UpdateTenant writes t's retention and disabled flag to the tenant with
// t.ID (slug, name and creation time never change); an unknown id is
// tenant.ErrNotFound.
func (s *Store) UpdateTenant(ctx context.Context, t tenant.Tenant) error {
	disabled := 0
	if t.Disabled {
		disabled = 1
	}
	res, err := s.db.SB.Update("tenants").
		Set("retention_days", t.RetentionDays).Set("disabled", disabled).
		Where(sq.Eq{"id": t.ID}).RunWith(s.db.Write).ExecContext(ctx)
	if err != nil {
		return fmt.Errorf("update tenant %d: %w", t.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update tenant %d: %w", t.ID, err)
	}
	if n == 0 {
		// MariaDB counts changed rows only: check that the tenant exists.
		if _, err := s.TenantByID(ctx, t.ID); err != nil {
			return fmt.Errorf("update tenant: %w", err)
		}
	}
	return nil
}

// ListTenantsAfter returns at most limit tenants with an id above afterID,
// ordered by id.
func (s *Store) ListTenantsAfter(ctx context.Context, afterID int64, limit int) ([]tenant.Tenant, error) {
	rows, err := s.db.SB.Select(tenantColumns...).From("tenants").
		Where(sq.Gt{"id": afterID}).OrderBy("id").Limit(uint64(max(limit, 0))).
		RunWith(s.db.Read).QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list tenants after %d: %w", afterID, err)
	}
	defer rows.Close()
	var out []tenant.Tenant
	for rows.Next() {
		var r tenantRow
		if err := rows.Scan(&r.ID, &r.Slug, &r.Name, &r.RetentionDays, &r.CreatedAt, &r.Disabled); err != nil {
			return nil, fmt.Errorf("list tenants after %d: %w", afterID, err)
		}
		out = append(out, r.toDomain())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tenants after %d: %w", afterID, err)
	}
	return out, nil
}

// tokenOwner restricts a query on api_tokens to the tokens of one tenant,
// or with tenantID 0 to the platform's tokens (stored with a NULL tenant).
// Only the platform methods below pass 0; every tenant method has checked
// its tenant with requireTenant first.
func tokenOwner(tenantID int64) sq.Sqlizer {
	if tenantID == 0 {
		return sq.Eq{"tenant_id": nil}
	}
	return sq.Eq{"tenant_id": tenantID}
}

// ListTokens returns at most limit tokens of the tenant with an id above
// afterID, ordered by id. The hash is not read: SecretHash is zero in the
// result. A missing tenant is sqldb.ErrTenantRequired (platform tokens:
// ListPlatformTokens).
func (s *Store) ListTokens(ctx context.Context, tenantID int64, afterID string, limit int) ([]token.Token, error) {
	if err := sqldb.RequireTenant("list tokens", tenantID); err != nil {
		return nil, err
	}
	return s.listTokens(ctx, tenantID, afterID, limit)
}

// ListPlatformTokens is ListTokens for the platform-admin tokens (bound to
// no tenant).
func (s *Store) ListPlatformTokens(ctx context.Context, afterID string, limit int) ([]token.Token, error) {
	return s.listTokens(ctx, 0, afterID, limit)
}

func (s *Store) listTokens(ctx context.Context, tenantID int64, afterID string, limit int) ([]token.Token, error) {
	rows, err := s.db.SB.Select("id", "tenant_id", "name", "scopes", "created_at", "revoked_at", "last_used_at", "rate_limit").
		From("api_tokens").Where(tokenOwner(tenantID)).Where(sq.Gt{"id": afterID}).
		OrderBy("id").Limit(uint64(max(limit, 0))).
		RunWith(s.db.Read).QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list tokens of tenant %d: %w", tenantID, err)
	}
	defer rows.Close()
	var out []token.Token
	for rows.Next() {
		var r tokenRow
		if err := rows.Scan(&r.ID, &r.TenantID, &r.Name, &r.Scopes, &r.CreatedAt, &r.RevokedAt, &r.LastUsedAt, &r.RateLimit); err != nil {
			return nil, fmt.Errorf("list tokens of tenant %d: %w", tenantID, err)
		}
		r.SecretHash = make([]byte, 32) // not read; toDomain wants its size
		t, err := r.toDomain()
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens of tenant %d: %w", tenantID, err)
	}
	return out, nil
}

// RevokeTenantToken marks the token revoked at the given time (the first
// revocation time is kept) only if it belongs to the tenant; otherwise, as
// for an unknown id, it is token.ErrNotFound. A missing tenant is
// sqldb.ErrTenantRequired (platform tokens: RevokePlatformToken).
func (s *Store) RevokeTenantToken(ctx context.Context, tenantID int64, id string, at time.Time) error {
	if err := sqldb.RequireTenant("revoke token "+id, tenantID); err != nil {
		return err
	}
	return s.revokeOwnedToken(ctx, tenantID, id, at)
}

// RevokePlatformToken is RevokeTenantToken for a platform-admin token: a
// tenant's token is token.ErrNotFound.
func (s *Store) RevokePlatformToken(ctx context.Context, id string, at time.Time) error {
	return s.revokeOwnedToken(ctx, 0, id, at)
}

func (s *Store) revokeOwnedToken(ctx context.Context, tenantID int64, id string, at time.Time) error {
	res, err := s.db.SB.Update("api_tokens").
		Set("revoked_at", sq.Expr("COALESCE(revoked_at, ?)", sqldb.Millis(at))).
		Where(sq.Eq{"id": id}).Where(tokenOwner(tenantID)).
		RunWith(s.db.Write).ExecContext(ctx)
	if err != nil {
		return fmt.Errorf("revoke token %s of tenant %d: %w", id, tenantID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("revoke token %s of tenant %d: %w", id, tenantID, err)
	}
	if n == 0 {
		// Already revoked (MariaDB counts changed rows only) or not this tenant's.
		var one int
		err := s.db.SB.Select("1").From("api_tokens").Where(sq.Eq{"id": id}).Where(tokenOwner(tenantID)).
			RunWith(s.db.Write).QueryRowContext(ctx).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("revoke token %s of tenant %d: %w", id, tenantID, token.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("revoke token %s of tenant %d: %w", id, tenantID, err)
		}
	}
	return nil
}

// RecordAudit appends an audit entry (its ID is ignored). Text fields are
// expected within the audit.Max* bounds (audit.NewEntry cuts them).
func (s *Store) RecordAudit(ctx context.Context, e audit.Entry) error {
	_, err := s.db.SB.Insert("audit_logs").
		Columns("at", "actor", "tenant_id", "action", "target", "remote_addr", "detail").
		Values(sqldb.Millis(e.At), e.Actor, e.TenantID, string(e.Action), e.Target, e.RemoteAddr, e.Detail).
		RunWith(s.db.Write).ExecContext(ctx)
	if err != nil {
		return fmt.Errorf("record audit %s tenant=%d: %w", e.Action, e.TenantID, err)
	}
	return nil
}

// ListAudit returns the tenant's latest audit entries, newest first, at
// most limit. A zero tenant is refused (sqldb.ErrTenantRequired): the platform's
// own trail is ListPlatformAudit.
func (s *Store) ListAudit(ctx context.Context, tenantID int64, limit int) ([]audit.Entry, error) {
	if err := sqldb.RequireTenant("list audit", tenantID); err != nil {
		return nil, err
	}
	return s.listAudit(ctx, tenantID, limit)
}

// ListPlatformAudit returns the platform's latest audit entries (tenant
// creation, platform tokens…), newest first, at most limit.
func (s *Store) ListPlatformAudit(ctx context.Context, limit int) ([]audit.Entry, error) {
	return s.listAudit(ctx, 0, limit)
}

func (s *Store) listAudit(ctx context.Context, tenantID int64, limit int) ([]audit.Entry, error) {
	rows, err := s.db.SB.Select("id", "at", "actor", "tenant_id", "action", "target", "remote_addr", "detail").
		From("audit_logs").Where(sq.Eq{"tenant_id": tenantID}).
		OrderBy("at DESC", "id DESC").Limit(uint64(max(limit, 0))).
		RunWith(s.db.Read).QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list audit of tenant %d: %w", tenantID, err)
	}
	defer rows.Close()
	var out []audit.Entry
	for rows.Next() {
		var (
			e      audit.Entry
			at     int64
			action string
		)
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.TenantID, &action, &e.Target, &e.RemoteAddr, &e.Detail); err != nil {
			return nil, fmt.Errorf("list audit of tenant %d: %w", tenantID, err)
		}
		e.At, e.Action = sqldb.FromMillis(at), audit.Action(action)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit of tenant %d: %w", tenantID, err)
	}
	return out, nil
}
