package sqldb

import (
	"errors"
	"fmt"
)

// ErrTenantRequired is returned, before any SQL is built, by every method
// that reads or writes one tenant's data when it is given no tenant (an id
// of zero or below). A zero tenant id is a caller's bug (an unset
// principal, a forgotten field), never a wildcard and never "the platform":
// the platform's own tokens have methods of their own (ListPlatformTokens,
// RevokePlatformToken).
var ErrTenantRequired = errors.New("tenant id required")

// RequireTenant refuses a missing tenant id for the operation op.
func RequireTenant(op string, tenantID int64) error {
	if tenantID <= 0 {
		return fmt.Errorf("%s tenant=%d: %w", op, tenantID, ErrTenantRequired)
	}
	return nil
}
