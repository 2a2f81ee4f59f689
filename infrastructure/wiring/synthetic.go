package wiring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/wire"

	"github.com/pulsemetrics/pulse/adapter/store/samples"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/outage"
	"github.com/pulsemetrics/pulse/domain/synth"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/usecase/flush"
	"github.com/pulsemetrics/pulse/usecase/ingest"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// SyntheticWriter is what writing generated samples into the configured
// store needs (`pulse generate` without --url, `pulse demo`): the ingest
// use case in front of the queue, and the queue's consuming end with the
// samples store behind it, to drain what was enqueued.
type SyntheticWriter struct {
	Config  *config.Config
	Log     *slog.Logger
	Tenancy *tenancy.Service
	Ingest  *ingest.Service
	Queue   Queue
	Samples *samples.Store
}

// SyntheticSet builds a SyntheticWriter (the CLI's injectors).
var SyntheticSet = wire.NewSet(ProvideClock, ProvideLogger, ProvideBrokerAccounts, StoreSet, ProvideRedis, ProvideQueue,
	ProvideTenancy, ProvideRateLimiter, ProvideIdempotency, ProvideIngest, wire.Struct(new(SyntheticWriter), "*"))

// SyntheticOptions tune WriteSynthetic; zero fields take the defaults.
type SyntheticOptions struct {
	// Batch is the number of samples per ingest request (default 5000).
	Batch int
	// Concurrency is the number of requests in flight (default 4).
	Concurrency int
}

// synthBacklog bounds the queue entries WriteSynthetic lets wait before it
// enqueues more: what it accepted is stored at about the pace it is
// accepted, and the queue file does not grow with the size of the plan.
const synthBacklog = 64

// synthStall is how long the drain may make no progress before
// WriteSynthetic gives up (a store that keeps failing).
const synthStall = 2 * time.Minute

// WriteSynthetic writes plan's samples for the tenant with the slug through
// the ingest use case, as a client's would be (validation, the tenant's
// retention, the series cap and back-pressure apply; no token is involved,
// so no token's quota is charged), then drains the queue into the store
// with flush loops of its own (PULSE_WORKER_CONCURRENCY of them), so that
// every sample is queryable when it returns, whether or not a `pulse serve`
// (or any worker) runs. A `pulse serve` on the same data dir is fine: the
// embedded queue and SQLite are shared files (WAL, busy timeout), its
// workers and these drain the same queue, and the store keeps each sample
// once. progress, if not nil, is told the samples accepted so far (never
// concurrently). It returns the samples accepted.
func WriteSynthetic(ctx context.Context, w SyntheticWriter, tenantSlug string, plan synth.Plan, opts SyntheticOptions, progress func(done int64)) (int64, error) {
	if opts.Batch <= 0 {
		opts.Batch = 5000
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	tenantID, err := w.Tenancy.TenantIDBySlug(ctx, tenantSlug)
	switch {
	case errors.Is(err, tenant.ErrDisabled):
		return 0, fmt.Errorf("tenant %s is disabled (pulse tenant update %s --enable)", tenantSlug, tenantSlug)
	case errors.Is(err, tenant.ErrNotFound):
		return 0, fmt.Errorf("no tenant with the slug %q (create it: pulse tenant create %s)", tenantSlug, tenantSlug)
	case err != nil:
		return 0, err
	}
	before, err := w.Queue.Stats(ctx)
	if err != nil {
		return 0, fmt.Errorf("read the queue: %w", err)
	}

	drainCtx, stopDrain := context.WithCancel(ctx)
	d := newSynthDrain(w)
	d.start(drainCtx)
	defer func() { stopDrain(); d.wait() }()

	var (
		done     atomic.Int64
		lastAt   atomic.Int64 // Unix ms after the latest Accept returned
		progMu   sync.Mutex
		firstErr error
		errOnce  sync.Once
	)
	genCtx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; stopGen() })
	}
	batches := make(chan []metric.Input)
	var senders sync.WaitGroup
	for range opts.Concurrency {
		senders.Add(1)
		go func() {
			defer senders.Done()
			for in := range batches {
				if err := acceptSynthetic(genCtx, w, tenantID, in); err != nil {
					fail(err)
					continue // keep draining the channel so Generate returns
				}
				lastAt.Store(time.Now().UnixMilli())
				n := done.Add(int64(len(in)))
				if progress != nil {
					progMu.Lock()
					progress(n)
					progMu.Unlock()
				}
			}
		}()
	}
	genErr := plan.Generate(opts.Batch, func(in []metric.Input) error {
		if err := waitBacklog(genCtx, w.Queue); err != nil {
			return err
		}
		select {
		case batches <- in:
			return nil
		case <-genCtx.Done():
			return genCtx.Err()
		}
	})
	close(batches)
	senders.Wait()
	if firstErr != nil {
		return done.Load(), firstErr
	}
	if genErr != nil {
		return done.Load(), genErr
	}
	if err := d.untilStored(ctx, lastAt.Load(), before.DeadLetters); err != nil {
		return done.Load(), err
	}
	return done.Load(), nil
}

// acceptSynthetic hands one batch to the ingest use case, waiting while
// the queue pushes back or a dependency is away (never dropping it).
func acceptSynthetic(ctx context.Context, w SyntheticWriter, tenantID int64, in []metric.Input) error {
	delay := 50 * time.Millisecond
	var unavailableSince time.Time
	for {
		_, err := w.Ingest.Accept(ctx, ingest.Request{Caller: ingest.Caller{TenantID: tenantID}, Inputs: in})
		var ve *metric.ValidationError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ve):
			return fmt.Errorf("the store refused the generated samples: %s", describeValidation(ve, in))
		case errors.Is(err, ingest.ErrBackpressure):
			unavailableSince = time.Time{}
		case errors.Is(err, outage.ErrUnavailable):
			if unavailableSince.IsZero() {
				unavailableSince = time.Now()
			} else if time.Since(unavailableSince) > synthStall {
				return fmt.Errorf("ingest: %w (for %s)", err, synthStall)
			}
		default:
			return fmt.Errorf("ingest: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
}

// describeValidation names the first problem with the sample it is about.
func describeValidation(ve *metric.ValidationError, in []metric.Input) string {
	if len(ve.Errors) == 0 {
		return ve.Error()
	}
	f := ve.Errors[0]
	what := f.Field + ": " + f.Message
	if f.Index >= 0 && f.Index < len(in) {
		s := in[f.Index]
		what = fmt.Sprintf("%s%s at %s: %s", s.Name, formatTags(s.Tags), s.TS.UTC().Format(time.RFC3339), what)
	}
	if len(ve.Errors) > 1 {
		what += fmt.Sprintf(" (and %d more problems)", len(ve.Errors)-1)
	}
	return what
}

// formatTags writes tags as {k=v,…} in key order ("" for none).
func formatTags(tags map[string]string) string {
	if len(tags) == 0 {
		return ""
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + tags[k]
	}
	return "{" + strings.Join(keys, ",") + "}"
}

// waitBacklog waits while the queue holds more than synthBacklog entries.
func waitBacklog(ctx context.Context, q Queue) error {
	for {
		n, err := q.Backlog(ctx)
		if err != nil || n <= synthBacklog {
			return nil // a failing read is the Accept's to report
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// synthDrain is WriteSynthetic's flush loops.
type synthDrain struct {
	w       SyntheticWriter
	loops   int
	wg      sync.WaitGroup
	lastErr atomic.Pointer[error]
}

func newSynthDrain(w SyntheticWriter) *synthDrain {
	return &synthDrain{w: w, loops: max(1, w.Config.WorkerConcurrency)}
}

// start runs the flush loops until ctx ends. Each finishes the chunk it
// holds before it looks at ctx again (FlushOnce), so nothing it fetched
// waits for a lease to expire when it stops in time.
func (d *synthDrain) start(ctx context.Context) {
	cfg := d.w.Config
	for i := range d.loops {
		fw := flush.NewWorker(d.w.Queue, d.w.Samples, flush.Config{ChunkSamples: cfg.FlushChunk, Linger: cfg.FlushLinger}, d.w.Log.With("worker", i))
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			delay := 100 * time.Millisecond
			for ctx.Err() == nil {
				if _, err := fw.FlushOnce(ctx); err != nil {
					if ctx.Err() != nil {
						return
					}
					d.lastErr.Store(&err)
					select {
					case <-ctx.Done():
					case <-time.After(delay):
					}
					delay = min(delay*2, 5*time.Second)
					continue
				}
				delay = 100 * time.Millisecond
			}
		}()
	}
}

func (d *synthDrain) wait() { d.wg.Wait() }

// untilStored waits until every entry enqueued up to lastAt (Unix ms) has
// left the queue: the queue is empty, or its oldest entry is younger than
// that (another client's, which other workers or these store next). An
// entry dead-lettered meanwhile (deadBefore counted at the start) is an
// error: accepted samples that were not stored.
func (d *synthDrain) untilStored(ctx context.Context, lastAt, deadBefore int64) error {
	const margin = time.Second // clocks of the queue and of this process
	lastChange, lastTotal := time.Now(), int64(-1)
	for {
		now := time.Now()
		st, err := d.w.Queue.Stats(ctx)
		if err == nil {
			if st.DeadLetters > deadBefore {
				return fmt.Errorf("%d queue entries were dead-lettered while draining: some accepted samples were not stored (see the log and /readyz)", st.DeadLetters-deadBefore)
			}
			total := st.Waiting + st.Pending
			if total == 0 || now.Add(-st.OldestAge).UnixMilli() > lastAt+margin.Milliseconds() {
				return nil
			}
			if total != lastTotal {
				lastTotal, lastChange = total, now
			}
		}
		if time.Since(lastChange) > synthStall {
			cause := err
			if p := d.lastErr.Load(); p != nil {
				cause = *p
			}
			return fmt.Errorf("the queue has not drained for %s (%d entries left): %v", synthStall, lastTotal, cause)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}
