package accounts

import (
	"context"
	"errors"
	"fmt"

	"github.com/pulsemetrics/pulse/domain/account"
	"github.com/pulsemetrics/pulse/domain/tenant"
)

// Current is who a session belongs to: the user and their tenant (nil for
// a super-admin bound to no tenant).
type Current struct {
	User   account.User
	Tenant *tenant.Tenant
}

// Session resolves a session id from the cookie. A missing, unknown or
// ended session (idle 12 h, absolute 7 days), or one whose user or tenant
// is gone or disabled, is account.ErrNoSession. The last-seen time is
// written at most once a minute.
func (s *Service) Session(ctx context.Context, id string) (Current, error) {
	if id == "" {
		return Current{}, account.ErrNoSession
	}
	h := account.HashSessionID(id)
	sess, err := s.sessions.SessionByHash(ctx, h)
	if err != nil {
		return Current{}, err
	}
	now := s.now()
	if sess.Expired(now) {
		if err := s.sessions.DeleteSession(ctx, h); err != nil {
			return Current{}, fmt.Errorf("end expired session: %w", err)
		}
		return Current{}, account.ErrNoSession
	}
	u, err := s.users.UserByID(ctx, sess.UserID)
	if errors.Is(err, account.ErrNotFound) {
		return Current{}, account.ErrNoSession
	}
	if err != nil {
		return Current{}, fmt.Errorf("user of session: %w", err)
	}
	cur := Current{User: u}
	if u.TenantID != nil {
		t, err := s.tenants.TenantByID(ctx, *u.TenantID)
		if errors.Is(err, tenant.ErrNotFound) {
			return Current{}, account.ErrNoSession
		}
		if err != nil {
			return Current{}, fmt.Errorf("tenant of session: %w", err)
		}
		if t.Disabled {
			return Current{}, fmt.Errorf("tenant %s: %w", t.Slug, tenant.ErrDisabled)
		}
		cur.Tenant = &t
	}
	if sess.TouchDue(now) {
		if err := s.sessions.TouchSession(ctx, h, now); err != nil {
			return Current{}, fmt.Errorf("touch session: %w", err)
		}
	}
	return cur, nil
}

// Logout ends the session with the id (an unknown one is not an error).
func (s *Service) Logout(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	if err := s.sessions.DeleteSession(ctx, account.HashSessionID(id)); err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}
