// Package memratelimit is the in-process rate limiter of the single binary:
// each key's two theoretical arrival times (requests, samples) live in a map
// in memory and follow the GCRA rule of domain/quota. State is lost on
// restart, which only forgives quota already spent.
//
// Concurrency: the map is split into shards, each behind its own mutex, so
// requests of different tokens rarely wait on each other; the two counts of
// one key are checked and taken under one lock, hence atomically.
//
// Memory: an entry whose both TATs have passed carries no information (a
// fresh key behaves the same), so each shard drops such entries in a sweep
// at most once per quota.Window; the map therefore holds only the keys active
// during roughly the last two minutes.
package memratelimit

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/pulsemetrics/pulse/domain/quota"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

var _ ingest.RateLimiter = (*Limiter)(nil)

// shardCount is a power of two well above the core count: with a short
// critical section, contention between tokens becomes negligible.
const shardCount = 64

// Limiter holds per-key quotas in memory. Safe for concurrent use.
type Limiter struct {
	clock  func() time.Time
	seed   maphash.Seed
	shards [shardCount]shard
}

type shard struct {
	mu        sync.Mutex
	cells     map[string]cell
	nextSweep int64 // Unix ns; the shard is swept on the first Take at or after it
}

// cell is one key's state: the TAT (Unix ns) of each count, 0 when untouched.
type cell struct {
	requests, samples int64
}

// New returns an empty limiter reading the time from clock.
func New(clock func() time.Time) *Limiter {
	l := &Limiter{clock: clock, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].cells = make(map[string]cell)
	}
	return l
}

// Take charges one request and samples samples to key's quota q: both are
// taken only if both fit. A zero field of q is unlimited.
func (l *Limiter) Take(_ context.Context, key string, samples int64, q ingest.Quota) (ingest.RateDecision, error) {
	if samples < 0 {
		return ingest.RateDecision{}, fmt.Errorf("memratelimit: negative sample count %d", samples)
	}
	now := l.clock().UnixNano()
	if q.RequestsPerMinute <= 0 && q.SamplesPerMinute <= 0 {
		_, sd := quota.Take(0, now, samples, 0)
		return ingest.CombineRate(ingest.Quota{}, quota.Decision{}, sd), nil
	}
	sh := &l.shards[maphash.String(l.seed, key)%shardCount]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if now >= sh.nextSweep {
		sh.sweep(now)
	}
	c := sh.cells[key]
	rTAT, rd := quota.Take(c.requests, now, 1, q.RequestsPerMinute)
	sTAT, sd := quota.Take(c.samples, now, samples, q.SamplesPerMinute)
	if rd.Allowed && sd.Allowed {
		sh.cells[key] = cell{requests: rTAT, samples: sTAT}
	}
	return ingest.CombineRate(q, rd, sd), nil
}

// sweep drops the entries whose TATs have both passed. Called with mu held.
func (s *shard) sweep(now int64) {
	for k, c := range s.cells {
		if c.requests <= now && c.samples <= now {
			delete(s.cells, k)
		}
	}
	s.nextSweep = now + int64(quota.Window)
}
