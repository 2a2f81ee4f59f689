package leases

import (
	"context"
	"fmt"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
)

// AcquireLease takes or renews the lease name for holder until now + ttl
// and reports whether holder has it. A lease held by another holder is
// taken over only once it has expired, so of several scheduler replicas
// running the same job only one runs it at a time. Not tenant data.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	now := s.db.Now()
	until := sqldb.Millis(now.Add(ttl))
	if _, err := s.db.Write.ExecContext(ctx, "INSERT "+s.db.Dialect.InsertIgnore+" INTO job_leases (name, holder, expires_at) VALUES (?, ?, ?)", name, holder, until); err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	if _, err := s.db.Write.ExecContext(ctx, "UPDATE job_leases SET holder = ?, expires_at = ? WHERE name = ? AND (holder = ? OR expires_at < ?)",
		holder, until, name, holder, sqldb.Millis(now)); err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	// Read back rather than trust the affected-row count (MariaDB counts
	// only changed rows, so a renewal within the same millisecond is 0).
	var got string
	if err := s.db.Write.QueryRowContext(ctx, "SELECT holder FROM job_leases WHERE name = ?", name).Scan(&got); err != nil {
		return false, fmt.Errorf("lease %s: %w", name, err)
	}
	return got == holder, nil
}

// ReleaseLease gives up holder's lease name (a no-op if someone else holds it).
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := s.db.Write.ExecContext(ctx, "UPDATE job_leases SET expires_at = 0 WHERE name = ? AND holder = ?", name, holder); err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}
