// Package account defines the dashboard's users and their login sessions:
// who a person is (email), which tenant they belong to (none for a
// super-admin), what they may do there (role), and the expiry rules of a
// session. It holds no password hashing and no I/O.
package account

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Role is what a user may do in their tenant.
type Role string

// The roles.
const (
	// RoleAdmin may change the tenant's dashboards and widgets.
	RoleAdmin Role = "admin"
	// RoleViewer may only read.
	RoleViewer Role = "viewer"
)

// ParseRole reads a role name; "" is RoleAdmin.
func ParseRole(s string) (Role, error) {
	switch Role(s) {
	case RoleAdmin, "":
		return RoleAdmin, nil
	case RoleViewer:
		return RoleViewer, nil
	}
	return "", &InvalidError{Field: "role", Message: fmt.Sprintf("role must be admin or viewer, not %q", truncate(s, 32))}
}

// CanChange reports whether the role may create, rename or delete.
func (r Role) CanChange() bool { return r == RoleAdmin }

// Errors of the account rules and storage.
var (
	// ErrNotFound is an unknown user or session.
	ErrNotFound = errors.New("user not found")
	// ErrDuplicate is an email already taken.
	ErrDuplicate = errors.New("a user with this email already exists")
	// ErrBadCredentials is a failed login (unknown email or wrong password:
	// the two are never told apart).
	ErrBadCredentials = errors.New("these credentials do not match our records")
	// ErrNoSession is a missing, unknown or expired session.
	ErrNoSession = errors.New("not logged in")
)

// InvalidError is an input that breaks a rule; Field names it.
type InvalidError struct {
	Field   string
	Message string
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Message }

// Bounds of the inputs.
const (
	MaxEmailBytes     = 254
	MinPasswordChars  = 10
	MaxPasswordBytes  = 1024
	maxEmailLocalPart = 64
)

// User is a person who logs in to the dashboard. TenantID is nil only for
// a super-admin bound to no tenant.
type User struct {
	ID           int64
	Email        string
	PasswordHash string
	TenantID     *int64
	Role         Role
	SuperAdmin   bool
	CreatedAt    time.Time
}

// NewUser validates a user about to be created (the password is checked by
// CheckPassword and hashed by the caller). The email is normalised to lower
// case.
func NewUser(email string, tenantID *int64, role Role, superAdmin bool, at time.Time) (User, error) {
	e, err := NormalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	if role != RoleAdmin && role != RoleViewer {
		return User{}, &InvalidError{Field: "role", Message: "role must be admin or viewer"}
	}
	if tenantID == nil && !superAdmin {
		return User{}, &InvalidError{Field: "tenant", Message: "a user needs a tenant unless they are a super-admin"}
	}
	if tenantID != nil && *tenantID <= 0 {
		return User{}, &InvalidError{Field: "tenant", Message: "tenant id must be positive"}
	}
	return User{Email: e, TenantID: tenantID, Role: role, SuperAdmin: superAdmin, CreatedAt: at.UTC()}, nil
}

// NormalizeEmail trims and lower-cases an address and checks its shape
// (one bare address, no display name, at most 254 bytes).
func NormalizeEmail(s string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	switch {
	case e == "":
		return "", &InvalidError{Field: "email", Message: "email is required"}
	case len(e) > MaxEmailBytes:
		return "", &InvalidError{Field: "email", Message: fmt.Sprintf("email exceeds the limit of %d bytes", MaxEmailBytes)}
	}
	a, err := mail.ParseAddress(e)
	local, domain, ok := strings.Cut(e, "@")
	if err != nil || a.Address != e || !ok || local == "" || len(local) > maxEmailLocalPart || !strings.Contains(domain, ".") {
		return "", &InvalidError{Field: "email", Message: "email must be an address like name@example.com"}
	}
	return e, nil
}

// CheckPassword enforces the password policy: at least 10 characters, at
// most 1024 bytes (hashing cost is bounded), valid UTF-8.
func CheckPassword(pw string) error {
	switch {
	case !utf8.ValidString(pw):
		return &InvalidError{Field: "password", Message: "password must be valid UTF-8 text"}
	case len(pw) > MaxPasswordBytes:
		return &InvalidError{Field: "password", Message: fmt.Sprintf("password exceeds the limit of %d bytes", MaxPasswordBytes)}
	case utf8.RuneCountInString(pw) < MinPasswordChars:
		return &InvalidError{Field: "password", Message: fmt.Sprintf("password must have at least %d characters", MinPasswordChars)}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
