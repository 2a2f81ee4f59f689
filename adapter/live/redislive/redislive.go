// Package redislive is the live feed of a distributed deployment: workers
// XADD each committed batch to one capped Redis stream, and every api
// replica follows it with XREAD. The stream's ids are the hub's ids, so a
// client may resume on any replica; a replica that starts reads the
// stream's recent history first, so it can serve resumes at once.
package redislive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pulsemetrics/pulse/adapter/queue/batchcodec"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/live"
)

// Options name the stream and bound it.
type Options struct {
	// Stream is the key (default "pulse:live").
	Stream string
	// MaxEntries caps the stream, approximately (default 1,000 entries,
	// one per committed batch, i.e. a request's samples): the history a
	// starting replica can replay. Replicas that run follow it within
	// milliseconds; each keeps its own replay buffer, so this bounds
	// Redis's memory, not the resume window.
	MaxEntries int64
	// PublishTimeout bounds one Publish (default 2 s).
	PublishTimeout time.Duration
}

func (o *Options) defaults() {
	if o.Stream == "" {
		o.Stream = "pulse:live"
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 1_000
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = 2 * time.Second
	}
}

// Feed publishes to and follows the stream. Safe for concurrent use.
type Feed struct {
	client *redis.Client
	opts   Options
	log    *slog.Logger
}

// New returns a feed on client.
func New(client *redis.Client, opts Options, log *slog.Logger) *Feed {
	opts.defaults()
	return &Feed{client: client, opts: opts, log: log}
}

// Publish adds one entry per batch in one round trip.
func (f *Feed) Publish(ctx context.Context, batches []metric.Batch) error {
	if len(batches) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.PublishTimeout)
	defer cancel()
	pipe := f.client.Pipeline()
	for _, b := range batches {
		pipe.XAdd(ctx, &redis.XAddArgs{
			Stream: f.opts.Stream, MaxLen: f.opts.MaxEntries, Approx: true,
			Values: []any{"b", batchcodec.Encode(b)},
		})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("publish %d live entries to %s: %w", len(batches), f.opts.Stream, err)
	}
	return nil
}

// Follow reads the history since since, then new entries, until ctx ends;
// it retries Redis failures with a backoff up to 5 s.
func (f *Feed) Follow(ctx context.Context, since live.ID, sink live.Sink) error {
	last, delay := "", 100*time.Millisecond
	for ctx.Err() == nil {
		var err error
		if last == "" {
			last, err = f.history(ctx, since, sink)
		} else {
			last, err = f.tail(ctx, last, sink)
		}
		if err == nil || ctx.Err() != nil {
			delay = 100 * time.Millisecond
			continue
		}
		f.log.Warn("live feed: redis failed, retrying", "stream", f.opts.Stream, "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
	return nil
}

// history delivers the entries from since on and sets the hub's floor:
// since, or the newest entry the stream's cap deleted if that is later
// (Redis 7 keeps it as max-deleted-entry-id).
func (f *Feed) history(ctx context.Context, since live.ID, sink live.Sink) (string, error) {
	info, err := f.client.XInfoStream(ctx, f.opts.Stream).Result()
	if err != nil && !strings.Contains(err.Error(), "no such key") {
		return "", fmt.Errorf("xinfo %s: %w", f.opts.Stream, err)
	}
	floor := since
	if info != nil {
		if deleted, err := live.ParseID(info.MaxDeletedEntryID); err == nil && floor.Less(deleted) {
			floor = deleted
		}
	}
	sink.Floor(floor)
	last := since.String()
	for {
		msgs, err := f.client.XRangeN(ctx, f.opts.Stream, "("+last, "+", 500).Result()
		if err != nil {
			// Go on from what was delivered (tail reads the rest), or the
			// retry would deliver it twice.
			if last != since.String() {
				return last, fmt.Errorf("xrange %s: %w", f.opts.Stream, err)
			}
			return "", fmt.Errorf("xrange %s: %w", f.opts.Stream, err)
		}
		for _, m := range msgs {
			f.deliver(m, sink)
			last = m.ID
		}
		if len(msgs) < 500 {
			return last, nil
		}
	}
}

func (f *Feed) tail(ctx context.Context, last string, sink live.Sink) (string, error) {
	res, err := f.client.XRead(ctx, &redis.XReadArgs{Streams: []string{f.opts.Stream, last}, Count: 500, Block: time.Second}).Result()
	if errors.Is(err, redis.Nil) {
		return last, nil
	}
	if err != nil {
		return last, fmt.Errorf("xread %s: %w", f.opts.Stream, err)
	}
	for _, st := range res {
		for _, m := range st.Messages {
			f.deliver(m, sink)
			last = m.ID
		}
	}
	return last, nil
}

func (f *Feed) deliver(m redis.XMessage, sink live.Sink) {
	id, err := live.ParseID(m.ID)
	raw, ok := m.Values["b"].(string)
	if err != nil || !ok {
		f.log.Error("live feed: malformed entry skipped", "stream", f.opts.Stream, "id", m.ID)
		return
	}
	b, err := batchcodec.DecodeString(raw)
	if err != nil {
		f.log.Error("live feed: undecodable entry skipped", "stream", f.opts.Stream, "id", m.ID, "err", err)
		return
	}
	sink.Entry(live.Entry{ID: id, Batch: b})
}
