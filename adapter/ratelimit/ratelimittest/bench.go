package ratelimittest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// BenchSamples is the size of one benchmarked request: the ingest request
// the limiter's cost is compared with.
const BenchSamples = 1000

// benchKeys is how many tokens the benchmarked traffic spreads over.
const benchKeys = 1000

// benchQuota is large enough that every benchmarked Take is accepted (and
// therefore writes), with the real clock, at any plausible rate.
var benchQuota = ingest.Quota{RequestsPerMinute: 600_000_000, SamplesPerMinute: 6_000_000_000}

// Benchmark measures Take of BenchSamples samples over benchKeys tokens,
// from one goroutine ("serial", the latency a request sees) and from 1 and
// 8 goroutines per GOMAXPROCS ("parallel×p", the throughput; ×8 stands for
// a busy API server with many requests in flight). Besides ns/op it
// reports cpu-ns/op, the CPU this process spent per Take, and, when
// serverCPU is not nil, server-cpu-ns/op from the difference of its readings
// (a Redis server's CPU, say). l must read the real clock.
func Benchmark(b *testing.B, l ingest.RateLimiter, serverCPU func() time.Duration) {
	keys := make([]string, benchKeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench-%04d", i)
	}
	ctx := context.Background()
	var denied atomic.Int64
	takeOne := func(i int) {
		d, err := l.Take(ctx, keys[i%benchKeys], BenchSamples, benchQuota)
		if err != nil {
			b.Fatal(err)
		}
		if !d.Allowed {
			denied.Add(1)
		}
	}
	run := func(b *testing.B, loop func(b *testing.B)) {
		denied.Store(0)
		var server0 time.Duration
		if serverCPU != nil {
			server0 = serverCPU()
		}
		cpu0 := processCPU()
		b.ResetTimer()
		loop(b)
		b.StopTimer()
		if cpu := processCPU() - cpu0; cpu > 0 {
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
		if serverCPU != nil {
			b.ReportMetric(float64((serverCPU()-server0).Nanoseconds())/float64(b.N), "server-cpu-ns/op")
		}
		if n := denied.Load(); n > 0 {
			b.Fatalf("%d of %d benchmarked takes were denied; the benchmark measures accepts", n, b.N)
		}
	}
	b.Run("serial", func(b *testing.B) {
		run(b, func(b *testing.B) {
			for i := range b.N {
				takeOne(i)
			}
		})
	})
	for _, p := range []int{1, 8} {
		b.Run(fmt.Sprintf("parallel×%d", p), func(b *testing.B) {
			var next atomic.Int64
			run(b, func(b *testing.B) {
				b.SetParallelism(p)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						takeOne(int(next.Add(1)))
					}
				})
			})
		})
	}
}
