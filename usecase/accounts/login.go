package accounts

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/pulsemetrics/pulse/domain/account"
	"github.com/pulsemetrics/pulse/domain/audit"
)

// ThrottledError is a login refused because of too many recent failures
// for the email from this client address; RetryAfter says when to retry.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins; retry in %s", e.RetryAfter.Round(time.Second))
}

// Minutes is RetryAfter in whole minutes, rounded up (at least 1).
func (e *ThrottledError) Minutes() int {
	return max(1, int((e.RetryAfter+time.Minute-1)/time.Minute))
}

// LoginRequest is one login attempt.
type LoginRequest struct {
	Email      string
	Password   string
	ClientAddr string
}

// Login is a started session: ID goes in the cookie and nowhere else.
type Login struct {
	ID   string
	User account.User
}

// Login checks the credentials and starts a session. Errors:
// *ThrottledError (5 failures per email and client within 15 minutes),
// account.ErrBadCredentials (unknown email or wrong password, the same
// answer), *BusyError (no hashing slot came free in time; the attempt does
// not count), anything else is internal. Success and failure are audited.
//
// The attempt is reserved in the throttle before the password is checked,
// so that parallel guesses cannot all pass the count: a wrong password
// keeps the reservation as the failure, a right one clears the key's
// failures, and an error before the check releases it. An unknown email
// costs what a wrong password costs: the same throttle calls, user lookup,
// hashing slot and a hash of the same parameters (the hasher's DummyHash).
func (s *Service) Login(ctx context.Context, req LoginRequest) (Login, error) {
	now := s.now()
	email, _ := account.NormalizeEmail(req.Email)
	if email == "" {
		email = req.Email // a malformed email still counts against its key
	}
	key := throttleKey(email, req.ClientAddr)
	attempt, oldest, err := s.throttle.ReserveLoginAttempt(ctx, key, now, now.Add(-FailureWindow), MaxFailures)
	if err != nil {
		return Login{}, fmt.Errorf("login throttle: %w", err)
	}
	if attempt == 0 {
		return Login{}, &ThrottledError{RetryAfter: max(oldest.Add(FailureWindow).Sub(now), time.Second)}
	}
	u, ok, err := s.check(ctx, email, req.Password)
	if err != nil {
		// The password was not checked: the attempt does not count. The
		// release runs even when ctx has ended (a client gone).
		if rerr := s.throttle.ReleaseLoginAttempt(context.WithoutCancel(ctx), key, attempt); rerr != nil {
			err = errors.Join(err, fmt.Errorf("login throttle: release attempt: %w", rerr))
		}
		return Login{}, err
	}
	actor := audit.Actor{ID: "user:" + email, RemoteAddr: req.ClientAddr}
	if !ok {
		// The reservation stays: it is the failure.
		if err := s.audit.Record(ctx, audit.NewEntry(now, actor, tenantOf(u), ActionLoginFailure, "user:"+email, "wrong email or password")); err != nil {
			return Login{}, fmt.Errorf("audit failed login: %w", err)
		}
		return Login{}, account.ErrBadCredentials
	}
	if err := s.throttle.ClearLoginFailures(ctx, key); err != nil {
		return Login{}, fmt.Errorf("login throttle: %w", err)
	}
	id, err := s.newSessionID()
	if err != nil {
		return Login{}, err
	}
	if err := s.sessions.CreateSession(ctx, account.NewSession(account.HashSessionID(id), u.ID, req.ClientAddr, now)); err != nil {
		return Login{}, fmt.Errorf("start session: %w", err)
	}
	if err := s.audit.Record(ctx, audit.NewEntry(now, actor, tenantOf(u), ActionLoginSuccess, "user:"+u.Email, "")); err != nil {
		return Login{}, fmt.Errorf("audit login: %w", err)
	}
	return Login{ID: id, User: u}, nil
}

// check verifies the password of the user with email; ok is false for an
// unknown email or a wrong password (u is set in the latter case). An
// unknown email verifies the dummy hash in a hashing slot like a known one,
// and a *BusyError is answered alike for both.
func (s *Service) check(ctx context.Context, email, password string) (account.User, bool, error) {
	u, err := s.users.UserByEmail(ctx, email)
	known := err == nil
	if err != nil && !errors.Is(err, account.ErrNotFound) {
		return account.User{}, false, fmt.Errorf("look up user: %w", err)
	}
	hash := s.dummy
	if known {
		hash = u.PasswordHash
	}
	var ok bool
	if herr := s.hashing(ctx, func() { ok, err = s.hasher.Verify(password, hash) }); herr != nil {
		return account.User{}, false, herr
	}
	if !known {
		return account.User{}, false, nil
	}
	if err != nil {
		return account.User{}, false, fmt.Errorf("verify password of user %d: %w", u.ID, err)
	}
	return u, ok, nil
}

func throttleKey(email, client string) [32]byte {
	return sha256.Sum256([]byte("login\x00" + email + "\x00" + client))
}

func tenantOf(u account.User) int64 {
	if u.TenantID == nil {
		return 0
	}
	return *u.TenantID
}
