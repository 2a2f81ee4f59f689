// Package ratelimittest is the contract suite every ingest.RateLimiter (the
// in-memory one of the single binary, the Redis one shared by replicas) must
// pass, so both modes answer the same to the same traffic.
package ratelimittest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/quota"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// Start is the fake clock's first reading. Its nanoseconds catch an adapter
// that rounds time (Lua numbers lose Unix ns precision, for one).
var Start = time.Date(2026, 11, 25, 10, 0, 0, 123456789, time.UTC)

// Names of the quotas, as RateDecision.Limit reports them.
const (
	requests = "requests_per_minute"
	samples  = "samples_per_minute"
)

// NewLimiter opens a limiter reading clock. Limiters opened with the same t
// share their state, as replicas do; limiters of different t never do.
type NewLimiter func(t *testing.T, clock func() time.Time) ingest.RateLimiter

// Run runs the contract against the limiters newLimiter opens.
func Run(t *testing.T, newLimiter NewLimiter) {
	cases := []struct {
		name string
		fn   func(t *testing.T, l ingest.RateLimiter, c *Clock)
	}{
		{"DeniedExactlyAfterRequestQuotaThenBackAfterAMinute", testRequestQuota},
		{"SamplesCountedByCost", testSamplesByCost},
		{"DenialBySamplesTakesNoRequest", testSamplesDenialTakesNoRequest},
		{"DenialByRequestsTakesNoSamples", testRequestDenialTakesNoSamples},
		{"CostAboveQuotaNeverAllowed", testCostAboveQuota},
		{"KeysAreIndependent", testKeysIndependent},
		{"ZeroIsUnlimited", testZeroUnlimited},
		{"RemainingResetAndRetryAfter", testRemainingReset},
		{"ConcurrentTakersNeverExceedTheQuota", testConcurrent},
		{"ConcurrentTakersBothOrNeither", testConcurrentBoth},
		{"NegativeSampleCountIsAnError", testNegative},
		{"MatchesTheDomainRule", testMatchesDomain},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := NewClock(Start)
			tc.fn(t, newLimiter(t, c.Now), c)
		})
	}
}

// Clock is a fake clock safe for concurrent use.
type Clock struct{ ns atomic.Int64 }

// NewClock returns a clock stopped at start.
func NewClock(start time.Time) *Clock {
	c := &Clock{}
	c.ns.Store(start.UnixNano())
	return c
}

// Now reads the clock.
func (c *Clock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func take(t *testing.T, l ingest.RateLimiter, key string, n int64, q ingest.Quota) ingest.RateDecision {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := l.Take(ctx, key, n, q)
	if err != nil {
		t.Fatalf("take %d from %q %+v: %v", n, key, q, err)
	}
	return d
}

// expect compares a whole decision.
func expect(t *testing.T, step string, got, want ingest.RateDecision) {
	t.Helper()
	if got != want {
		t.Fatalf("%s:\n got %s\nwant %s", step, show(got), show(want))
	}
}

func show(d ingest.RateDecision) string {
	return fmt.Sprintf("{Allowed:%v Limit:%q Max:%d Remaining:%d RetryAfter:%s Reset:%s}",
		d.Allowed, d.Limit, d.Max, d.Remaining, d.RetryAfter, d.Reset)
}

func allowed(limit string, max, remaining int64, reset time.Duration) ingest.RateDecision {
	return ingest.RateDecision{Decision: quota.Decision{Allowed: true, Remaining: remaining, Reset: reset}, Limit: limit, Max: max}
}

func denied(limit string, max, remaining int64, retryAfter, reset time.Duration) ingest.RateDecision {
	return ingest.RateDecision{Decision: quota.Decision{Remaining: remaining, RetryAfter: retryAfter, Reset: reset}, Limit: limit, Max: max}
}

// unlimited is the answer when neither count is limited.
var unlimited = ingest.RateDecision{Decision: quota.Decision{Allowed: true, Remaining: 1 << 62}}

func testRequestQuota(t *testing.T, l ingest.RateLimiter, c *Clock) {
	q := ingest.Quota{RequestsPerMinute: 10, SamplesPerMinute: 1_000_000}
	for round := range 2 {
		for i := int64(1); i <= 10; i++ {
			// Accepted: the samples count reports (60 µs per sample).
			expect(t, fmt.Sprintf("round %d request %d", round, i), take(t, l, "tok", 1, q),
				allowed(samples, 1_000_000, 1_000_000-i, time.Duration(i)*60*time.Microsecond))
		}
		expect(t, fmt.Sprintf("round %d request 11", round), take(t, l, "tok", 1, q),
			denied(requests, 10, 0, 6*time.Second, time.Minute))
		c.Advance(time.Minute)
	}
}

func testSamplesByCost(t *testing.T, l ingest.RateLimiter, _ *Clock) {
	q := ingest.Quota{RequestsPerMinute: 100, SamplesPerMinute: 1000}
	expect(t, "600 of 1000", take(t, l, "tok", 600, q), allowed(samples, 1000, 400, 36*time.Second))
	expect(t, "400 more", take(t, l, "tok", 400, q), allowed(samples, 1000, 0, time.Minute))
	expect(t, "1 more", take(t, l, "tok", 1, q), denied(samples, 1000, 0, 60*time.Millisecond, time.Minute))
}

func testSamplesDenialTakesNoRequest(t *testing.T, l ingest.RateLimiter, _ *Clock) {
	q := ingest.Quota{RequestsPerMinute: 2, SamplesPerMinute: 100}
	if d := take(t, l, "tok", 60, q); !d.Allowed {
		t.Fatalf("first request: %s", show(d))
	}
	for i := range 5 {
		expect(t, fmt.Sprintf("over samples #%d", i), take(t, l, "tok", 50, q), denied(samples, 100, 40, 6*time.Second, 36*time.Second))
	}
	// The five denials took no request: one of the two is left.
	expect(t, "requests only", take(t, l, "tok", 0, ingest.Quota{RequestsPerMinute: 2}), allowed(requests, 2, 0, time.Minute))
}

func testRequestDenialTakesNoSamples(t *testing.T, l ingest.RateLimiter, _ *Clock) {
	q := ingest.Quota{RequestsPerMinute: 1, SamplesPerMinute: 100}
	expect(t, "first", take(t, l, "tok", 10, q), allowed(samples, 100, 90, 6*time.Second))
	for i := range 5 {
		expect(t, fmt.Sprintf("over requests #%d", i), take(t, l, "tok", 10, q), denied(requests, 1, 0, time.Minute, time.Minute))
	}
	// The five denials took no samples: 90 are left.
	expect(t, "samples only", take(t, l, "tok", 90, ingest.Quota{SamplesPerMinute: 100}), allowed(samples, 100, 0, time.Minute))
}

func testCostAboveQuota(t *testing.T, l ingest.RateLimiter, _ *Clock) {
	q := ingest.Quota{RequestsPerMinute: 10, SamplesPerMinute: 100}
	expect(t, "101 of 100 on a fresh key", take(t, l, "tok", 101, q), denied(samples, 100, 100, time.Minute, 0))
	expect(t, "then 100", take(t, l, "tok", 100, q), allowed(samples, 100, 0, time.Minute))
	expect(t, "101 on a spent key", take(t, l, "tok", 101, q), denied(samples, 100, 0, time.Minute, time.Minute))
}

func testKeysIndependent(t *testing.T, l ingest.RateLimiter, _ *Clock) {
	q := ingest.Quota{RequestsPerMinute: 2, SamplesPerMinute: 10}
	for _, key := range []string{"a", "b", "a:r", "a:s", "ab"} {
		for i := int64(1); i <= 2; i++ {
			expect(t, fmt.Sprintf("%s #%d", key, i), take(t, l, key, 5, q), allowed(samples, 10, 10-5*i, time.Duration(i)*30*time.Second))
		}
		expect(t, key+" #3", take(t, l, key, 1, q), denied(requests, 2, 0, 30*time.Second, time.Minute))
	}
}

func testZeroUnlimited(t *testing.T, l ingest.RateLimiter, _ *Clock) {
	for i := range 100 {
		expect(t, fmt.Sprintf("no quota #%d", i), take(t, l, "none", 1_000_000_000, ingest.Quota{}), unlimited)
	}
	for i := int64(1); i <= 3; i++ {
		expect(t, fmt.Sprintf("requests only #%d", i), take(t, l, "req", 1_000_000_000, ingest.Quota{RequestsPerMinute: 3}),
			allowed(requests, 3, 3-i, time.Duration(i)*20*time.Second))
	}
	expect(t, "requests only #4", take(t, l, "req", 1, ingest.Quota{RequestsPerMinute: 3}), denied(requests, 3, 0, 20*time.Second, time.Minute))
	for i := int64(1); i <= 10; i++ {
		expect(t, fmt.Sprintf("samples only #%d", i), take(t, l, "smp", 1, ingest.Quota{SamplesPerMinute: 10}),
			allowed(samples, 10, 10-i, time.Duration(i)*6*time.Second))
	}
	expect(t, "samples only #11", take(t, l, "smp", 1, ingest.Quota{SamplesPerMinute: 10}), denied(samples, 10, 0, 6*time.Second, time.Minute))
}

func testRemainingReset(t *testing.T, l ingest.RateLimiter, c *Clock) {
	q := ingest.Quota{RequestsPerMinute: 10, SamplesPerMinute: 1000}
	expect(t, "t0 100", take(t, l, "tok", 100, q), allowed(samples, 1000, 900, 6*time.Second))
	c.Advance(3 * time.Second) // 50 samples come back
	expect(t, "t3 100", take(t, l, "tok", 100, q), allowed(samples, 1000, 850, 9*time.Second))
	expect(t, "t3 900", take(t, l, "tok", 900, q), denied(samples, 1000, 850, 3*time.Second, 9*time.Second))
	c.Advance(3*time.Second - time.Nanosecond)
	if d := take(t, l, "tok", 900, q); d.Allowed || d.RetryAfter != time.Nanosecond {
		t.Fatalf("1 ns before RetryAfter: %s", show(d))
	}
	c.Advance(time.Nanosecond)
	expect(t, "t6 900 after RetryAfter", take(t, l, "tok", 900, q), allowed(samples, 1000, 0, time.Minute))
	c.Advance(time.Minute + time.Hour) // long quiet: the whole quota, no more
	expect(t, "after an hour", take(t, l, "tok", 1000, q), allowed(samples, 1000, 0, time.Minute))
}

// testConcurrent: 50 goroutines on one key; exactly the quota passes.
func testConcurrent(t *testing.T, l ingest.RateLimiter, _ *Clock) {
	q := ingest.Quota{RequestsPerMinute: 20}
	if got := hammer(t, l, 50, 3, 1, q); got != 20 {
		t.Fatalf("%d of 150 concurrent requests allowed under a 20/min quota; want exactly 20", got)
	}
}

// testConcurrentBoth: requests run out before samples; the requests denied
// must not have taken samples, even under contention.
func testConcurrentBoth(t *testing.T, l ingest.RateLimiter, _ *Clock) {
	q := ingest.Quota{RequestsPerMinute: 30, SamplesPerMinute: 1000}
	if got := hammer(t, l, 50, 2, 20, q); got != 30 {
		t.Fatalf("%d of 100 concurrent requests allowed under 30 requests/min; want exactly 30", got)
	}
	expect(t, "samples left", take(t, l, "tok", 400, ingest.Quota{SamplesPerMinute: 1000}), allowed(samples, 1000, 0, time.Minute))
}

// hammer runs goroutines×each takes of n samples on one key and counts the allowed ones.
func hammer(t *testing.T, l ingest.RateLimiter, goroutines, each int, n int64, q ingest.Quota) int64 {
	var ok atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	start := make(chan struct{})
	for range goroutines {
		wg.Go(func() {
			<-start
			for range each {
				d, err := l.Take(context.Background(), "tok", n, q)
				if err != nil {
					errs <- err
					return
				}
				if d.Allowed {
					ok.Add(1)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent take: %v", err)
	}
	return ok.Load()
}

func testNegative(t *testing.T, l ingest.RateLimiter, _ *Clock) {
	if _, err := l.Take(context.Background(), "tok", -1, ingest.Quota{SamplesPerMinute: 10}); err == nil {
		t.Fatal("a negative sample count was accepted; it would give quota back")
	}
}

// testMatchesDomainRule replays random traffic and compares every answer
// with a model built on quota.Take, to the nanosecond.
func testMatchesDomain(t *testing.T, l ingest.RateLimiter, c *Clock) {
	rng := rand.New(rand.NewPCG(7, 11))
	quotas := []ingest.Quota{
		{RequestsPerMinute: 7, SamplesPerMinute: 1001},
		{RequestsPerMinute: 13},
		{SamplesPerMinute: 333},
		{RequestsPerMinute: 6000, SamplesPerMinute: 600_000},
	}
	type tats struct{ r, s int64 }
	model := map[string]tats{}
	for step := range 2000 {
		c.Advance(time.Duration(rng.Int64N(int64(2 * time.Second))))
		k := rng.IntN(len(quotas))
		key := fmt.Sprintf("k%d", k) // one quota per key, as a token has
		q := quotas[k]
		n := rng.Int64N(max(q.SamplesPerMinute/4, 2) + 1)
		now := c.Now().UnixNano()
		m := model[key]
		rTAT, rd := quota.Take(m.r, now, 1, q.RequestsPerMinute)
		sTAT, sd := quota.Take(m.s, now, n, q.SamplesPerMinute)
		want := ingest.RateDecision{Decision: sd}
		switch {
		case q.RequestsPerMinute > 0 && !rd.Allowed:
			want = ingest.RateDecision{Decision: rd, Limit: requests, Max: q.RequestsPerMinute}
		case q.SamplesPerMinute > 0:
			want = ingest.RateDecision{Decision: sd, Limit: samples, Max: q.SamplesPerMinute}
		case q.RequestsPerMinute > 0:
			want = ingest.RateDecision{Decision: rd, Limit: requests, Max: q.RequestsPerMinute}
		}
		if rd.Allowed && sd.Allowed {
			model[key] = tats{rTAT, sTAT}
		}
		expect(t, fmt.Sprintf("step %d: %d samples on %s %+v", step, n, key, q), take(t, l, key, n, q), want)
	}
}
