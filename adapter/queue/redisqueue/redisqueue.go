// Package redisqueue is the distributed batch queue: one Redis stream read by
// a consumer group, so every worker replica shares it. One stream entry holds
// one accepted request (a whole batch, encoded by batchcodec).
//
// Delivery: Fetch first takes over entries another consumer left pending
// longer than LeaseTimeout (XPENDING IDLE + XCLAIM, which also gives their
// delivery counts), then reads new ones (XREADGROUP >). An entry delivered
// MaxDeliveries times whose lease expires again is copied to Stream+":dead"
// and removed. Ack removes entries from the group and the stream, so XLEN is
// the backlog.
//
// An entry whose payload this build cannot decode is an alarm, not routine:
// Fetch logs it at ERROR ("queue entry unreadable"), counts it
// (QueueStats.Unreadable) and moves it, payload and all, to the dead stream.
//
// Consumers: a worker that dies leaves its name in the group. Once others
// have claimed its entries, Fetch removes such a consumer (nothing pending,
// idle for DeadConsumerIdle), so the group does not collect one name per
// restart.
package redisqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pulsemetrics/pulse/adapter/queue/batchcodec"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/flush"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// The queue serves both sides of the hand-off, and describes itself.
var (
	_ ingest.Queue      = (*Queue)(nil)
	_ flush.Source      = (*Queue)(nil)
	_ flush.StatsSource = (*Queue)(nil)
)

// ErrClosed is returned by calls on a closed Queue.
var ErrClosed = errors.New("redisqueue: queue is closed")

// payloadField is the stream entry field holding the encoded batch.
const payloadField = "b"

// maxBlock bounds one XREADGROUP BLOCK, so a waiting Fetch notices ctx
// cancellation (go-redis does not interrupt a blocked read) within it.
const maxBlock = 200 * time.Millisecond

// Options configures the queue. Stream is required; zero values of the rest
// take the defaults.
type Options struct {
	// Stream is the stream key.
	Stream string
	// Group is the consumer group shared by all workers (default "pulse-workers").
	Group string
	// Consumer names this process in the group; it must be unique per
	// process (default hostname-pid-n).
	Consumer string
	// LeaseTimeout is how long an entry may stay pending with a consumer
	// before another one takes it over (default 30s).
	LeaseTimeout time.Duration
	// MaxDeliveries is how many times an entry is delivered before it is
	// moved to Stream+":dead" (default 10).
	MaxDeliveries int
	// MaxLen caps the backlog: an Enqueue that finds MaxLen entries not yet
	// acknowledged fails with an error wrapping ingest.ErrBackpressure
	// (0 = no cap). Entries are never trimmed away unread.
	MaxLen int64
	// DeadConsumerIdle is how long a consumer of the group with nothing
	// pending must have been idle before Fetch removes it from the group
	// (default 3 × LeaseTimeout). Removing one with nothing pending loses
	// nothing: a live consumer it was is recreated by its next read.
	DeadConsumerIdle time.Duration
	// Logger receives dead-letter and unreadable-entry reports (default
	// slog.Default()).
	Logger *slog.Logger
}

var consumerSeq atomic.Int64

func (o *Options) defaults() error {
	if o.Stream == "" {
		return errors.New("redisqueue: Options.Stream is required")
	}
	if o.Group == "" {
		o.Group = "pulse-workers"
	}
	if o.Consumer == "" {
		host, _ := os.Hostname()
		o.Consumer = fmt.Sprintf("%s-%d-%d", host, os.Getpid(), consumerSeq.Add(1))
	}
	if o.LeaseTimeout <= 0 {
		o.LeaseTimeout = 30 * time.Second
	}
	if o.MaxDeliveries <= 0 {
		o.MaxDeliveries = 10
	}
	if o.DeadConsumerIdle <= 0 {
		o.DeadConsumerIdle = 3 * o.LeaseTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// Queue is the Redis Streams queue. It implements ingest.Queue and
// flush.Source and is safe for concurrent use.
type Queue struct {
	rdb    *redis.Client
	opts   Options
	dead   string
	closed atomic.Bool

	unreadable atomic.Int64 // entries found undecodable by this Queue
	nextSweep  atomic.Int64 // Unix ns of the next dead-consumer sweep
}

// New creates the consumer group (and the stream) if they do not exist.
// The queue does not own client: Close leaves it open.
func New(client *redis.Client, opts Options) (*Queue, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	q := &Queue{rdb: client, opts: opts, dead: opts.Stream + ":dead"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.ensureGroup(ctx); err != nil {
		return nil, err
	}
	return q, nil
}

func (q *Queue) ensureGroup(ctx context.Context) error {
	err := q.rdb.XGroupCreateMkStream(ctx, q.opts.Stream, q.opts.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("create group %s on %s: %w", q.opts.Group, q.opts.Stream, err)
	}
	return nil
}

// enqueueCapped adds the entry only while the stream holds fewer than
// ARGV[1] entries; it returns false when full.
var enqueueCapped = redis.NewScript(`
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end
return redis.call('XADD', KEYS[1], '*', ARGV[2], ARGV[3])`)

// Enqueue adds b as one stream entry. It returns once Redis has accepted the
// write (durability then rests on Redis' AOF settings).
func (q *Queue) Enqueue(ctx context.Context, b metric.Batch) error {
	if q.closed.Load() {
		return ErrClosed
	}
	payload := batchcodec.Encode(b)
	if q.opts.MaxLen > 0 {
		err := enqueueCapped.Run(ctx, q.rdb, []string{q.opts.Stream}, q.opts.MaxLen, payloadField, payload).Err()
		if errors.Is(err, redis.Nil) {
			return fmt.Errorf("enqueue batch %s: %d entries queued: %w", b.ID, q.opts.MaxLen, ingest.ErrBackpressure)
		}
		if err != nil {
			return fmt.Errorf("enqueue batch %s: %w", b.ID, err)
		}
		return nil
	}
	if err := q.rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.opts.Stream, Values: []any{payloadField, payload}}).Err(); err != nil {
		return fmt.Errorf("enqueue batch %s: %w", b.ID, err)
	}
	return nil
}

// Fetch returns up to max entries: first those whose lease expired, else new
// ones, waiting up to wait for the first. It returns an empty slice when none
// came in time and ctx's error if ctx ends first.
func (q *Queue) Fetch(ctx context.Context, max int, wait time.Duration) ([]flush.Delivery, error) {
	if q.closed.Load() {
		return nil, ErrClosed
	}
	if max <= 0 {
		return nil, nil
	}
	q.maybeSweep(ctx)
	deadline := time.Now().Add(wait)
	for {
		ds, err := q.claim(ctx, max)
		if err != nil || len(ds) > 0 {
			return ds, q.ctxErr(ctx, err)
		}
		left := time.Until(deadline)
		block := min(left, maxBlock)
		if block < time.Millisecond {
			block = -1 // no BLOCK: BLOCK 0 would wait forever
		}
		ds, err = q.read(ctx, max, block)
		if err != nil || len(ds) > 0 {
			return ds, q.ctxErr(ctx, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("fetch: %w", err)
		}
		if block < 0 || left <= maxBlock {
			return []flush.Delivery{}, nil
		}
	}
}

// ctxErr reports a cancelled ctx as such rather than as the I/O error it caused.
func (q *Queue) ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("fetch: %w", ctx.Err())
	}
	return err
}

// read takes new entries with XREADGROUP.
func (q *Queue) read(ctx context.Context, max int, block time.Duration) ([]flush.Delivery, error) {
	args := &redis.XReadGroupArgs{
		Group: q.opts.Group, Consumer: q.opts.Consumer,
		Streams: []string{q.opts.Stream, ">"}, Count: int64(max), Block: block,
	}
	res, err := q.rdb.XReadGroup(ctx, args).Result()
	if err != nil && strings.HasPrefix(err.Error(), "NOGROUP") {
		// The stream or group vanished (a Redis without persistence restarted).
		if err := q.ensureGroup(ctx); err != nil {
			return nil, err
		}
		res, err = q.rdb.XReadGroup(ctx, args).Result()
	}
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fetch: xreadgroup %s: %w", q.opts.Stream, err)
	}
	var ds []flush.Delivery
	for _, s := range res {
		for _, m := range s.Messages {
			if d, ok := q.delivery(ctx, m, 1); ok {
				ds = append(ds, d)
			}
		}
	}
	return ds, nil
}

// claim takes over entries pending longer than the lease, dead-lettering
// those already delivered MaxDeliveries times.
func (q *Queue) claim(ctx context.Context, max int) ([]flush.Delivery, error) {
	for {
		pending, err := q.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
			Stream: q.opts.Stream, Group: q.opts.Group, Idle: q.opts.LeaseTimeout,
			Start: "-", End: "+", Count: int64(max),
		}).Result()
		if err != nil && !strings.HasPrefix(err.Error(), "NOGROUP") {
			return nil, fmt.Errorf("fetch: xpending %s: %w", q.opts.Stream, err)
		}
		if len(pending) == 0 {
			return nil, nil
		}
		delivered := make(map[string]int64, len(pending))
		ids := make([]string, len(pending))
		for i, p := range pending {
			delivered[p.ID], ids[i] = p.RetryCount, p.ID
		}
		// MinIdle makes the takeover exclusive: a consumer racing us for the
		// same entry finds it no longer idle and gets nothing.
		msgs, err := q.rdb.XClaim(ctx, &redis.XClaimArgs{
			Stream: q.opts.Stream, Group: q.opts.Group, Consumer: q.opts.Consumer,
			MinIdle: q.opts.LeaseTimeout, Messages: ids,
		}).Result()
		if err != nil {
			return nil, fmt.Errorf("fetch: xclaim %s: %w", q.opts.Stream, err)
		}
		var ds []flush.Delivery
		buried := 0
		for _, m := range msgs {
			attempts := int(delivered[m.ID]) + 1
			if attempts > q.opts.MaxDeliveries {
				if err := q.bury(ctx, m, attempts-1, "max deliveries reached"); err != nil {
					return ds, err
				}
				buried++
				continue
			}
			if d, ok := q.delivery(ctx, m, attempts); ok {
				ds = append(ds, d)
			}
		}
		if len(ds) > 0 || buried == 0 {
			return ds, nil
		}
	}
}

// delivery decodes m; an unreadable entry is reported, counted and
// dead-lettered (ok false).
func (q *Queue) delivery(ctx context.Context, m redis.XMessage, attempts int) (flush.Delivery, bool) {
	payload, _ := m.Values[payloadField].(string)
	b, err := batchcodec.DecodeString(payload)
	if err != nil {
		// A payload this build cannot read never will: dead-letter it, and
		// raise the alarm (it was accepted, it will not be stored).
		q.unreadable.Add(1)
		q.opts.Logger.Error("queue entry unreadable", "stream", q.opts.Stream, "id", m.ID, "err", err,
			"payload_bytes", len(payload), "attempts", attempts)
		if err := q.bury(ctx, m, attempts, "unreadable payload: "+err.Error()); err != nil {
			q.opts.Logger.Error("dead-letter failed", "stream", q.opts.Stream, "id", m.ID, "err", err)
		}
		return flush.Delivery{}, false
	}
	return flush.Delivery{ID: m.ID, Batch: b, Attempts: attempts}, true
}

// bury copies m to the dead stream and removes it from the queue, atomically.
func (q *Queue) bury(ctx context.Context, m redis.XMessage, deliveries int, reason string) error {
	payload, _ := m.Values[payloadField].(string)
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAdd(ctx, &redis.XAddArgs{Stream: q.dead, Values: []any{
			payloadField, payload, "id", m.ID, "deliveries", deliveries, "reason", reason,
		}})
		p.XAck(ctx, q.opts.Stream, q.opts.Group, m.ID)
		p.XDel(ctx, q.opts.Stream, m.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("dead-letter %s: %w", m.ID, err)
	}
	q.opts.Logger.Warn("queue entry dead-lettered", "stream", q.opts.Stream, "id", m.ID,
		"deliveries", deliveries, "reason", reason, "dead_stream", q.dead)
	return nil
}

// Ack removes the entries from the group and the stream in one transaction.
func (q *Queue) Ack(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, q.opts.Stream, q.opts.Group, ids...)
		p.XDel(ctx, q.opts.Stream, ids...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("ack %d entries on %s: %w", len(ids), q.opts.Stream, err)
	}
	return nil
}

// Backlog counts entries not yet acknowledged (pending ones included).
func (q *Queue) Backlog(ctx context.Context) (int64, error) {
	n, err := q.rdb.XLen(ctx, q.opts.Stream).Result()
	if err != nil {
		return 0, fmt.Errorf("backlog of %s: %w", q.opts.Stream, err)
	}
	return n, nil
}

// DeadLetters counts the entries in the dead stream.
func (q *Queue) DeadLetters(ctx context.Context) (int64, error) {
	n, err := q.rdb.XLen(ctx, q.dead).Result()
	if err != nil {
		return 0, fmt.Errorf("dead letters of %s: %w", q.opts.Stream, err)
	}
	return n, nil
}

// statsScript reads every figure of Stats in one atomic step, without
// sending any payload back: KEYS[1] the stream, KEYS[2] the dead stream,
// ARGV[1] the group. It returns the stream length, the group's pending
// count, the first entry's id (false when empty), the dead stream's length
// and Redis' clock (seconds, microseconds).
var statsScript = redis.NewScript(`
local pending = 0
local summary = redis.pcall('XPENDING', KEYS[1], ARGV[1])
if type(summary) == 'table' and not summary.err then pending = summary[1] end
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local id = false
if #first > 0 then id = first[1][1] end
local now = redis.call('TIME')
return {redis.call('XLEN', KEYS[1]), pending, id, redis.call('XLEN', KEYS[2]), now[1], now[2]}`)

// Stats describes the stream (as every worker sees it; Unreadable is this
// Queue's own count): Pending is the group's pending entries list (an
// expired lease included), Waiting the rest of the stream (acknowledged
// entries are deleted, so the stream holds only unacknowledged ones), and
// OldestAge the age of the stream's first entry by its id, on Redis' clock.
// One script, whose work does not grow with the backlog.
func (q *Queue) Stats(ctx context.Context) (flush.QueueStats, error) {
	res, err := statsScript.Run(ctx, q.rdb, []string{q.opts.Stream, q.dead}, q.opts.Group).Slice()
	if err != nil {
		return flush.QueueStats{}, fmt.Errorf("stats of %s: %w", q.opts.Stream, err)
	}
	if len(res) != 6 {
		return flush.QueueStats{}, fmt.Errorf("stats of %s: %d values from the script", q.opts.Stream, len(res))
	}
	length, _ := res[0].(int64)
	pending, _ := res[1].(int64)
	dead, _ := res[3].(int64)
	s := flush.QueueStats{
		Waiting:     max(length-pending, 0),
		Pending:     pending,
		DeadLetters: dead,
		Unreadable:  q.unreadable.Load(),
	}
	if id, ok := res[2].(string); ok {
		ms, err1 := strconv.ParseInt(strings.SplitN(id, "-", 2)[0], 10, 64)
		sec, err2 := strconv.ParseInt(fmt.Sprint(res[4]), 10, 64)
		usec, err3 := strconv.ParseInt(fmt.Sprint(res[5]), 10, 64)
		if err := errors.Join(err1, err2, err3); err != nil {
			return flush.QueueStats{}, fmt.Errorf("stats of %s: first entry %q at %v.%v: %w", q.opts.Stream, id, res[4], res[5], err)
		}
		s.OldestAge = max(time.Duration(sec*1e6+usec-ms*1e3)*time.Microsecond, 0)
	}
	return s, nil
}

// sweepScript removes from group ARGV[1] of stream KEYS[1] every consumer
// but ARGV[2] that has nothing pending and has been idle for at least
// ARGV[3] ms, and returns their names. Checking and removing in one script
// is what makes it safe: XGROUP DELCONSUMER drops a consumer's pending
// entries with it, and a consumer cannot fetch between the check and the
// removal.
var sweepScript = redis.NewScript(`
local consumers = redis.pcall('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
if type(consumers) ~= 'table' or consumers.err then return {} end
local removed = {}
for _, c in ipairs(consumers) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f.name ~= ARGV[2] and tonumber(f.pending) == 0 and tonumber(f.idle) >= tonumber(ARGV[3]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f.name)
    removed[#removed + 1] = f.name
  end
end
return removed`)

// sweepConsumers removes dead consumers (see sweepScript) and returns
// their names.
func (q *Queue) sweepConsumers(ctx context.Context) ([]string, error) {
	removed, err := sweepScript.Run(ctx, q.rdb, []string{q.opts.Stream},
		q.opts.Group, q.opts.Consumer, q.opts.DeadConsumerIdle.Milliseconds()).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("remove dead consumers of %s: %w", q.opts.Stream, err)
	}
	for _, name := range removed {
		q.opts.Logger.Info("dead queue consumer removed", "stream", q.opts.Stream, "group", q.opts.Group,
			"consumer", name, "idle_at_least", q.opts.DeadConsumerIdle)
	}
	return removed, nil
}

// maybeSweep runs sweepConsumers at most once per LeaseTimeout per Queue
// (a consumer's entries are claimed a lease after it died, and it is
// removed DeadConsumerIdle after its last read). A failure is only logged:
// the sweep is housekeeping.
func (q *Queue) maybeSweep(ctx context.Context) {
	now := time.Now().UnixNano()
	next := q.nextSweep.Load()
	if now < next || !q.nextSweep.CompareAndSwap(next, now+q.opts.LeaseTimeout.Nanoseconds()) {
		return
	}
	if _, err := q.sweepConsumers(ctx); err != nil && ctx.Err() == nil {
		q.opts.Logger.Warn("dead consumer sweep failed", "stream", q.opts.Stream, "err", err)
	}
}

// Ping checks Redis answers.
func (q *Queue) Ping(ctx context.Context) error {
	if q.closed.Load() {
		return ErrClosed
	}
	if err := q.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// Close makes later calls fail with ErrClosed. It does not close the client.
//
// A consumer with nothing pending is removed from the group, so restarts
// do not pile up dead consumer names; one with pending entries stays until
// another consumer claims them (removing it would drop them from the PEL).
func (q *Queue) Close() error {
	if q.closed.Swap(true) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pending, err := q.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: q.opts.Stream, Group: q.opts.Group, Consumer: q.opts.Consumer, Start: "-", End: "+", Count: 1,
	}).Result()
	if err != nil || len(pending) > 0 {
		return nil //nolint:nilerr // best effort: the group stays correct either way
	}
	_ = q.rdb.XGroupDelConsumer(ctx, q.opts.Stream, q.opts.Group, q.opts.Consumer).Err()
	return nil
}
