package account

import (
	"crypto/sha256"
	"time"
)

// Session lifetimes: a session ends after IdleTimeout without a request or
// AbsoluteTimeout after login, whichever comes first.
const (
	IdleTimeout     = 12 * time.Hour
	AbsoluteTimeout = 7 * 24 * time.Hour
	// TouchEvery bounds how often a session's last-seen time is written.
	TouchEvery = time.Minute
)

// SessionHash is the SHA-256 of a session id: the only form stored.
type SessionHash [32]byte

// HashSessionID hashes a session id as presented in the cookie.
func HashSessionID(id string) SessionHash { return sha256.Sum256([]byte(id)) }

// Session is one login of one user.
type Session struct {
	Hash       SessionHash
	UserID     int64
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is CreatedAt + AbsoluteTimeout.
	ExpiresAt time.Time
	// ClientAddr is where the login came from (audit and display only).
	ClientAddr string
}

// NewSession starts a session for userID at now.
func NewSession(hash SessionHash, userID int64, clientAddr string, now time.Time) Session {
	now = now.UTC()
	return Session{Hash: hash, UserID: userID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(AbsoluteTimeout), ClientAddr: truncate(clientAddr, 255)}
}

// Expired reports whether the session has ended at now (idle or absolute).
func (s Session) Expired(now time.Time) bool {
	return !now.Before(s.ExpiresAt) || !now.Before(s.LastSeenAt.Add(IdleTimeout))
}

// TouchDue reports whether the last-seen time is old enough to be written
// again (at most once per TouchEvery).
func (s Session) TouchDue(now time.Time) bool { return now.Sub(s.LastSeenAt) >= TouchEvery }
