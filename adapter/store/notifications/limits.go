package notifications

import (
	"context"
	"fmt"
	"slices"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
)

// The tenants' per-minute budget overrides; a tenant without one has the
// dispatcher's default.

// PerMinute is the overrides of the tenants among tenantIDs that have one,
// never nil.
func (s *Store) PerMinute(ctx context.Context, tenantIDs []int64) (map[int64]int, error) {
	out := map[int64]int{}
	ids := slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(tenantIDs))), func(id int64) bool { return id <= 0 })
	err := chunks(ids, func(chunk []int64) error {
		list, args := in(chunk)
		rows, err := s.db.Read.QueryContext(ctx, "SELECT tenant_id, per_minute FROM notification_tenant_limits WHERE tenant_id IN "+list, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				tenant int64
				n      int
			)
			if err := rows.Scan(&tenant, &n); err != nil {
				return err
			}
			out[tenant] = n
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("notification budget overrides: %w", err)
	}
	return out, nil
}

// SetPerMinute sets the tenant's override; perMinute 0 or below removes
// it (the default applies again).
func (s *Store) SetPerMinute(ctx context.Context, tenantID int64, perMinute int) error {
	if err := sqldb.RequireTenant("set notification budget", tenantID); err != nil {
		return err
	}
	var err error
	if perMinute <= 0 {
		_, err = s.db.Write.ExecContext(ctx, "DELETE FROM notification_tenant_limits WHERE tenant_id = ?", tenantID)
	} else {
		_, err = s.db.Write.ExecContext(ctx, "INSERT INTO notification_tenant_limits (tenant_id, per_minute) VALUES (?, ?)"+s.upsertLimit, tenantID, perMinute)
	}
	if err != nil {
		return fmt.Errorf("set notification budget tenant=%d: %w", tenantID, err)
	}
	return nil
}
