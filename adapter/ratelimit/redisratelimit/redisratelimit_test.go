package redisratelimit_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pulsemetrics/pulse/adapter/ratelimit/ratelimittest"
	"github.com/pulsemetrics/pulse/adapter/ratelimit/redisratelimit"
	"github.com/pulsemetrics/pulse/domain/quota"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

func TestContract(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T, clock func() time.Time) ingest.RateLimiter {
		client, prefix := testservice.Redis(t)
		return redisratelimit.New(client, redisratelimit.Options{Prefix: prefix, Clock: clock})
	})
}

func take(t *testing.T, l *redisratelimit.Limiter, key string, n int64, q ingest.Quota) ingest.RateDecision {
	t.Helper()
	d, err := l.Take(context.Background(), key, n, q)
	if err != nil {
		t.Fatalf("take: %v", err)
	}
	return d
}

// TestReplicasShareOneQuota: two limiters on two connections (two API
// replicas) draw from the same quota.
func TestReplicasShareOneQuota(t *testing.T) {
	client, prefix := testservice.Redis(t)
	other := redis.NewClient(&redis.Options{Addr: testservice.RedisAddr()})
	t.Cleanup(func() { _ = other.Close() })
	c := ratelimittest.NewClock(ratelimittest.Start)
	a := redisratelimit.New(client, redisratelimit.Options{Prefix: prefix, Clock: c.Now})
	b := redisratelimit.New(other, redisratelimit.Options{Prefix: prefix, Clock: c.Now})
	q := ingest.Quota{RequestsPerMinute: 10, SamplesPerMinute: 1000}
	allowed := 0
	for i := range 20 {
		l := a
		if i%2 == 1 {
			l = b
		}
		if take(t, l, "tok", 1, q).Allowed {
			allowed++
		}
	}
	if allowed != 10 {
		t.Fatalf("two replicas allowed %d requests under a shared 10/min quota", allowed)
	}
}

// TestServerClock: with no Clock the script reads the server's TIME.
func TestServerClock(t *testing.T) {
	client, prefix := testservice.Redis(t)
	l := redisratelimit.New(client, redisratelimit.Options{Prefix: prefix})
	q := ingest.Quota{RequestsPerMinute: 5, SamplesPerMinute: 1_000_000}
	for i := range 5 {
		if d := take(t, l, "tok", 100, q); !d.Allowed || d.Limit != "samples_per_minute" {
			t.Fatalf("request %d of a 5/min quota: %+v", i+1, d)
		}
	}
	d := take(t, l, "tok", 100, q)
	if d.Allowed || d.Limit != "requests_per_minute" || d.Max != 5 {
		t.Fatalf("6th request of a 5/min quota: %+v", d)
	}
	// The burst took 5×12 s of the window; the next one is due 12 s after it
	// began, less the time the test took.
	if d.RetryAfter <= 10*time.Second || d.RetryAfter > 12*time.Second || d.Reset <= 58*time.Second || d.Reset > time.Minute {
		t.Fatalf("retry after %s, reset %s; want just under 12 s and 1 min", d.RetryAfter, d.Reset)
	}
}

// TestStoredStateIsExactAndExpires: the stored TAT is the one quota.Take
// computes, to the nanosecond, and each key expires a second after its TAT passes.
func TestStoredStateIsExactAndExpires(t *testing.T) {
	client, prefix := testservice.Redis(t)
	c := ratelimittest.NewClock(ratelimittest.Start)
	l := redisratelimit.New(client, redisratelimit.Options{Prefix: prefix, Clock: c.Now})
	q := ingest.Quota{RequestsPerMinute: 7, SamplesPerMinute: 1001} // intervals with no round ns
	var rTAT, sTAT int64
	for range 3 {
		c.Advance(123_456_789 * time.Nanosecond)
		now := c.Now().UnixNano()
		rTAT, _ = quota.Take(rTAT, now, 1, q.RequestsPerMinute)
		sTAT, _ = quota.Take(sTAT, now, 333, q.SamplesPerMinute)
		if d := take(t, l, "tok", 333, q); !d.Allowed {
			t.Fatalf("denied: %+v", d)
		}
	}
	ctx := context.Background()
	for suffix, want := range map[string]int64{":r": rTAT, ":s": sTAT} {
		key := prefix + "tok" + suffix
		got, err := client.Get(ctx, key).Result()
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		if got != strconv.FormatInt(want, 10) {
			t.Fatalf("%s holds %s; quota.Take says %d", key, got, want)
		}
		ttl, err := client.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		until := time.Duration(want - c.Now().UnixNano())
		if ttl <= until || ttl > until+time.Second+time.Millisecond {
			t.Fatalf("%s expires in %s; its TAT passes in %s (want a second later)", key, ttl, until)
		}
	}
}

func TestUnlimitedCountTouchesNoKey(t *testing.T) {
	client, prefix := testservice.Redis(t)
	l := redisratelimit.New(client, redisratelimit.Options{Prefix: prefix, Clock: time.Now})
	take(t, l, "tok", 10, ingest.Quota{SamplesPerMinute: 100})
	take(t, l, "none", 10, ingest.Quota{})
	keys, err := client.Keys(context.Background(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != prefix+"tok:s" {
		t.Fatalf("keys %v; want only %stok:s", keys, prefix)
	}
}

func TestDefaultPrefix(t *testing.T) {
	client, _ := testservice.Redis(t)
	key := testservice.UniqueName("test-")
	t.Cleanup(func() { client.Del(context.Background(), "pulse:rl:"+key+":r") })
	l := redisratelimit.New(client, redisratelimit.Options{})
	take(t, l, key, 1, ingest.Quota{RequestsPerMinute: 10})
	if n, err := client.Exists(context.Background(), "pulse:rl:"+key+":r").Result(); err != nil || n != 1 {
		t.Fatalf("key under the default prefix: exists=%d err=%v", n, err)
	}
}

// TestRedisDownIsAnError: an unreachable Redis fails the request rather than
// letting it through unchecked or panicking.
func TestRedisDownIsAnError(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = client.Close() })
	l := redisratelimit.New(client, redisratelimit.Options{})
	_, err := l.Take(context.Background(), "tok", 1, ingest.Quota{RequestsPerMinute: 10})
	if err == nil || !strings.Contains(err.Error(), "key=tok") {
		t.Fatalf("take against no server: err=%v", err)
	}
}

func TestTakeAfterCloseFails(t *testing.T) {
	client, prefix := testservice.Redis(t)
	l := redisratelimit.New(client, redisratelimit.Options{Prefix: prefix})
	l.Close()
	l.Close() // idempotent
	if _, err := l.Take(context.Background(), "k", 1, ingest.Quota{SamplesPerMinute: 10}); err == nil {
		t.Fatal("Take after Close succeeded")
	}
}

// A key outlives its TAT by a second: a caller whose clock lags Redis's (here
// a stopped clock while real milliseconds pass) keeps its spent quota
// instead of finding the key expired and a fresh quota (this flaked in CI
// when keys expired right at their TAT).
func TestSpentQuotaSurvivesALaggingClock(t *testing.T) {
	client, prefix := testservice.Redis(t)
	c := ratelimittest.NewClock(ratelimittest.Start)
	l := redisratelimit.New(client, redisratelimit.Options{Prefix: prefix, Clock: c.Now})
	q := ingest.Quota{RequestsPerMinute: 10, SamplesPerMinute: 1_000_000}
	for i := int64(1); i <= 3; i++ {
		take(t, l, "tok", 1, q)
	}
	time.Sleep(20 * time.Millisecond) // the samples key's TAT is 180 µs ahead
	if d := take(t, l, "tok", 1, q); d.Remaining != 1_000_000-4 {
		t.Fatalf("after 20 ms of real time: %+v, want the fourth sample counted", d)
	}
}
