// Package idempotencytest is the contract suite of ingest.IdempotencyStore,
// run against every implementation (Redis, SQLite, MariaDB) so they behave
// the same.
package idempotencytest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// Open returns a store on an empty backend whose notion of time is clock.
// Two calls with the same t must return two stores (as two API replicas)
// on the same backend. An implementation whose expiry does not follow
// clock (Redis expires keys on its own clock) may ignore it: the suite
// expires records by advancing clock past the TTL and also waiting it out.
type Open func(t *testing.T, clock func() time.Time) ingest.IdempotencyStore

// ShortTTL is the TTL of the records the suite lets expire.
const ShortTTL = 150 * time.Millisecond

// longTTL is the TTL of records that must stay live during a test.
const longTTL = time.Hour

// Run runs every contract case.
func Run(t *testing.T, open Open) {
	cases := []struct {
		name string
		fn   func(t *testing.T, open func() ingest.IdempotencyStore, clk *Clock)
	}{
		{"ReserveThenFound", testReserveThenFound},
		{"TenantsDoNotCollide", testTenants},
		{"CompleteMakesDoneVisible", testComplete},
		{"ReleaseFreesKey", testRelease},
		{"ReleaseKeepsOthersReservation", testReleaseOthers},
		{"ExpiredCountsAsAbsent", testExpiry},
		{"ConcurrentReserveOneWinner", testConcurrent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := NewClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
			c.fn(t, func() ingest.IdempotencyStore { return open(t, clk.Now) }, clk)
		})
	}
}

// Clock is a settable clock safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock showing start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// expire makes records with ShortTTL expire for either kind of store.
func expire(clk *Clock) {
	clk.Advance(ShortTTL + time.Second)
	time.Sleep(ShortTTL + 100*time.Millisecond)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func rec(id string, accepted int) ingest.IdempotencyRecord {
	r := ingest.IdempotencyRecord{RequestID: id, Accepted: accepted}
	for i := range r.Fingerprint {
		r.Fingerprint[i] = byte(len(id) + i*3 + accepted)
	}
	return r
}

// reserve calls Reserve and checks found against want.
func reserve(t *testing.T, s ingest.IdempotencyStore, tenantID int64, key string, r ingest.IdempotencyRecord, ttl time.Duration, wantFound bool) ingest.IdempotencyRecord {
	t.Helper()
	got, found, err := s.Reserve(ctx(t), tenantID, key, r, ttl)
	if err != nil {
		t.Fatalf("Reserve(%d, %q): %v", tenantID, key, err)
	}
	if found != wantFound {
		t.Fatalf("Reserve(%d, %q) found = %v (existing %+v), want %v", tenantID, key, found, got, wantFound)
	}
	return got
}

func testReserveThenFound(t *testing.T, open func() ingest.IdempotencyStore, _ *Clock) {
	s := open()
	first := rec("req-1", 3)
	reserve(t, s, 1, "key-a", first, longTTL, false)
	if got := reserve(t, s, 1, "key-a", rec("req-2", 5), longTTL, true); got != first {
		t.Fatalf("existing = %+v, want %+v", got, first)
	}
	// Another key of the same tenant is independent.
	reserve(t, s, 1, "key-b", rec("req-3", 1), longTTL, false)
}

func testTenants(t *testing.T, open func() ingest.IdempotencyStore, _ *Clock) {
	s := open()
	reserve(t, s, 1, "same-key", rec("req-1", 1), longTTL, false)
	reserve(t, s, 2, "same-key", rec("req-2", 2), longTTL, false)
	if got := reserve(t, s, 2, "same-key", rec("req-x", 9), longTTL, true); got.RequestID != "req-2" {
		t.Fatalf("tenant 2 sees %+v, want its own req-2", got)
	}
	// Ids that would concatenate alike ("1"+"1:k" vs "11"+":k") stay apart.
	reserve(t, s, 11, ":k", rec("req-3", 1), longTTL, false)
	reserve(t, s, 1, "1:k", rec("req-4", 1), longTTL, false)
}

func testComplete(t *testing.T, open func() ingest.IdempotencyStore, _ *Clock) {
	s := open()
	pending := rec("req-1", 7)
	reserve(t, s, 1, "k", pending, longTTL, false)
	done := pending
	done.Done = true
	if err := s.Complete(ctx(t), 1, "k", done, longTTL); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if got := reserve(t, s, 1, "k", rec("req-2", 7), longTTL, true); got != done {
		t.Fatalf("after Complete: existing = %+v, want %+v", got, done)
	}
	// Release after Complete keeps the final record.
	if err := s.Release(ctx(t), 1, "k"); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if got := reserve(t, s, 1, "k", rec("req-3", 7), longTTL, true); got != done {
		t.Fatalf("after Release of a completed key: existing = %+v, want %+v", got, done)
	}
}

func testRelease(t *testing.T, open func() ingest.IdempotencyStore, _ *Clock) {
	s := open()
	reserve(t, s, 1, "k", rec("req-1", 1), longTTL, false)
	if err := s.Release(ctx(t), 1, "k"); err != nil {
		t.Fatalf("Release: %v", err)
	}
	reserve(t, s, 1, "k", rec("req-2", 2), longTTL, false)
	if got := reserve(t, s, 1, "k", rec("req-3", 3), longTTL, true); got.RequestID != "req-2" {
		t.Fatalf("existing = %+v, want req-2's reservation", got)
	}
	// Releasing an absent key is no error.
	if err := s.Release(ctx(t), 1, "never-reserved"); err != nil {
		t.Fatalf("Release of an absent key: %v", err)
	}
}

func testReleaseOthers(t *testing.T, open func() ingest.IdempotencyStore, clk *Clock) {
	a, b := open(), open() // two replicas
	// a's reservation expires; b takes the key over; a's late Release must
	// not free b's reservation.
	reserve(t, a, 1, "k", rec("req-a", 1), ShortTTL, false)
	expire(clk)
	mine := rec("req-b", 2)
	reserve(t, b, 1, "k", mine, longTTL, false)
	if err := a.Release(ctx(t), 1, "k"); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if got := reserve(t, a, 1, "k", rec("req-c", 3), longTTL, true); got != mine {
		t.Fatalf("after a's late Release: existing = %+v, want b's %+v", got, mine)
	}
	// A replica that never reserved a key cannot release it.
	other := rec("req-d", 4)
	reserve(t, b, 1, "k2", other, longTTL, false)
	if err := a.Release(ctx(t), 1, "k2"); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if got := reserve(t, b, 1, "k2", rec("req-e", 5), longTTL, true); got != other {
		t.Fatalf("after another replica's Release: existing = %+v, want %+v", got, other)
	}
}

func testExpiry(t *testing.T, open func() ingest.IdempotencyStore, clk *Clock) {
	s := open()
	reserve(t, s, 1, "pending", rec("req-1", 1), ShortTTL, false)
	reserve(t, s, 1, "done", rec("req-2", 1), longTTL, false)
	done := rec("req-2", 1)
	done.Done = true
	if err := s.Complete(ctx(t), 1, "done", done, ShortTTL); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	reserve(t, s, 1, "live", rec("req-3", 1), longTTL, false)
	expire(clk)
	// Expired records count as absent: Reserve wins and replaces them.
	fresh := rec("req-4", 4)
	reserve(t, s, 1, "pending", fresh, longTTL, false)
	if got := reserve(t, s, 1, "pending", rec("req-5", 5), longTTL, true); got != fresh {
		t.Fatalf("replaced record = %+v, want %+v", got, fresh)
	}
	reserve(t, s, 1, "done", rec("req-6", 6), longTTL, false)
	if got := reserve(t, s, 1, "live", rec("req-7", 7), longTTL, true); got.RequestID != "req-3" {
		t.Fatalf("live record = %+v, want req-3", got)
	}
}

func testConcurrent(t *testing.T, open func() ingest.IdempotencyStore, clk *Clock) {
	stores := []ingest.IdempotencyStore{open(), open()}
	// Once on a fresh key, once on an expired one (the take-over path).
	reserve(t, stores[0], 1, "expired", rec("req-old", 1), ShortTTL, false)
	expire(clk)
	for _, key := range []string{"fresh", "expired"} {
		const n = 20
		type result struct {
			existing ingest.IdempotencyRecord
			found    bool
			err      error
		}
		results := make([]result, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r := rec(fmt.Sprintf("req-%d", i), i)
				results[i].existing, results[i].found, results[i].err = stores[i%2].Reserve(ctx(t), 1, key, r, longTTL)
			}()
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, r := range results {
			if r.err != nil {
				t.Fatalf("%s: Reserve %d: %v", key, i, r.err)
			}
			if !r.found {
				if winner >= 0 {
					t.Fatalf("%s: Reserve %d and %d both won", key, winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("%s: no Reserve won", key)
		}
		want := rec(fmt.Sprintf("req-%d", winner), winner)
		for i, r := range results {
			if r.found && r.existing != want {
				t.Fatalf("%s: Reserve %d saw %+v, want the winner's %+v", key, i, r.existing, want)
			}
		}
	}
}
