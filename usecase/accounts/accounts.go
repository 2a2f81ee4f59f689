// Package accounts manages the dashboard's users and login sessions:
// creating users (passwords hashed with argon2id), logging in with
// throttling of repeated failures, and resolving, refreshing and ending
// sessions. Only a SHA-256 of a session id is ever stored. Password hashes
// run in a few bounded slots, so that a burst of logins cannot exhaust
// memory (see DefaultHashSlots).
package accounts

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"runtime"
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

// LoginThrottle limits login attempts per key (a hash of the email and the
// client address). Shared by every replica; safe for concurrent use.
//
// An attempt is reserved before its password is checked and stays as a
// failure unless it is released (its password was never checked) or the
// key is cleared (a successful login).
//
// Concurrency: ReserveLoginAttempt is atomic per key for every caller that
// shares the store (goroutines, connections, replicas): counting the key's
// attempts and recording one more are a single step, so of N concurrent
// reservations for a key holding k attempts in the window exactly
// min(N, limit-k) are allowed, whatever the interleaving. Reservations of one
// key queue behind each other (for the duration of a short transaction,
// never of a password check); those of different keys do not.
type LoginThrottle interface {
	// ReserveLoginAttempt counts key's attempts at or after since and, when
	// there are fewer than limit, records one more at at and answers its id
	// (> 0); otherwise it records nothing and answers id 0. oldest is the
	// time of the key's oldest attempt at or after since, the new one
	// included (zero when there is none). Attempts older than since may be
	// forgotten.
	ReserveLoginAttempt(ctx context.Context, key [32]byte, at, since time.Time, limit int) (id int64, oldest time.Time, err error)
	// ReleaseLoginAttempt forgets the attempt id of key, reserved by a
	// login that failed before checking the password; an unknown id is not
	// an error.
	ReleaseLoginAttempt(ctx context.Context, key [32]byte, id int64) error
	// ClearLoginFailures forgets all of key's attempts (a successful login).
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
	// DummyHash is a well-formed hash that no password is expected to
	// match and that costs as much to verify as one Hash returns (same
	// parameters): it is verified for an unknown email.
	DummyHash() string
}

// Password hashing is bounded: a Service runs at most as many hashes (Hash
// or Verify) at once as it has slots (DefaultHashSlots unless
// WithHashSlots), and a login or user creation waits at most its hash wait
// (DefaultHashWait unless WithHashWait) for a free slot, then fails with
// *BusyError. An argon2id hash holds its whole memory cost (64 MiB by
// default) while it runs.
const (
	// DefaultHashMemory caps the memory the default slots let the Argon2id
	// hasher's hashes hold at once: one hash with its default parameters.
	// The Go heap can reach about twice that before a collection frees a
	// finished hash's memory (GOGC=100).
	DefaultHashMemory = 64 << 20
	DefaultHashWait   = time.Second
)

// BusyError is a login or user creation refused because every hashing slot
// stayed taken for the whole wait (or the caller's context ended first).
// Nothing was checked and the attempt does not count against the throttle;
// RetryAfter is a hint of when to try again.
type BusyError struct {
	RetryAfter time.Duration
	cause      error // the context's error, when it ended the wait
}

// ErrBusy is matched (errors.Is) by every *BusyError.
var ErrBusy = errors.New("too many password checks in progress; try again in a moment")

func (e *BusyError) Error() string { return ErrBusy.Error() }

// Is makes a *BusyError match ErrBusy.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// Unwrap is the context's error when it ended the wait, otherwise nil.
func (e *BusyError) Unwrap() error { return e.cause }

// Seconds is RetryAfter in whole seconds, rounded up (at least 1).
func (e *BusyError) Seconds() int {
	return max(1, int((e.RetryAfter+time.Second-1)/time.Second))
}

// Service is the accounts use case. It is safe for concurrent use.
type Service struct {
	users    Users
	sessions Sessions
	throttle LoginThrottle
	tenants  Tenants
	audit    Audit
	hasher   PasswordHasher
	dummy    string // hasher.DummyHash()
	random   io.Reader
	now      func() time.Time

	slots    chan struct{} // one element per hash running
	hashWait time.Duration
}

// An Option tunes a Service.
type Option func(*Service)

// WithHashSlots bounds the password hashes running at once to n; n < 1
// means DefaultHashSlots.
func WithHashSlots(n int) Option {
	return func(s *Service) {
		if n >= 1 {
			s.slots = make(chan struct{}, n)
		}
	}
}

// WithHashWait is how long a hash waits for a free slot before the login or
// user creation fails with *BusyError; d <= 0 means DefaultHashWait.
func WithHashWait(d time.Duration) Option {
	return func(s *Service) {
		if d > 0 {
			s.hashWait = d
		}
	}
}

// NewService builds the use case. hasher nil means argon2id with its
// default parameters; random nil means crypto/rand. Hashing is bounded as
// WithHashSlots and WithHashWait describe.
func NewService(users Users, sessions Sessions, throttle LoginThrottle, tenants Tenants, a Audit,
	hasher PasswordHasher, random io.Reader, now func() time.Time, opts ...Option) *Service {
	if hasher == nil {
		hasher = Argon2id{}
	}
	if random == nil {
		random = rand.Reader
	}
	s := &Service{users: users, sessions: sessions, throttle: throttle, tenants: tenants, audit: a,
		hasher: hasher, dummy: hasher.DummyHash(), random: random, now: now, hashWait: DefaultHashWait}
	for _, o := range opts {
		o(s)
	}
	if s.slots == nil {
		s.slots = make(chan struct{}, DefaultHashSlots(hasher))
	}
	return s
}

// DefaultHashSlots is the number of hashes h may run at once by default:
// one per CPU, where for the Argon2id hasher a hash takes as many CPUs as
// it has lanes (Parallelism), and no more hashes than fit in
// DefaultHashMemory; at least 1. With argon2id's default parameters (one
// lane per CPU, 64 MiB) that is 1 slot whatever the machine: a single hash
// already keeps every core busy, so more slots would add memory (64 MiB
// each), not throughput.
func DefaultHashSlots(h PasswordHasher) int {
	n := runtime.NumCPU()
	if a, ok := h.(Argon2id); ok {
		p := a.params()
		n /= max(1, int(p.Parallelism))
		if per := uint64(p.Memory) << 10; per > 0 {
			n = min(n, int(DefaultHashMemory/per))
		}
	}
	return max(1, n)
}

// hashing runs fn, the computation of one password hash, in a hashing slot.
// It waits for a free slot at most s.hashWait or until ctx ends, and then
// answers *BusyError without running fn.
func (s *Service) hashing(ctx context.Context, fn func()) error {
	select {
	case s.slots <- struct{}{}:
	default:
		t := time.NewTimer(s.hashWait)
		defer t.Stop()
		select {
		case s.slots <- struct{}{}:
		case <-t.C:
			return &BusyError{RetryAfter: s.hashWait}
		case <-ctx.Done():
			return &BusyError{RetryAfter: s.hashWait, cause: ctx.Err()}
		}
	}
	defer func() { <-s.slots }()
	fn()
	return nil
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
// tenant.ErrNotFound (unknown --tenant), *BusyError (no hashing slot).
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
	if herr := s.hashing(ctx, func() { u.PasswordHash, err = s.hasher.Hash(spec.Password) }); herr != nil {
		return account.User{}, herr
	}
	if err != nil {
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
