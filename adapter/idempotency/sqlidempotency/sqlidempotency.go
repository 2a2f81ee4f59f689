package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// The store keeps Idempotency-Keys for the ingest use case.
var _ ingest.IdempotencyStore = (*Store)(nil)

// SetClock sets the store's time source (default time.Now): it decides when
// idempotency keys and dedupe ids expire and stamps new rows. Call it before
// the store is used.
func (s *Store) SetClock(now func() time.Time) { s.clock = now }

func (s *Store) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
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
// A missing tenant is ErrTenantRequired (so are Complete and Release).
func (s *Store) Reserve(ctx context.Context, tenantID int64, key string, rec ingest.IdempotencyRecord, ttl time.Duration) (ingest.IdempotencyRecord, bool, error) {
	if err := requireTenant("reserve idempotency key", tenantID); err != nil {
		return ingest.IdempotencyRecord{}, false, err
	}
	for range reserveAttempts {
		now := s.now()
		expires := millis(now.Add(ttl))
		_, err := s.sb.Insert("idempotency_keys").
			Columns("tenant_id", "idem_key", "fingerprint", "request_id", "accepted", "done", "expires_at").
			Values(tenantID, key, rec.Fingerprint[:], rec.RequestID, rec.Accepted, boolInt(rec.Done), expires).
			RunWith(s.write).ExecContext(ctx)
		if err == nil {
			s.idemOwned.Store(idemKey{tenantID, key}, rec.RequestID)
			return ingest.IdempotencyRecord{}, false, nil
		}
		if !s.d.isDuplicate(err) && !s.d.isRetryable(err) {
			return ingest.IdempotencyRecord{}, false, fmt.Errorf("reserve idempotency key tenant=%d: %w", tenantID, err)
		}
		existing, expiresAt, ok, err := s.readIdem(ctx, tenantID, key)
		if err != nil {
			return ingest.IdempotencyRecord{}, false, err
		}
		if !ok {
			continue // released or purged meanwhile: insert again
		}
		if expiresAt > millis(now) {
			return existing, true, nil
		}
		// Expired: take it over unless another caller did so first (it
		// then holds a future expires_at and this UPDATE matches nothing).
		res, err := s.sb.Update("idempotency_keys").
			Set("fingerprint", rec.Fingerprint[:]).Set("request_id", rec.RequestID).
			Set("accepted", rec.Accepted).Set("done", boolInt(rec.Done)).Set("expires_at", expires).
			Where("tenant_id = ? AND idem_key = ? AND expires_at <= ?", tenantID, key, millis(now)).
			RunWith(s.write).ExecContext(ctx)
		if err != nil {
			if s.d.isRetryable(err) {
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
	err = s.sb.Select("fingerprint", "request_id", "accepted", "done", "expires_at").From("idempotency_keys").
		Where("tenant_id = ? AND idem_key = ?", tenantID, key).
		RunWith(s.write).QueryRowContext(ctx).
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
	if err := requireTenant("complete idempotency key", tenantID); err != nil {
		return err
	}
	s.idemOwned.CompareAndDelete(idemKey{tenantID, key}, rec.RequestID)
	upsert := "ON CONFLICT (tenant_id, idem_key) DO UPDATE SET fingerprint = excluded.fingerprint, request_id = excluded.request_id, " +
		"accepted = excluded.accepted, done = excluded.done, expires_at = excluded.expires_at"
	if s.d.name == "mysql" {
		upsert = "ON DUPLICATE KEY UPDATE fingerprint = VALUES(fingerprint), request_id = VALUES(request_id), " +
			"accepted = VALUES(accepted), done = VALUES(done), expires_at = VALUES(expires_at)"
	}
	err := s.retry(ctx, func() error {
		_, err := s.sb.Insert("idempotency_keys").
			Columns("tenant_id", "idem_key", "fingerprint", "request_id", "accepted", "done", "expires_at").
			Values(tenantID, key, rec.Fingerprint[:], rec.RequestID, rec.Accepted, boolInt(rec.Done), millis(s.now().Add(ttl))).
			Suffix(upsert).
			RunWith(s.write).ExecContext(ctx)
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
	if err := requireTenant("release idempotency key", tenantID); err != nil {
		return err
	}
	v, ok := s.idemOwned.LoadAndDelete(idemKey{tenantID, key})
	if !ok {
		return nil
	}
	_, err := s.sb.Delete("idempotency_keys").
		Where("tenant_id = ? AND idem_key = ? AND request_id = ? AND done = 0", tenantID, key, v.(string)).
		RunWith(s.write).ExecContext(ctx)
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
