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
package redisqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pulsemetrics/pulse/adapter/batchcodec"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/flush"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// The queue serves both sides of the hand-off.
var (
	_ ingest.Queue = (*Queue)(nil)
	_ flush.Source = (*Queue)(nil)
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
	// Logger receives dead-letter reports (default slog.Default()).
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

// delivery decodes m; an unreadable entry is dead-lettered (ok false).
func (q *Queue) delivery(ctx context.Context, m redis.XMessage, attempts int) (flush.Delivery, bool) {
	payload, _ := m.Values[payloadField].(string)
	b, err := batchcodec.DecodeString(payload)
	if err != nil {
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
