// Package redisidempotency keeps ingest Idempotency-Keys in Redis, shared by
// every API replica. One string key per (tenant, Idempotency-Key) holds the
// encoded record; Redis expires it (PX), so expiry follows the Redis
// server's clock, not the caller's.
package redisidempotency

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// The store serves the ingest use case.
var _ ingest.IdempotencyStore = (*Store)(nil)

// DefaultPrefix prefixes every key when New is given "".
const DefaultPrefix = "pulse:idem:"

// reserveScript returns the live record, or stores ARGV[1] for ARGV[2] ms
// and returns false. A key Redis has expired is absent.
var reserveScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`)

// releaseScript deletes the key only if it still holds exactly ARGV[1].
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// Store is the Redis IdempotencyStore. Safe for concurrent use.
type Store struct {
	client *redis.Client
	prefix string
	// owned maps the Redis key of each reservation this Store holds to the
	// encoded pending record it wrote (see Release).
	owned sync.Map
}

// New returns a store keeping records under prefix + tenant id + ":" + key
// (prefix "" means DefaultPrefix).
func New(client *redis.Client, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{client: client, prefix: prefix}
}

func (s *Store) key(tenantID int64, key string) string {
	return s.prefix + strconv.FormatInt(tenantID, 10) + ":" + key
}

// Reserve stores rec for ttl unless a live record exists, which it returns
// with found=true; one Lua script, so exactly one concurrent caller wins.
func (s *Store) Reserve(ctx context.Context, tenantID int64, key string, rec ingest.IdempotencyRecord, ttl time.Duration) (ingest.IdempotencyRecord, bool, error) {
	k := s.key(tenantID, key)
	val := encode(rec)
	got, err := reserveScript.Run(ctx, s.client, []string{k}, val, ttlMillis(ttl)).Text()
	if errors.Is(err, redis.Nil) {
		s.owned.Store(k, val)
		return ingest.IdempotencyRecord{}, false, nil
	}
	if err != nil {
		return ingest.IdempotencyRecord{}, false, fmt.Errorf("reserve idempotency key tenant=%d: %w", tenantID, err)
	}
	existing, err := decode(got)
	if err != nil {
		return ingest.IdempotencyRecord{}, false, fmt.Errorf("reserve idempotency key tenant=%d: %w", tenantID, err)
	}
	return existing, true, nil
}

// Complete stores rec for ttl, whatever the key held before.
func (s *Store) Complete(ctx context.Context, tenantID int64, key string, rec ingest.IdempotencyRecord, ttl time.Duration) error {
	k := s.key(tenantID, key)
	if v, ok := s.owned.Load(k); ok {
		if r, err := decode(v.(string)); err == nil && r.RequestID == rec.RequestID {
			s.owned.CompareAndDelete(k, v)
		}
	}
	if err := s.client.Set(ctx, k, encode(rec), max(ttl, time.Millisecond)).Err(); err != nil {
		return fmt.Errorf("complete idempotency key tenant=%d: %w", tenantID, err)
	}
	return nil
}

// Release deletes the pending reservation of (tenantID, key) that this
// Store made, and nothing else: not a completed record, and not a newer
// reservation another process took over after this one expired (a
// compare-and-delete on the exact value written). The port does not pass the
// request id, so the Store remembers its reservations until Complete or
// Release. Within one process, a reservation that expired and was taken over
// by another request of the same process cannot be told apart from it.
func (s *Store) Release(ctx context.Context, tenantID int64, key string) error {
	k := s.key(tenantID, key)
	v, ok := s.owned.LoadAndDelete(k)
	if !ok {
		return nil
	}
	if err := releaseScript.Run(ctx, s.client, []string{k}, v.(string)).Err(); err != nil {
		return fmt.Errorf("release idempotency key tenant=%d: %w", tenantID, err)
	}
	return nil
}

func ttlMillis(d time.Duration) int64 { return max(d.Milliseconds(), 1) }

// Record encoding: version 1, done flag, 32-byte fingerprint, accepted
// (uint32 big endian), then the request id.
const (
	version   = 1
	headerLen = 1 + 1 + 32 + 4
)

func encode(r ingest.IdempotencyRecord) string {
	b := make([]byte, headerLen, headerLen+len(r.RequestID))
	b[0] = version
	if r.Done {
		b[1] = 1
	}
	copy(b[2:34], r.Fingerprint[:])
	binary.BigEndian.PutUint32(b[34:38], uint32(r.Accepted))
	return string(append(b, r.RequestID...))
}

func decode(s string) (ingest.IdempotencyRecord, error) {
	if len(s) < headerLen || s[0] != version {
		return ingest.IdempotencyRecord{}, fmt.Errorf("unreadable idempotency record (%d bytes)", len(s))
	}
	var r ingest.IdempotencyRecord
	r.Done = s[1] == 1
	copy(r.Fingerprint[:], s[2:34])
	r.Accepted = int(binary.BigEndian.Uint32([]byte(s[34:38])))
	r.RequestID = s[headerLen:]
	return r, nil
}
