// Package accounts manages the dashboard's users and login sessions:
// creating users (passwords hashed with argon2id), logging in with
// throttling of repeated failures, and resolving, refreshing and ending
// sessions. Only a SHA-256 of a session id is ever stored.
package accounts

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"time"

	"github.com/pulsemetrics/pulse/domain/account"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/tenant"
)

//go:generate go tool mockgen -destination=mock_ports_test.go -package=accounts_test . Users,Sessions,LoginThrottle,Tenants,Audit

// Users stores users. Implementations must be safe for concurrent use.
type Users interface {
	// CreateUser stores u and returns it with its id; a taken email is
	// account.ErrDuplicate.
	CreateUser(ctx context.Context, u account.User) (account.User, error)
	// UserByEmail and UserByID answer account.ErrNotFound for no such user.
	UserByEmail(ctx context.Context, email string) (account.User, error)
	UserByID(ctx context.Context, id int64) (account.User, error)
}

// Sessions stores login sessions by the hash of their id. Implementations
// must be safe for concurrent use.
type Sessions interface {
	CreateSession(ctx context.Context, s account.Session) error
	// SessionByHash answers account.ErrNoSession for no such session.
	SessionByHash(ctx context.Context, h account.SessionHash) (account.Session, error)
	TouchSession(ctx context.Context, h account.SessionHash, at time.Time) error
	DeleteSession(ctx context.Context, h account.SessionHash) error
}

// LoginThrottle counts failed logins per key (a hash of the email and the
// client address). Shared by every replica; safe for concurrent use.
type LoginThrottle interface {
	// LoginFailures counts key's failures at or after since and returns
	// the oldest one's time.
	LoginFailures(ctx context.Context, key [32]byte, since time.Time) (int, time.Time, error)
	// RecordLoginFailure adds one at at and may forget failures older
	// than forgetBefore.
	RecordLoginFailure(ctx context.Context, key [32]byte, at, forgetBefore time.Time) error
	ClearLoginFailures(ctx context.Context, key [32]byte) error
}

// Tenants looks tenants up (tenancy's store).
type Tenants interface {
	TenantBySlug(ctx context.Context, slug string) (tenant.Tenant, error)
	TenantByID(ctx context.Context, id int64) (tenant.Tenant, error)
}

// Audit records audit entries durably.
type Audit interface {
	Record(ctx context.Context, e audit.Entry) error
}

// The audited account actions.
const (
	ActionUserCreate   audit.Action = "user.create"
	ActionLoginSuccess audit.Action = "user.login"
	ActionLoginFailure audit.Action = "user.login_failed"
)

// Throttling: MaxFailures failed logins per email and client address
// within FailureWindow, then refusals until the oldest one leaves it.
const (
	MaxFailures   = 5
	FailureWindow = 15 * time.Minute
)

// PasswordHasher hashes and checks passwords (argon2id by default).
type PasswordHasher interface {
	Hash(password string) (string, error)
	Verify(password, hash string) (bool, error)
}

// Service is the accounts use case. It is safe for concurrent use.
type Service struct {
	users    Users
	sessions Sessions
	throttle LoginThrottle
	tenants  Tenants
	audit    Audit
	hasher   PasswordHasher
	random   io.Reader
	now      func() time.Time
}

// NewService builds the use case. hasher nil means argon2id with its
// default parameters; random nil means crypto/rand.
func NewService(users Users, sessions Sessions, throttle LoginThrottle, tenants Tenants, a Audit,
	hasher PasswordHasher, random io.Reader, now func() time.Time) *Service {
	if hasher == nil {
		hasher = Argon2id{}
	}
	if random == nil {
		random = rand.Reader
	}
	return &Service{users: users, sessions: sessions, throttle: throttle, tenants: tenants, audit: a, hasher: hasher, random: random, now: now}
}

// NewUserSpec is what `pulse user create` asks for.
type NewUserSpec struct {
	Email      string
	Password   string
	TenantSlug string // "" only for a super-admin
	Role       string // "" = admin
	SuperAdmin bool
}

// CreateUser validates spec, hashes the password and stores the user,
// audited with actor. Errors: *account.InvalidError, account.ErrDuplicate,
// tenant.ErrNotFound (unknown --tenant).
func (s *Service) CreateUser(ctx context.Context, actor audit.Actor, spec NewUserSpec) (account.User, error) {
	role, err := account.ParseRole(spec.Role)
	if err != nil {
		return account.User{}, err
	}
	if err := account.CheckPassword(spec.Password); err != nil {
		return account.User{}, err
	}
	var tenantID *int64
	if spec.TenantSlug != "" {
		t, err := s.tenants.TenantBySlug(ctx, spec.TenantSlug)
		if err != nil {
			return account.User{}, fmt.Errorf("tenant %q: %w", spec.TenantSlug, err)
		}
		tenantID = &t.ID
	}
	u, err := account.NewUser(spec.Email, tenantID, role, spec.SuperAdmin, s.now())
	if err != nil {
		return account.User{}, err
	}
	if u.PasswordHash, err = s.hasher.Hash(spec.Password); err != nil {
		return account.User{}, fmt.Errorf("hash password: %w", err)
	}
	created, err := s.users.CreateUser(ctx, u)
	if err != nil {
		return account.User{}, err
	}
	var tid int64
	if tenantID != nil {
		tid = *tenantID
	}
	detail := fmt.Sprintf("role=%s super_admin=%t", created.Role, created.SuperAdmin)
	if err := s.audit.Record(ctx, audit.NewEntry(s.now(), actor, tid, ActionUserCreate, "user:"+created.Email, detail)); err != nil {
		return created, fmt.Errorf("audit user creation: %w", err)
	}
	return created, nil
}

// newSessionID returns 32 random bytes, base64url: the cookie's value.
func (s *Service) newSessionID() (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(s.random, b[:]); err != nil {
		return "", fmt.Errorf("session id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}
