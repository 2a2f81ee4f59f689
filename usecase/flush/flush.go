// Package flush moves accepted batches from the queue into the sample store.
// Delivery is at-least-once; the store is idempotent, so the effect is exactly once.
package flush

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
)

//go:generate go tool mockgen -destination=mock_ports_test.go -package=flush_test . Source,Store,Publisher

// Delivery is one queue entry handed to a worker.
type Delivery struct {
	ID       string
	Batch    metric.Batch
	Attempts int
}

// Source is the consuming side of the queue. Fetch leases up to max entries
// (waiting up to wait for the first one); entries not acknowledged are
// redelivered after the queue's lease timeout. Safe for concurrent use.
type Source interface {
	Fetch(ctx context.Context, max int, wait time.Duration) ([]Delivery, error)
	Ack(ctx context.Context, ids []string) error
}

// Store writes batches durably and idempotently: writing the same batch twice
// stores its samples once. It returns only after commit, with what became
// of every sample (Written).
type Store interface {
	WriteBatches(ctx context.Context, batches []metric.Batch) (Written, error)
}

// Publisher tells the live view of batches that committed
// (usecase/live's feed). It must return promptly; its failure costs the
// live charts points, never the store.
type Publisher interface {
	Publish(ctx context.Context, batches []metric.Batch) error
}

// Config tunes chunking and retries.
type Config struct {
	// ChunkSamples is the number of samples gathered before a write.
	ChunkSamples int
	// Linger is how long to wait for more entries before writing a partial chunk.
	Linger time.Duration
	// MaxBackoff caps the retry delay when the store fails.
	MaxBackoff time.Duration
	// AckDelay pauses between commit and acknowledgement. For crash tests
	// only: it widens the window in which a killed worker has committed rows
	// whose queue entries are still unacknowledged.
	AckDelay time.Duration
	// WriteTimeout bounds one store write (default 1 minute): a database
	// that stalls makes the attempt fail and be retried, never hang.
	WriteTimeout time.Duration
}

// Worker is one flushing loop.
type Worker struct {
	src   Source
	store Store
	cfg   Config
	log   *slog.Logger
	// OnFlushed, if set, is told what each committed write did.
	OnFlushed func(w Written, took time.Duration)
	// Live, if set, is given each chunk's batches once they committed.
	Live Publisher
}

// NewWorker returns a flushing loop.
func NewWorker(src Source, store Store, cfg Config, log *slog.Logger) *Worker {
	if cfg.ChunkSamples <= 0 {
		cfg.ChunkSamples = 5000
	}
	if cfg.Linger <= 0 {
		cfg.Linger = 50 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = time.Minute
	}
	return &Worker{src: src, store: store, cfg: cfg, log: log}
}

// Run flushes until ctx is done. It gathers the next chunk while the current
// one is being written, so queue round trips and decoding overlap the
// database's work. A chunk in progress when ctx ends is left unacknowledged
// and is redelivered after the lease: nothing is lost.
func (w *Worker) Run(ctx context.Context) error {
	chunks := make(chan []Delivery) // unbuffered: at most one chunk gathered ahead
	go w.gatherLoop(ctx, chunks)
	delay := w.firstDelay()
	for {
		var ds []Delivery
		select {
		case <-ctx.Done():
			return nil
		case ds = <-chunks:
		}
		if _, err := w.writeAndAck(ctx, ds); err != nil && ctx.Err() == nil {
			w.log.Error("flush failed", "err", err)
			w.sleep(ctx, delay)
			delay = min(delay*2, w.cfg.MaxBackoff)
			continue
		}
		delay = w.firstDelay()
	}
}

// gatherLoop feeds chunks to Run until ctx ends, backing off while the queue
// fails so that an unreachable queue neither spins a core nor floods the log.
func (w *Worker) gatherLoop(ctx context.Context, out chan<- []Delivery) {
	delay := w.firstDelay()
	for ctx.Err() == nil {
		ds, err := w.gather(ctx)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Error("fetch failed", "err", err, "retry_in", delay)
				w.sleep(ctx, delay)
				delay = min(delay*2, w.cfg.MaxBackoff)
			}
			continue
		}
		delay = w.firstDelay()
		if len(ds) == 0 {
			continue
		}
		select {
		case out <- ds:
		case <-ctx.Done():
			return
		}
	}
}

func (w *Worker) sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

func (w *Worker) firstDelay() time.Duration { return min(100*time.Millisecond, w.cfg.MaxBackoff) }

// FlushOnce gathers one chunk, writes it (retrying with backoff until it
// commits or ctx ends) and acknowledges it. It returns the samples written.
func (w *Worker) FlushOnce(ctx context.Context) (int, error) {
	deliveries, err := w.gather(ctx)
	if err != nil || len(deliveries) == 0 {
		return 0, err
	}
	return w.writeAndAck(ctx, deliveries)
}

// writeAndAck writes one gathered chunk and acknowledges it after commit.
func (w *Worker) writeAndAck(ctx context.Context, deliveries []Delivery) (int, error) {
	batches := make([]metric.Batch, len(deliveries))
	ids := make([]string, len(deliveries))
	n := 0
	for i, d := range deliveries {
		batches[i], ids[i] = d.Batch, d.ID
		n += len(d.Batch.Samples)
	}
	start := time.Now()
	written, err := w.writeWithRetry(ctx, batches)
	if err != nil {
		return 0, err
	}
	if w.OnFlushed != nil {
		w.OnFlushed(written, time.Since(start))
	}
	if w.Live != nil {
		if err := w.Live.Publish(ctx, batches); err != nil {
			w.log.Warn("live publish failed: open live charts miss these points until they reload", "batches", len(batches), "err", err)
		}
	}
	if w.cfg.AckDelay > 0 {
		w.sleep(ctx, w.cfg.AckDelay)
	}
	if err := w.src.Ack(ctx, ids); err != nil {
		// Rows are committed; redelivery is harmless because the store is idempotent.
		return n, fmt.Errorf("ack %d entries: %w", len(ids), err)
	}
	return n, nil
}

func (w *Worker) gather(ctx context.Context) ([]Delivery, error) {
	var out []Delivery
	samples := 0
	deadline := time.Now().Add(w.cfg.Linger)
	wait := time.Second
	for samples < w.cfg.ChunkSamples {
		got, err := w.src.Fetch(ctx, fetchCount(w.cfg.ChunkSamples-samples, samples, len(out)), wait)
		if err != nil {
			if len(out) > 0 {
				return out, nil
			}
			return nil, fmt.Errorf("fetch: %w", err)
		}
		for _, d := range got {
			samples += len(d.Batch.Samples)
		}
		out = append(out, got...)
		if len(out) == 0 {
			return nil, nil // idle: let Run check ctx
		}
		left := time.Until(deadline)
		if len(got) == 0 || left <= 0 {
			break
		}
		wait = left
	}
	return out, nil
}

// fetchCount turns the samples still wanted into a number of entries to
// fetch. Entries hold a whole request (1 to 10,000 samples), so the first
// fetch takes one entry and later ones size themselves on the average seen:
// a chunk overshoots ChunkSamples by at most about one entry.
func fetchCount(samplesLeft, samplesSeen, entriesSeen int) int {
	if entriesSeen == 0 || samplesSeen == 0 {
		return 1
	}
	per := max(1, samplesSeen/entriesSeen)
	return min(max(1, (samplesLeft+per-1)/per), 100)
}

func (w *Worker) writeWithRetry(ctx context.Context, batches []metric.Batch) (Written, error) {
	delay := w.firstDelay()
	for attempt := 1; ; attempt++ {
		wctx, cancel := context.WithTimeout(ctx, w.cfg.WriteTimeout)
		written, err := w.store.WriteBatches(wctx, batches)
		cancel()
		if err == nil {
			return written, nil
		}
		w.log.Warn("store write failed, retrying", "attempt", attempt, "delay", delay, "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("write %d batches: %w (gave up: %v)", len(batches), err, ctx.Err())
		case <-time.After(delay):
		}
		delay *= 2
		if delay > w.cfg.MaxBackoff {
			delay = w.cfg.MaxBackoff
		}
	}
}
