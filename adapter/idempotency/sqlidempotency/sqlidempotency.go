// Package sqlidempotency keeps the ingest use case's Idempotency-Keys in
// the SQL database (the idempotency_keys table of adapter/store/sqldb):
// embedded mode's IdempotencyStore; distributed mode keeps them in Redis
// (adapter/idempotency/redisidempotency). Both pass idempotencytest.
package sqlidempotency

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"

	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// Store is ingest.IdempotencyStore over the SQL database. Safe for
// concurrent use.
type Store struct {
	db        *sqldb.DB
	idemOwned sync.Map // idemKey -> request id of a reservation this Store holds
}

var _ ingest.IdempotencyStore = (*Store)(nil)

// New returns the store on db; its clock is db's.
func New(db *sqldb.DB) *Store { return &Store{db: db} }

// Purge deletes the keys expired at now and returns how many it deleted.
func (s *Store) Purge(ctx context.Context, now time.Time) (int64, error) {
	return s.db.PurgeChunked(ctx, "idempotency_keys", "expires_at <= ?", "tenant_id, idem_key", sqldb.Millis(now))
}

// idemKey names one reservation held by this Store (see Release).
type idemKey struct {
	tenant int64
	key    string
}

// reserveAttempts bounds the insert / read / take-over rounds of Reserve;
// each lost round means another process changed the row in between.
const reserveAttempts = 10

// Reserve stores rec under (tenantID, key) until now+ttl unless a live
// record (expires_at > now) exists, which it returns with found=true. An
// expired record counts as absent and is replaced. Exactly one of several
// concurrent callers (in any process) wins a key: the INSERT is decided by
// the primary key, the take-over of an expired row by a conditional UPDATE.
// A missing tenant is sqldb.ErrTenantRequired (so are Complete and Release).
func (s *Store) Reserve(ctx context.Context, tenantID int64, key string, rec ingest.IdempotencyRecord, ttl time.Duration) (ingest.IdempotencyRecord, bool, error) {
	if err := sqldb.RequireTenant("reserve idempotency key", tenantID); err != nil {
		return ingest.IdempotencyRecord{}, false, err
	}
	for range reserveAttempts {
		now := s.db.Now()
		expires := sqldb.Millis(now.Add(ttl))
		_, err := s.db.SB.Insert("idempotency_keys").
			Columns("tenant_id", "idem_key", "fingerprint", "request_id", "accepted", "done", "expires_at").
			Values(tenantID, key, rec.Fingerprint[:], rec.RequestID, rec.Accepted, boolInt(rec.Done), expires).
			RunWith(s.db.Write).ExecContext(ctx)
		if err == nil {
			s.idemOwned.Store(idemKey{tenantID, key}, rec.RequestID)
			return ingest.IdempotencyRecord{}, false, nil
		}
		if !s.db.Dialect.IsDuplicate(err) && !s.db.Dialect.IsRetryable(err) {
			return ingest.IdempotencyRecord{}, false, fmt.Errorf("reserve idempotency key tenant=%d: %w", tenantID, err)
		}
		existing, expiresAt, ok, err := s.readIdem(ctx, tenantID, key)
		if err != nil {
			return ingest.IdempotencyRecord{}, false, err
		}
		if !ok {
			continue // released or purged meanwhile: insert again
		}
		if expiresAt > sqldb.Millis(now) {
			return existing, true, nil
		}
		// Expired: take it over unless another caller did so first (it
		// then holds a future expires_at and this UPDATE matches nothing).
		res, err := s.db.SB.Update("idempotency_keys").
			Set("fingerprint", rec.Fingerprint[:]).Set("request_id", rec.RequestID).
			Set("accepted", rec.Accepted).Set("done", boolInt(rec.Done)).Set("expires_at", expires).
			Where("tenant_id = ? AND idem_key = ? AND expires_at <= ?", tenantID, key, sqldb.Millis(now)).
			RunWith(s.db.Write).ExecContext(ctx)
		if err != nil {
			if s.db.Dialect.IsRetryable(err) {
				continue
			}
			return ingest.IdempotencyRecord{}, false, fmt.Errorf("take over expired idempotency key tenant=%d: %w", tenantID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return ingest.IdempotencyRecord{}, false, fmt.Errorf("take over expired idempotency key tenant=%d: %w", tenantID, err)
		} else if n == 1 {
			s.idemOwned.Store(idemKey{tenantID, key}, rec.RequestID)
			return ingest.IdempotencyRecord{}, false, nil
		}
		// Lost the take-over: the next round reads the winner's record.
	}
	return ingest.IdempotencyRecord{}, false, fmt.Errorf("reserve idempotency key tenant=%d: still contended after %d attempts", tenantID, reserveAttempts)
}

// readIdem reads a record and its expiry (Unix ms); ok is false when absent.
func (s *Store) readIdem(ctx context.Context, tenantID int64, key string) (rec ingest.IdempotencyRecord, expiresAt int64, ok bool, err error) {
	var fp []byte
	var done int
	err = s.db.SB.Select("fingerprint", "request_id", "accepted", "done", "expires_at").From("idempotency_keys").
		Where("tenant_id = ? AND idem_key = ?", tenantID, key).
		RunWith(s.db.Write).QueryRowContext(ctx).
		Scan(&fp, &rec.RequestID, &rec.Accepted, &done, &expiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return ingest.IdempotencyRecord{}, 0, false, nil
	}
	if err != nil {
		return ingest.IdempotencyRecord{}, 0, false, fmt.Errorf("read idempotency key tenant=%d: %w", tenantID, err)
	}
	if len(fp) != len(rec.Fingerprint) {
		return ingest.IdempotencyRecord{}, 0, false, fmt.Errorf("read idempotency key tenant=%d: fingerprint of %d bytes", tenantID, len(fp))
	}
	copy(rec.Fingerprint[:], fp)
	rec.Done = done != 0
	return rec, expiresAt, true, nil
}

// Complete stores rec under (tenantID, key) until now+ttl, whatever the key
// held before (an upsert).
func (s *Store) Complete(ctx context.Context, tenantID int64, key string, rec ingest.IdempotencyRecord, ttl time.Duration) error {
	if err := sqldb.RequireTenant("complete idempotency key", tenantID); err != nil {
		return err
	}
	s.idemOwned.CompareAndDelete(idemKey{tenantID, key}, rec.RequestID)
	upsert := "ON CONFLICT (tenant_id, idem_key) DO UPDATE SET fingerprint = excluded.fingerprint, request_id = excluded.request_id, " +
		"accepted = excluded.accepted, done = excluded.done, expires_at = excluded.expires_at"
	if s.db.Dialect.Name == "mysql" {
		upsert = "ON DUPLICATE KEY UPDATE fingerprint = VALUES(fingerprint), request_id = VALUES(request_id), " +
			"accepted = VALUES(accepted), done = VALUES(done), expires_at = VALUES(expires_at)"
	}
	err := s.db.Retry(ctx, func() error {
		_, err := s.db.SB.Insert("idempotency_keys").
			Columns("tenant_id", "idem_key", "fingerprint", "request_id", "accepted", "done", "expires_at").
			Values(tenantID, key, rec.Fingerprint[:], rec.RequestID, rec.Accepted, boolInt(rec.Done), sqldb.Millis(s.db.Now().Add(ttl))).
			Suffix(upsert).
			RunWith(s.db.Write).ExecContext(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("complete idempotency key tenant=%d: %w", tenantID, err)
	}
	return nil
}

// Release deletes the pending reservation of (tenantID, key) that this
// Store made, and nothing else: not a completed record, and not a newer
// reservation another process (or replica) took over after this one
// expired. The port does not pass the request id, so the Store remembers the
// request id of each reservation it holds until Complete or Release. Within
// one process, a reservation that expired and was taken over by another
// request of the same process cannot be told apart from it.
func (s *Store) Release(ctx context.Context, tenantID int64, key string) error {
	if err := sqldb.RequireTenant("release idempotency key", tenantID); err != nil {
		return err
	}
	v, ok := s.idemOwned.LoadAndDelete(idemKey{tenantID, key})
	if !ok {
		return nil
	}
	_, err := s.db.SB.Delete("idempotency_keys").
		Where("tenant_id = ? AND idem_key = ? AND request_id = ? AND done = 0", tenantID, key, v.(string)).
		RunWith(s.db.Write).ExecContext(ctx)
	if err != nil {
		return fmt.Errorf("release idempotency key tenant=%d: %w", tenantID, err)
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
