package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"

	sq "github.com/Masterminds/squirrel"
)

// The login throttle keeps one login_failures row per login attempt that
// counts (a failure, or an attempt whose password is being checked), keyed
// by a hash the caller derives from the email and the client address
// (never the email itself), so that every API replica sees the same count.
//
// Each key also has one login_throttle_locks row. A reservation takes it
// first, with an upsert, and holds it until it commits: on MariaDB the
// reservations of one key queue on that row lock (whichever transaction
// inserts or updates the row first, the others wait for its commit and then
// read what it wrote), on SQLite the single writer connection and BEGIN
// IMMEDIATE serialise every write transaction anyway. Counting and
// inserting under the lock makes the two one step. The row's at is the
// key's latest reservation, so that rows of idle keys can be purged.

// ReserveLoginAttempt counts key's attempts at or after since and, when
// there are fewer than limit, records one more at at and returns its id
// (> 0); otherwise it records nothing and returns 0. oldest is the time of
// the oldest of key's attempts at or after since, the new one included
// (zero when none). key's attempts older than since are forgotten. Atomic
// per key across connections and processes (see accounts.LoginThrottle);
// a deadlock is retried.
func (s *Store) ReserveLoginAttempt(ctx context.Context, key [32]byte, at, since time.Time, limit int) (int64, time.Time, error) {
	var (
		id     int64
		oldest time.Time
	)
	err := s.db.Retry(ctx, func() error {
		id, oldest = 0, time.Time{}
		return s.db.InReadCommittedTx(ctx, func(tx *sql.Tx) error {
			if err := s.lockLoginKey(ctx, tx, key, at); err != nil {
				return err
			}
			if _, err := s.db.SB.Delete("login_failures").Where(sq.And{sq.Eq{"key_hash": key[:]}, sq.Lt{"at": sqldb.Millis(since)}}).
				RunWith(tx).ExecContext(ctx); err != nil {
				return fmt.Errorf("forget old attempts: %w", err)
			}
			var (
				n     int
				first sql.NullInt64
			)
			if err := s.db.SB.Select("COUNT(*)", "MIN(at)").From("login_failures").
				Where(sq.And{sq.Eq{"key_hash": key[:]}, sq.GtOrEq{"at": sqldb.Millis(since)}}).
				RunWith(tx).QueryRowContext(ctx).Scan(&n, &first); err != nil {
				return fmt.Errorf("count attempts: %w", err)
			}
			if first.Valid {
				oldest = sqldb.FromMillis(first.Int64)
			}
			if n >= limit {
				return nil
			}
			res, err := s.db.SB.Insert("login_failures").Columns("key_hash", "at").Values(key[:], sqldb.Millis(at)).RunWith(tx).ExecContext(ctx)
			if err != nil {
				return fmt.Errorf("record attempt: %w", err)
			}
			if id, err = res.LastInsertId(); err != nil {
				return fmt.Errorf("record attempt: id: %w", err)
			}
			if !first.Valid || sqldb.Millis(at) < first.Int64 {
				oldest = sqldb.FromMillis(sqldb.Millis(at))
			}
			return nil
		})
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("reserve login attempt: %w", err)
	}
	return id, oldest, nil
}

// ReleaseLoginAttempt forgets key's attempt id (a login that failed before
// its password was checked); an unknown one is not an error.
func (s *Store) ReleaseLoginAttempt(ctx context.Context, key [32]byte, id int64) error {
	err := s.db.Retry(ctx, func() error {
		_, err := s.db.SB.Delete("login_failures").Where(sq.Eq{"id": id, "key_hash": key[:]}).RunWith(s.db.Write).ExecContext(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("release login attempt: %w", err)
	}
	return nil
}

// ClearLoginFailures forgets key's attempts (after a successful login).
// It waits for a reservation of key in progress (the key's lock row) so
// that its delete never interleaves with one.
func (s *Store) ClearLoginFailures(ctx context.Context, key [32]byte) error {
	err := s.db.Retry(ctx, func() error {
		return s.db.InReadCommittedTx(ctx, func(tx *sql.Tx) error {
			var one int
			err := tx.QueryRowContext(ctx, "SELECT 1 FROM login_throttle_locks WHERE key_hash = ?"+s.db.Dialect.ForUpdate, key[:]).Scan(&one)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("lock key: %w", err)
			}
			_, err = s.db.SB.Delete("login_failures").Where(sq.Eq{"key_hash": key[:]}).RunWith(tx).ExecContext(ctx)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}

// lockLoginKey takes key's lock row in tx (inserting it or moving its at
// forward) and holds it until tx ends.
func (s *Store) lockLoginKey(ctx context.Context, tx *sql.Tx, key [32]byte, at time.Time) error {
	upsert := " ON CONFLICT (key_hash) DO UPDATE SET at = max(at, excluded.at)"
	if s.db.Dialect.Name == "mysql" {
		upsert = " ON DUPLICATE KEY UPDATE at = GREATEST(at, VALUES(at))"
	}
	if _, err := s.db.SB.Insert("login_throttle_locks").Columns("key_hash", "at").Values(key[:], sqldb.Millis(at)).Suffix(upsert).
		RunWith(tx).ExecContext(ctx); err != nil {
		return fmt.Errorf("lock key: %w", err)
	}
	return nil
}

// purgeLoginThrottle deletes the login attempts older than before and the
// lock rows of the keys not reserved since then (PurgeAccounts).
func (s *Store) purgeLoginThrottle(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	for _, table := range []string{"login_failures", "login_throttle_locks"} {
		res, err := s.db.SB.Delete(table).Where(sq.Lt{"at": sqldb.Millis(before)}).RunWith(s.db.Write).ExecContext(ctx)
		if err != nil {
			return n, fmt.Errorf("purge %s: %w", table, err)
		}
		m, _ := res.RowsAffected()
		n += m
	}
	return n, nil
}
