// Package redisratelimit is the rate limiter shared by every API replica: a
// key's two theoretical arrival times live in Redis, as prefix+key+":r"
// (requests) and prefix+key+":s" (samples), and one Lua script applies the
// GCRA rule of domain/quota to both in a single round trip. Redis runs a
// script atomically, so both counts are checked and both or neither taken,
// whichever replica asks.
//
// Time: by default the script reads the Redis server's TIME, so replicas
// with skewed clocks still agree (needs Redis >= 5, which replicates a
// script's effects rather than the script). Options.Clock replaces it with
// the caller's clock, for tests.
//
// Precision: Lua numbers are doubles, exact only up to 2^53, and a Unix time
// in ns is about 2^61. A TAT is therefore stored as the decimal string of its
// Unix ns (as Go would write it), split by the script into seconds and
// nanoseconds, and all arithmetic is done on the offset from now, which
// stays within a few minutes: the script reproduces quota.Take to the
// nanosecond. Each key expires a second after its TAT passes, so idle keys vanish.
package redisratelimit

import (
	"context"
	_ "embed" // gcra.lua
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pulsemetrics/pulse/domain/quota"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

var _ ingest.RateLimiter = (*Limiter)(nil)

// DefaultPrefix is the key prefix used when Options.Prefix is empty.
const DefaultPrefix = "pulse:rl:"

//go:embed gcra.lua
var gcraLua string

// script is loaded once per server by go-redis (EVALSHA, EVAL on NOSCRIPT).
var script = redis.NewScript(gcraLua)

// Options configures a Limiter; the zero value takes the defaults.
type Options struct {
	// Prefix starts every key (default DefaultPrefix).
	Prefix string
	// Clock, when set, supplies the time instead of the Redis server's TIME.
	// Every replica sharing the keys must then use the same clock.
	Clock func() time.Time
}

// Limiter keeps quotas in Redis. Safe for concurrent use.
//
// Concurrent Takes are coalesced: one goroutine sends whatever calls are
// waiting as a single pipeline (one write and one read for all of them),
// because on the ingest hot path the round trip, not the script, is the
// cost. A lone call goes out at once; nothing waits to fill a batch.
type Limiter struct {
	client *redis.Client
	prefix string
	clock  func() time.Time
	calls  chan *call
	done   chan struct{}
}

// call is one Take waiting for the pipeline.
type call struct {
	keys []string
	args []any
	res  []int64
	err  error
	out  chan struct{}
}

// maxBatch bounds the scripts of one pipeline.
const maxBatch = 128

// New returns a limiter on client. The caller keeps ownership of client;
// Close stops the limiter's sender.
func New(client *redis.Client, opts Options) *Limiter {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	l := &Limiter{client: client, prefix: opts.Prefix, clock: opts.Clock,
		calls: make(chan *call, maxBatch), done: make(chan struct{})}
	go l.send()
	return l
}

// Close stops the sender; Takes after Close fail.
func (l *Limiter) Close() {
	select {
	case <-l.done:
	default:
		close(l.done)
	}
}

// send runs the pipelines until Close.
func (l *Limiter) send() {
	batch := make([]*call, 0, maxBatch)
	for {
		select {
		case <-l.done:
			return
		case c := <-l.calls:
			batch = append(batch[:0], c)
		}
	more:
		for len(batch) < maxBatch {
			select {
			case c := <-l.calls:
				batch = append(batch, c)
			default:
				break more
			}
		}
		l.run(batch)
	}
}

// run sends one pipeline of scripts and hands each caller its answer.
func (l *Limiter) run(batch []*call) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmds := make([]*redis.Cmd, len(batch))
	exec := func() error {
		_, err := l.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, c := range batch {
				cmds[i] = script.EvalSha(ctx, p, c.keys, c.args...)
			}
			return nil
		})
		return err
	}
	err := exec()
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		if err = script.Load(ctx, l.client).Err(); err == nil {
			err = exec()
		}
	}
	for i, c := range batch {
		if cmds[i] != nil {
			c.res, c.err = cmds[i].Int64Slice()
		} else {
			c.err = err
		}
		close(c.out)
	}
}

// Take charges one request and samples samples to key's quota q: both are
// taken only if both fit. A zero field of q is unlimited and touches no key.
func (l *Limiter) Take(ctx context.Context, key string, samples int64, q ingest.Quota) (ingest.RateDecision, error) {
	if samples < 0 {
		return ingest.RateDecision{}, fmt.Errorf("redisratelimit: negative sample count %d", samples)
	}
	rq, sq := max(q.RequestsPerMinute, 0), max(q.SamplesPerMinute, 0)
	if rq == 0 && sq == 0 {
		_, sd := quota.Take(0, 0, samples, 0)
		return ingest.CombineRate(ingest.Quota{}, quota.Decision{}, sd), nil
	}
	var nowS, nowNS int64 = -1, 0 // -1: the script reads TIME
	if l.clock != nil {
		now := l.clock().UnixNano()
		nowS, nowNS = now/1e9, now%1e9
	}
	c := &call{keys: []string{l.prefix + key + ":r", l.prefix + key + ":s"},
		args: []any{nowS, nowNS, rq, 1, sq, samples}, out: make(chan struct{})}
	select {
	case l.calls <- c:
	case <-l.done:
		return ingest.RateDecision{}, fmt.Errorf("redisratelimit: take key=%s: limiter closed", key)
	case <-ctx.Done():
		return ingest.RateDecision{}, fmt.Errorf("redisratelimit: take key=%s: %w", key, ctx.Err())
	}
	select {
	case <-c.out:
	case <-l.done:
		return ingest.RateDecision{}, fmt.Errorf("redisratelimit: take key=%s: limiter closed", key)
	case <-ctx.Done():
		return ingest.RateDecision{}, fmt.Errorf("redisratelimit: take key=%s: %w", key, ctx.Err())
	}
	res, err := c.res, c.err
	if err != nil {
		return ingest.RateDecision{}, fmt.Errorf("redisratelimit: take key=%s: %w", key, err)
	}
	if len(res) != 8 {
		return ingest.RateDecision{}, fmt.Errorf("redisratelimit: take key=%s: script returned %d values, want 8", key, len(res))
	}
	q = ingest.Quota{RequestsPerMinute: rq, SamplesPerMinute: sq}
	return ingest.CombineRate(q, toDecision(res[0:4]), toDecision(res[4:8])), nil
}

// toDecision reads one count's answer: allowed (0/1), remaining, retry
// after (ns), reset (ns).
func toDecision(v []int64) quota.Decision {
	return quota.Decision{Allowed: v[0] == 1, Remaining: v[1], RetryAfter: time.Duration(v[2]), Reset: time.Duration(v[3])}
}
