package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"

	sq "github.com/Masterminds/squirrel"

	"github.com/pulsemetrics/pulse/domain/account"
)

// CreateSession stores a login session (its id's hash only) and deletes
// the sessions that have ended by s.CreatedAt, so the table holds only
// live sessions without a separate job.
func (s *Store) CreateSession(ctx context.Context, sess account.Session) error {
	now := sqldb.Millis(sess.CreatedAt)
	_, err := s.db.SB.Delete("user_sessions").
		Where(sq.Or{sq.LtOrEq{"expires_at": now}, sq.LtOrEq{"last_seen_at": now - account.IdleTimeout.Milliseconds()}}).
		RunWith(s.db.Write).ExecContext(ctx)
	if err != nil {
		return fmt.Errorf("create session user=%d: purge ended sessions: %w", sess.UserID, err)
	}
	_, err = s.db.SB.Insert("user_sessions").
		Columns("id_hash", "user_id", "created_at", "last_seen_at", "expires_at", "client_addr").
		Values(sess.Hash[:], sess.UserID, now, sqldb.Millis(sess.LastSeenAt), sqldb.Millis(sess.ExpiresAt), sess.ClientAddr).
		RunWith(s.db.Write).ExecContext(ctx)
	if err != nil {
		return fmt.Errorf("create session user=%d: %w", sess.UserID, err)
	}
	return nil
}

// SessionByHash returns the session with the id hash, expired or not, or
// account.ErrNoSession.
func (s *Store) SessionByHash(ctx context.Context, h account.SessionHash) (account.Session, error) {
	var (
		sess                         account.Session
		hash                         []byte
		created, lastSeen, expiresAt int64
	)
	err := s.db.SB.Select("id_hash", "user_id", "created_at", "last_seen_at", "expires_at", "client_addr").
		From("user_sessions").Where(sq.Eq{"id_hash": h[:]}).
		RunWith(s.db.Read).QueryRowContext(ctx).
		Scan(&hash, &sess.UserID, &created, &lastSeen, &expiresAt, &sess.ClientAddr)
	if errors.Is(err, sql.ErrNoRows) {
		return account.Session{}, fmt.Errorf("session: %w", account.ErrNoSession)
	}
	if err != nil {
		return account.Session{}, fmt.Errorf("session: %w", err)
	}
	if len(hash) != len(sess.Hash) {
		return account.Session{}, fmt.Errorf("session: id hash has %d bytes", len(hash))
	}
	copy(sess.Hash[:], hash)
	sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt = sqldb.FromMillis(created), sqldb.FromMillis(lastSeen), sqldb.FromMillis(expiresAt)
	return sess, nil
}

// TouchSession records a request of the session at at; an unknown session
// is account.ErrNoSession.
func (s *Store) TouchSession(ctx context.Context, h account.SessionHash, at time.Time) error {
	res, err := s.db.SB.Update("user_sessions").Set("last_seen_at", sqldb.Millis(at)).
		Where(sq.Eq{"id_hash": h[:]}).RunWith(s.db.Write).ExecContext(ctx)
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("touch session: %w", err)
	} else if n == 0 {
		// MariaDB counts changed rows only: an unchanged time also reads 0.
		if _, err := s.SessionByHash(ctx, h); err != nil {
			return fmt.Errorf("touch %w", err)
		}
	}
	return nil
}

// DeleteSession ends a session (logout); an unknown one is not an error.
func (s *Store) DeleteSession(ctx context.Context, h account.SessionHash) error {
	if _, err := s.db.SB.Delete("user_sessions").Where(sq.Eq{"id_hash": h[:]}).RunWith(s.db.Write).ExecContext(ctx); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// PurgeAccounts deletes the sessions that have ended by now and the login
// failures older than failuresBefore (with the throttle's lock rows of the
// keys idle since then), and returns how many rows went. New
// logins and failures already purge as they write; this catches the rows
// left when nobody logs in for a while. Maintenance over every user.
func (s *Store) PurgeAccounts(ctx context.Context, now, failuresBefore time.Time) (int64, error) {
	at := sqldb.Millis(now)
	res, err := s.db.SB.Delete("user_sessions").
		Where(sq.Or{sq.LtOrEq{"expires_at": at}, sq.LtOrEq{"last_seen_at": at - account.IdleTimeout.Milliseconds()}}).
		RunWith(s.db.Write).ExecContext(ctx)
	if err != nil {
		return 0, fmt.Errorf("purge ended sessions: %w", err)
	}
	sessions, _ := res.RowsAffected()
	failures, err := s.purgeLoginThrottle(ctx, failuresBefore)
	if err != nil {
		return sessions + failures, fmt.Errorf("purge old login failures: %w", err)
	}
	return sessions + failures, nil
}
