package tenants

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"

	sq "github.com/Masterminds/squirrel"

	"github.com/pulsemetrics/pulse/domain/tenant"
)

// tenantRow is a tenants row as scanned.
type tenantRow struct {
	ID            int64
	Slug          string
	Name          string
	RetentionDays int
	CreatedAt     int64
	Disabled      int
}

func (r tenantRow) toDomain() tenant.Tenant {
	return tenant.Tenant{ID: r.ID, Slug: r.Slug, Name: r.Name, RetentionDays: r.RetentionDays, CreatedAt: sqldb.FromMillis(r.CreatedAt), Disabled: r.Disabled != 0}
}

var tenantColumns = []string{"id", "slug", "name", "retention_days", "created_at", "disabled"}

// CreateTenant stores t and returns it with its new id; a taken slug is
// tenant.ErrDuplicate.
func (s *Store) CreateTenant(ctx context.Context, t tenant.Tenant) (tenant.Tenant, error) {
	res, err := s.db.SB.Insert("tenants").
		Columns("slug", "name", "retention_days", "created_at").
		Values(t.Slug, t.Name, t.RetentionDays, sqldb.Millis(t.CreatedAt)).
		RunWith(s.db.Write).ExecContext(ctx)
	if s.db.Dialect.IsDuplicate(err) {
		return tenant.Tenant{}, fmt.Errorf("create tenant %s: %w", t.Slug, tenant.ErrDuplicate)
	}
	if err != nil {
		return tenant.Tenant{}, fmt.Errorf("create tenant %s: %w", t.Slug, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return tenant.Tenant{}, fmt.Errorf("create tenant %s: id: %w", t.Slug, err)
	}
	t.ID = id
	t.CreatedAt = sqldb.FromMillis(sqldb.Millis(t.CreatedAt))
	return t, nil
}

// TenantBySlug returns the tenant with the slug or tenant.ErrNotFound.
func (s *Store) TenantBySlug(ctx context.Context, slug string) (tenant.Tenant, error) {
	return s.oneTenant(ctx, sq.Eq{"slug": slug}, "slug="+slug)
}

// TenantByID returns the tenant with the id or tenant.ErrNotFound.
func (s *Store) TenantByID(ctx context.Context, id int64) (tenant.Tenant, error) {
	return s.oneTenant(ctx, sq.Eq{"id": id}, fmt.Sprintf("id=%d", id))
}

func (s *Store) oneTenant(ctx context.Context, where sq.Eq, what string) (tenant.Tenant, error) {
	var r tenantRow
	err := s.db.SB.Select(tenantColumns...).From("tenants").Where(where).
		RunWith(s.db.Read).QueryRowContext(ctx).
		Scan(&r.ID, &r.Slug, &r.Name, &r.RetentionDays, &r.CreatedAt, &r.Disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return tenant.Tenant{}, fmt.Errorf("tenant %s: %w", what, tenant.ErrNotFound)
	}
	if err != nil {
		return tenant.Tenant{}, fmt.Errorf("tenant %s: %w", what, err)
	}
	return r.toDomain(), nil
}

// ListTenants returns every tenant ordered by id.
func (s *Store) ListTenants(ctx context.Context) ([]tenant.Tenant, error) {
	rows, err := s.db.SB.Select(tenantColumns...).From("tenants").OrderBy("id").
		RunWith(s.db.Read).QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var out []tenant.Tenant
	for rows.Next() {
		var r tenantRow
		if err := rows.Scan(&r.ID, &r.Slug, &r.Name, &r.RetentionDays, &r.CreatedAt, &r.Disabled); err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		out = append(out, r.toDomain())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return out, nil
}
