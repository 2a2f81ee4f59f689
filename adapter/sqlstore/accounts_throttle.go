package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	sq "github.com/Masterminds/squirrel"
)

// The login throttle keeps one row per failed login, keyed by a hash the
// caller derives from the email and the client address (never the email
// itself), so that every API replica sees the same count.

// LoginFailures counts the failures of key at or after since and returns
// the time of the oldest of them (zero when there are none).
func (s *Store) LoginFailures(ctx context.Context, key [32]byte, since time.Time) (int, time.Time, error) {
	var (
		n      int
		oldest sql.NullInt64
	)
	err := s.sb.Select("COUNT(*)", "MIN(at)").From("login_failures").
		Where(sq.And{sq.Eq{"key_hash": key[:]}, sq.GtOrEq{"at": millis(since)}}).
		RunWith(s.write).QueryRowContext(ctx).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("login failures: %w", err)
	}
	if !oldest.Valid {
		return n, time.Time{}, nil
	}
	return n, fromMillis(oldest.Int64), nil
}

// RecordLoginFailure adds a failure of key at at and forgets every key's
// failures older than forgetBefore (they no longer count).
func (s *Store) RecordLoginFailure(ctx context.Context, key [32]byte, at, forgetBefore time.Time) error {
	if _, err := s.sb.Delete("login_failures").Where(sq.Lt{"at": millis(forgetBefore)}).RunWith(s.write).ExecContext(ctx); err != nil {
		return fmt.Errorf("record login failure: forget old: %w", err)
	}
	if _, err := s.sb.Insert("login_failures").Columns("key_hash", "at").Values(key[:], millis(at)).RunWith(s.write).ExecContext(ctx); err != nil {
		return fmt.Errorf("record login failure: %w", err)
	}
	return nil
}

// ClearLoginFailures forgets key's failures (after a successful login).
func (s *Store) ClearLoginFailures(ctx context.Context, key [32]byte) error {
	if _, err := s.sb.Delete("login_failures").Where(sq.Eq{"key_hash": key[:]}).RunWith(s.write).ExecContext(ctx); err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}
