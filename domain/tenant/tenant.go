// Package tenant holds the tenant entity and its rules.
package tenant

import (
	"errors"
	"fmt"
	"regexp"
	"time"
)

// ErrNotFound is returned when no tenant matches.
var ErrNotFound = errors.New("tenant not found")

// ErrDuplicate is returned when a slug is already taken.
var ErrDuplicate = errors.New("tenant slug already exists")

// ErrDisabled is returned when a disabled tenant's token is presented.
var ErrDisabled = errors.New("tenant is disabled")

// DefaultRetentionDays is the raw-data retention of a new tenant.
const DefaultRetentionDays = 30

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// Tenant is an isolated customer space: its data, tokens and users.
type Tenant struct {
	ID            int64
	Slug          string
	Name          string
	RetentionDays int
	CreatedAt     time.Time
	// Disabled tenants' tokens are refused (403); their data is kept.
	Disabled bool
}

// InvalidError reports an invalid tenant field.
type InvalidError struct{ Field, Message string }

func (e *InvalidError) Error() string { return fmt.Sprintf("invalid %s: %s", e.Field, e.Message) }

// New validates and returns a tenant that is not stored yet (ID 0).
func New(slug, name string, retentionDays int, now time.Time) (Tenant, error) {
	if IsReserved(slug) {
		return Tenant{}, &InvalidError{Field: "slug", Message: "slugs starting with '_' are reserved for Pulse's own tenant"}
	}
	if !slugPattern.MatchString(slug) {
		return Tenant{}, &InvalidError{Field: "slug", Message: "must be 2-63 chars of a-z, 0-9 and '-', starting with a letter or digit"}
	}
	if name == "" {
		name = slug
	}
	if len(name) > 200 {
		return Tenant{}, &InvalidError{Field: "name", Message: "must be at most 200 bytes"}
	}
	if retentionDays == 0 {
		retentionDays = DefaultRetentionDays
	}
	if err := checkRetention(retentionDays); err != nil {
		return Tenant{}, err
	}
	return Tenant{Slug: slug, Name: name, RetentionDays: retentionDays, CreatedAt: now.UTC()}, nil
}

func checkRetention(days int) error {
	if days < 1 || days > 3650 {
		return &InvalidError{Field: "retention_days", Message: "must be between 1 and 3650"}
	}
	return nil
}

// Update returns t with the given changes applied: a nil field is left as
// is. At least one change is required; retention must be 1..3650 days.
func (t Tenant) Update(retentionDays *int, disabled *bool) (Tenant, error) {
	if retentionDays == nil && disabled == nil {
		return Tenant{}, &InvalidError{Field: "update", Message: "nothing to change: give retention_days and/or disabled"}
	}
	if retentionDays != nil {
		if err := checkRetention(*retentionDays); err != nil {
			return Tenant{}, err
		}
		t.RetentionDays = *retentionDays
	}
	if disabled != nil {
		t.Disabled = *disabled
	}
	return t, nil
}
