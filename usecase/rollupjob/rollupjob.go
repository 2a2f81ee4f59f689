// Package rollupjob runs the downsampling job: it drains the store's list
// of pending ranges into exact rollups, one bounded pass at a time, under a
// lease so that of several scheduler replicas only one works at once.
package rollupjob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pulsemetrics/pulse/domain/rollup"
)

//go:generate go tool mockgen -destination=mock_ports_test.go -package=rollupjob_test . Store,Leases

// Store recomputes pending rollups. RollupPending handles up to limit
// pending ranges in one transaction and reports what it did; a pass with
// Pending == 0 means nothing was left.
type Store interface {
	RollupPending(ctx context.Context, holder string, steps rollup.Steps, limit int) (rollup.Pass, error)
	PendingRollups(ctx context.Context) (int64, error)
}

// Leases coordinate replicas: AcquireLease takes or renews a named lease.
type Leases interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// LeaseName is the job's lease.
const LeaseName = rollup.LeaseName

// ErrLeaseLost means another replica took the lease during a run (this one
// stalled past the lease's time to live); the run stops at once.
var ErrLeaseLost = errors.New("rollup lease lost to another replica")

// Options tune the job; zero fields take the defaults.
type Options struct {
	Steps       rollup.Steps  // default rollup.DefaultSteps
	PassLimit   int           // pending ranges per pass (transaction), default 2,000
	LeaseTTL    time.Duration // default 1 min; renewed before every pass
	Holder      string        // this replica's name in the lease (required)
	ProgressLog time.Duration // how often a long run logs progress, default 5 s
}

// Report sums up one Run.
type Report struct {
	Skipped  bool // another replica holds the lease
	Passes   int
	Pending  int
	Series   int
	RawRows  int64
	Buckets  int
	Duration time.Duration
}

// Service is the rollup job.
type Service struct {
	mu     sync.Mutex // one Run at a time per Service: they share the holder name
	store  Store
	leases Leases
	opts   Options
	log    *slog.Logger
	now    func() time.Time
	// OnPass, if set, is told about every pass (for metrics).
	OnPass func(p rollup.Pass, took time.Duration)
}

// New returns the job. log may be nil.
func New(store Store, leases Leases, opts Options, log *slog.Logger) (*Service, error) {
	if opts.Holder == "" {
		return nil, fmt.Errorf("rollup job: a lease holder name is required")
	}
	if len(opts.Steps) == 0 {
		opts.Steps = rollup.DefaultSteps
	}
	if opts.PassLimit <= 0 {
		opts.PassLimit = 2000
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = time.Minute
	}
	if opts.ProgressLog <= 0 {
		opts.ProgressLog = 5 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, leases: leases, opts: opts, log: log, now: time.Now}, nil
}

// Run drains the pending list: passes run until one finds nothing left or
// ctx ends. Without the lease it does nothing and reports Skipped.
func (s *Service) Run(ctx context.Context) (Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := s.now()
	var rep Report
	ok, err := s.leases.AcquireLease(ctx, LeaseName, s.opts.Holder, s.opts.LeaseTTL)
	if err != nil {
		return rep, fmt.Errorf("rollup: %w", err)
	}
	if !ok {
		rep.Skipped = true
		s.log.Debug("rollup skipped: another replica holds the lease")
		return rep, nil
	}
	defer func() {
		// A fresh context: the lease is released even when ctx ended.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.leases.ReleaseLease(rctx, LeaseName, s.opts.Holder); err != nil {
			s.log.Warn("rollup: release lease", "err", err)
		}
	}()
	lastLog := start
	for {
		if rep.Passes > 0 {
			ok, err := s.leases.AcquireLease(ctx, LeaseName, s.opts.Holder, s.opts.LeaseTTL)
			if err != nil {
				return s.finish(rep, start), fmt.Errorf("rollup: renew lease: %w", err)
			}
			if !ok {
				return s.finish(rep, start), ErrLeaseLost
			}
		}
		passStart := s.now()
		p, err := s.store.RollupPending(ctx, s.opts.Holder, s.opts.Steps, s.opts.PassLimit)
		if errors.Is(err, rollup.ErrNotLeaseHolder) {
			return s.finish(rep, start), fmt.Errorf("rollup pass %d: %w", rep.Passes+1, ErrLeaseLost)
		}
		if err != nil {
			return s.finish(rep, start), fmt.Errorf("rollup pass %d: %w", rep.Passes+1, err)
		}
		if p.Pending == 0 {
			break
		}
		rep.Passes++
		rep.Pending += p.Pending
		rep.Series += p.Series
		rep.RawRows += p.RawRows
		rep.Buckets += p.Buckets
		if s.OnPass != nil {
			s.OnPass(p, s.now().Sub(passStart))
		}
		if now := s.now(); now.Sub(lastLog) >= s.opts.ProgressLog {
			lastLog = now
			left, err := s.store.PendingRollups(ctx)
			if err != nil {
				left = -1
			}
			s.log.Info("rollup progress", "passes", rep.Passes, "raw_rows", rep.RawRows, "buckets", rep.Buckets,
				"pending_left", left, "raw_rows_per_s", int64(float64(rep.RawRows)/now.Sub(start).Seconds()))
		}
		if p.Pending < s.opts.PassLimit {
			break // the list was shorter than a pass: drained for now
		}
		if err := ctx.Err(); err != nil {
			return s.finish(rep, start), err
		}
	}
	rep = s.finish(rep, start)
	if rep.Passes > 0 {
		s.log.Info("rollup done", "passes", rep.Passes, "series", rep.Series, "raw_rows", rep.RawRows,
			"buckets", rep.Buckets, "took", rep.Duration.Round(time.Millisecond))
	}
	return rep, nil
}

func (s *Service) finish(rep Report, start time.Time) Report {
	rep.Duration = s.now().Sub(start)
	return rep
}
