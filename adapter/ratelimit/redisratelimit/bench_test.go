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

// BenchmarkTake measures one Take (a 1,000-sample request) against the test
// Redis, with the server's clock as in production. server-cpu-ns/op is the
// Redis process's CPU per Take; cpu-ns/op plus server-cpu-ns/op is the whole
// cost to set against the ~0.8–1 ms of CPU an accepted request costs.
//
// Measured on the 2-core dev box (Redis 7.0 local, noisy): with 8 requests
// in flight per core, ~14 µs client + ~17 µs Redis CPU per Take, i.e. ~3–4 %
// of an accept; the script itself is ~9–11 µs of that (commandstats), the
// rest is the round trip (PING through the same harness: ~8 + ~5 µs). With
// one request at a time an idle box spends up to ~2–3× more, mostly Go's
// scheduler spinning while it waits for the reply.
func BenchmarkTake(b *testing.B) {
	client, prefix := testservice.Redis(b)
	l := redisratelimit.New(client, redisratelimit.Options{Prefix: prefix})
	ratelimittest.Benchmark(b, l, func() time.Duration { return serverCPU(b, client) })
}

// BenchmarkPingBaseline is one PING per op through the same harness: the
// cost of any Redis round trip, which Take cannot go below.
func BenchmarkPingBaseline(b *testing.B) {
	client, _ := testservice.Redis(b)
	ratelimittest.Benchmark(b, pinger{client}, func() time.Duration { return serverCPU(b, client) })
}

type pinger struct{ c *redis.Client }

func (p pinger) Take(ctx context.Context, _ string, _ int64, _ ingest.Quota) (ingest.RateDecision, error) {
	return ingest.RateDecision{Decision: quota.Decision{Allowed: true}}, p.c.Ping(ctx).Err()
}

// serverCPU reads the Redis server's used_cpu_user + used_cpu_sys.
func serverCPU(b *testing.B, client *redis.Client) time.Duration {
	info, err := client.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for line := range strings.SplitSeq(info, "\r\n") {
		name, value, ok := strings.Cut(line, ":")
		if ok && (name == "used_cpu_user" || name == "used_cpu_sys") {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				b.Fatalf("parse %s: %v", line, err)
			}
			total += v
		}
	}
	return time.Duration(total * float64(time.Second))
}
