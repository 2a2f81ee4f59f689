package memratelimit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/ratelimit/memratelimit"
	"github.com/pulsemetrics/pulse/adapter/ratelimit/ratelimittest"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

func TestContract(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T, clock func() time.Time) ingest.RateLimiter {
		return memratelimit.New(clock)
	})
}

// TestIdleKeysAreEvicted: keys whose quota is whole again are dropped, so the
// map holds only recently active tokens.
func TestIdleKeysAreEvicted(t *testing.T) {
	c := ratelimittest.NewClock(ratelimittest.Start)
	l := memratelimit.New(c.Now)
	q := ingest.Quota{RequestsPerMinute: 100, SamplesPerMinute: 10_000}
	takeAll := func(prefix string, n int) {
		for i := range n {
			if _, err := l.Take(context.Background(), fmt.Sprintf("%s%d", prefix, i), 10, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	takeAll("old-", 5000)
	if got := l.Len(); got != 5000 {
		t.Fatalf("holds %d keys after 5000 distinct takes", got)
	}
	c.Advance(30 * time.Second) // the old keys' TATs (now+0.6 s) have passed, but no sweep is due
	takeAll("mid-", 10)
	if got := l.Len(); got != 5010 {
		t.Fatalf("holds %d keys before a sweep is due; want 5010", got)
	}
	c.Advance(31 * time.Second)
	takeAll("new-", 5000) // touches every shard with near certainty (64 shards)
	if got := l.Len(); got != 5000 {
		t.Fatalf("holds %d keys a minute later; want only the 5000 new ones", got)
	}
}

func TestUnlimitedKeepsNoState(t *testing.T) {
	l := memratelimit.New(time.Now)
	for i := range 100 {
		if _, err := l.Take(context.Background(), fmt.Sprint(i), 1, ingest.Quota{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := l.Len(); got != 0 {
		t.Fatalf("an unlimited quota stored %d keys", got)
	}
}

func BenchmarkTake(b *testing.B) {
	ratelimittest.Benchmark(b, memratelimit.New(time.Now), nil)
}
