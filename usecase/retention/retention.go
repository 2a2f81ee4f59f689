// Package retention removes what is older than each tenant's retention:
// raw samples after the tenant's RetentionDays, and rollups after the
// longer of that and a per-step default (1m: 90 days, 5m: 400 days).
//
// On a partitioned store (MariaDB: samples is partitioned by UTC day) a run
// creates the daily partitions ahead of time, drops whole days past the
// longest raw retention of all tenants, and deletes, in bounded chunks, the
// older raw rows only of the tenants whose retention is shorter. Tenants
// with the longest retention are kept to the day (their last day goes with
// its partition). On a store without partitions (SQLite) every tenant's old
// raw rows are deleted in chunks. Rollups are deleted in chunks per tenant
// and step on both.
//
// A run is safe to repeat and to run beside ingest; the scheduler runs it
// under a job lease, `pulse retention run` on demand.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/pulsemetrics/pulse/domain/tenant"
)

//go:generate go tool mockgen -destination=mock_ports_test.go -package=retention_test . Store

// Tenants lists every tenant with its raw retention (disabled ones too:
// their data is kept, but not beyond retention).
type Tenants interface {
	ListTenants(ctx context.Context) ([]tenant.Tenant, error)
}

// Partitions manages the daily partitions of the raw samples. A store
// without partitions answers false to Partitioned and is not asked the
// other two.
type Partitions interface {
	Partitioned() bool
	// EnsurePartitions makes sure partitions exist for the UTC days of now
	// to now+daysAhead and returns the names of those it created.
	EnsurePartitions(ctx context.Context, now time.Time, daysAhead int) ([]string, error)
	// DropPartitionsBefore drops the partitions whose whole range is before
	// cutoff, rows and all, and returns their names.
	DropPartitionsBefore(ctx context.Context, cutoff time.Time) ([]string, error)
}

// Deleter deletes one tenant's old rows in statements of at most chunk rows
// and returns how many it deleted. The tenant id is required.
type Deleter interface {
	// DeleteSamplesBefore deletes the raw samples with ts < cutoffMs.
	DeleteSamplesBefore(ctx context.Context, tenantID, cutoffMs int64, chunk int) (int64, error)
	// DeleteRollupsBefore deletes the rollups of step stepMs whose bucket
	// starts before cutoffMs.
	DeleteRollupsBefore(ctx context.Context, tenantID, stepMs, cutoffMs int64, chunk int) (int64, error)
}

// Store is every port of the use case (one adapter serves them all).
type Store interface {
	Tenants
	Partitions
	Deleter
}

// Defaults of Options.
const (
	DefaultPartitionsAhead = 3
	DefaultChunk           = 10000
)

// DefaultRollupDays is how long rollups of each step are kept by default:
// 1m for 90 days, 5m for 400 days.
func DefaultRollupDays() map[time.Duration]int {
	return map[time.Duration]int{time.Minute: 90, 5 * time.Minute: 400}
}

// Options tunes a Service. The zero value is the defaults.
type Options struct {
	// RollupDays is, per rollup step, the days its rollups are kept at
	// least; a tenant whose raw retention is longer keeps them as long as
	// its raw data. nil: DefaultRollupDays. Steps not listed are kept.
	RollupDays map[time.Duration]int
	// PartitionsAhead is how many days after today get their partition
	// ahead of time (0: DefaultPartitionsAhead).
	PartitionsAhead int
	// Chunk bounds the rows one DELETE statement removes (0: DefaultChunk).
	Chunk int
}

// Service runs retention.
type Service struct {
	store Store
	opts  Options
	steps []time.Duration // RollupDays keys, ascending
	log   *slog.Logger
}

// New returns the retention use case; it refuses invalid options (a
// negative count, a step that is not a positive whole number of
// milliseconds, or days below 1).
func New(store Store, opts Options, log *slog.Logger) (*Service, error) {
	if opts.PartitionsAhead < 0 {
		return nil, fmt.Errorf("retention: partitions ahead %d < 0", opts.PartitionsAhead)
	}
	if opts.PartitionsAhead == 0 {
		opts.PartitionsAhead = DefaultPartitionsAhead
	}
	if opts.Chunk < 0 {
		return nil, fmt.Errorf("retention: chunk %d < 0", opts.Chunk)
	}
	if opts.Chunk == 0 {
		opts.Chunk = DefaultChunk
	}
	if opts.RollupDays == nil {
		opts.RollupDays = DefaultRollupDays()
	} else {
		opts.RollupDays = maps.Clone(opts.RollupDays)
	}
	for step, days := range opts.RollupDays {
		if step < time.Millisecond || step%time.Millisecond != 0 {
			return nil, fmt.Errorf("retention: rollup step %s is not a positive whole number of milliseconds", step)
		}
		if days < 1 {
			return nil, fmt.Errorf("retention: rollup step %s: %d days < 1", step, days)
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	steps := slices.Sorted(maps.Keys(opts.RollupDays))
	return &Service{store: store, opts: opts, steps: steps, log: log}, nil
}

// Report is what a run did.
type Report struct {
	PartitionsCreated []string
	PartitionsDropped []string
	// PartitionCutoff is the cutoff of the partition drop: now minus the
	// longest raw retention (zero when no drop was attempted).
	PartitionCutoff time.Time
	Tenants         []TenantReport
	RawDeleted      int64 // rows deleted one by one (dropped partitions not counted)
	RollupsDeleted  int64
}

// TenantReport is what a run did for one tenant.
type TenantReport struct {
	TenantID      int64
	Slug          string
	RetentionDays int
	RawCutoff     time.Time // raw samples before it are past retention
	// ByPartitions: the tenant has the longest retention on a partitioned
	// store; its old raw rows go with the dropped partitions.
	ByPartitions bool
	RawDeleted   int64
	Rollups      []RollupReport
}

// RollupReport is what a run deleted of one tenant's rollups of one step.
type RollupReport struct {
	Step    time.Duration
	Days    int // max(tenant retention, the step's days)
	Cutoff  time.Time
	Deleted int64
}

func daysBefore(now time.Time, days int) time.Time {
	return now.Add(-time.Duration(days) * 24 * time.Hour)
}

// Run applies retention as of now. It goes on after a failure of one
// tenant or step (the next run retries it) and returns every failure
// joined, each naming what failed; it stops when ctx ends.
func (s *Service) Run(ctx context.Context, now time.Time) (Report, error) {
	now = now.UTC()
	var rep Report
	var errs []error
	fail := func(err error) {
		s.log.Error("retention failed", "err", err)
		errs = append(errs, err)
	}
	partitioned := s.store.Partitioned()
	if partitioned {
		created, err := s.store.EnsurePartitions(ctx, now, s.opts.PartitionsAhead)
		rep.PartitionsCreated = created
		if err != nil {
			fail(fmt.Errorf("retention: ensure partitions: %w", err))
		}
	}
	tenants, err := s.store.ListTenants(ctx)
	if err != nil {
		fail(fmt.Errorf("retention: list tenants: %w", err))
		return rep, errors.Join(errs...)
	}
	longest := 0
	for _, t := range tenants {
		longest = max(longest, t.RetentionDays)
	}
	if partitioned && longest > 0 && ctx.Err() == nil {
		rep.PartitionCutoff = daysBefore(now, longest)
		dropped, err := s.store.DropPartitionsBefore(ctx, rep.PartitionCutoff)
		rep.PartitionsDropped = dropped
		if err != nil {
			fail(fmt.Errorf("retention: drop partitions before %s: %w", rep.PartitionCutoff.Format(time.RFC3339), err))
		}
	}
	for _, t := range tenants {
		if err := ctx.Err(); err != nil {
			fail(fmt.Errorf("retention: stopped before tenant %s: %w", t.Slug, err))
			break
		}
		tr, err := s.tenant(ctx, now, t, partitioned && t.RetentionDays >= longest)
		rep.Tenants = append(rep.Tenants, tr)
		rep.RawDeleted += tr.RawDeleted
		for _, r := range tr.Rollups {
			rep.RollupsDeleted += r.Deleted
		}
		if err != nil {
			fail(err)
		}
	}
	s.log.Info("retention done",
		"tenants", len(tenants), "partitions_created", len(rep.PartitionsCreated), "partitions_dropped", len(rep.PartitionsDropped),
		"dropped", rep.PartitionsDropped, "raw_deleted", rep.RawDeleted, "rollups_deleted", rep.RollupsDeleted, "errors", len(errs))
	return rep, errors.Join(errs...)
}

// tenant applies one tenant's retention: its raw rows (unless byPartitions),
// then its rollups of every step.
func (s *Service) tenant(ctx context.Context, now time.Time, t tenant.Tenant, byPartitions bool) (TenantReport, error) {
	// The raw cutoff is floored to the UTC day, as partitions are: every
	// rollup bucket then has all or none of its raw samples, so the rollup
	// job never recomputes a bucket from part of them (a late sample just
	// inside the retention only ever lands in a whole bucket).
	tr := TenantReport{TenantID: t.ID, Slug: t.Slug, RetentionDays: t.RetentionDays, RawCutoff: daysBefore(now, t.RetentionDays).Truncate(24 * time.Hour), ByPartitions: byPartitions}
	var errs []error
	if !byPartitions {
		n, err := s.store.DeleteSamplesBefore(ctx, t.ID, tr.RawCutoff.UnixMilli(), s.opts.Chunk)
		tr.RawDeleted = n
		if err != nil {
			errs = append(errs, fmt.Errorf("retention tenant %s: raw samples: %w", t.Slug, err))
		}
	}
	s.log.Info("retention tenant", "tenant", t.Slug, "tenant_id", t.ID, "retention_days", t.RetentionDays,
		"cutoff", tr.RawCutoff, "by_partitions", byPartitions, "raw_deleted", tr.RawDeleted)
	for _, step := range s.steps {
		if ctx.Err() != nil {
			errs = append(errs, fmt.Errorf("retention tenant %s: rollups %s: %w", t.Slug, step, ctx.Err()))
			break
		}
		r := RollupReport{Step: step, Days: max(t.RetentionDays, s.opts.RollupDays[step])}
		r.Cutoff = daysBefore(now, r.Days)
		n, err := s.store.DeleteRollupsBefore(ctx, t.ID, step.Milliseconds(), r.Cutoff.UnixMilli(), s.opts.Chunk)
		r.Deleted = n
		tr.Rollups = append(tr.Rollups, r)
		if err != nil {
			errs = append(errs, fmt.Errorf("retention tenant %s: rollups %s: %w", t.Slug, step, err))
		}
		s.log.Info("retention rollups", "tenant", t.Slug, "tenant_id", t.ID, "step", step.String(),
			"keep_days", r.Days, "cutoff", r.Cutoff, "deleted", r.Deleted)
	}
	return tr, errors.Join(errs...)
}
