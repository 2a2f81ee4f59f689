// Package query answers chart queries for one tenant: it picks the
// resolution (raw samples or a rollup step) and the aggregate each point
// carries, and reads one page.
package query

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/outage"
	"github.com/pulsemetrics/pulse/domain/rollup"
)

//go:generate go tool mockgen -destination=mock_ports_test.go -package=query_test . Reader

// Reader reads points. The tenant is part of q and is always applied.
// ReadRollupsAs answers step-long buckets merged from the stored buckets of
// base (step = base for a stored step), fresh ones stitched from raw
// samples; RollupCoverage counts the stored buckets of a step in q's range
// and the samples they summarise.
type Reader interface {
	ReadRaw(ctx context.Context, q metric.Query) (metric.Page, error)
	ReadRollupsAs(ctx context.Context, q metric.Query, base, step int64) (metric.Page, error)
	RollupCoverage(ctx context.Context, q metric.Query, step int64) (buckets, samples int64, err error)
}

// ErrInvalid is wrapped by errors about a malformed query (422).
var ErrInvalid = errors.New("invalid query")

// DefaultMaxPoints and HardMaxPoints bound a page.
const (
	DefaultMaxPoints = 1000
	HardMaxPoints    = 100000
)

// Interval names that are not rollup steps.
const (
	IntervalAuto = "auto"
	IntervalRaw  = "raw"
)

// Service is the query use case.
type Service struct {
	reader Reader
	steps  rollup.Steps
}

// NewService returns the query use case over the rollup steps the
// deployment keeps (nil: rollup.DefaultSteps).
func NewService(r Reader, steps rollup.Steps) *Service {
	if len(steps) == 0 {
		steps = rollup.DefaultSteps
	}
	return &Service{reader: r, steps: steps}
}

// Run validates q, picks its resolution and reads one page. With interval
// auto (the default) the resolution is the finest whose point count fits
// q.MaxPoints: raw, else each rollup step from the finest, else a round
// multiple of the coarsest (e.g. 1h from 5m) merged on the fly, so a chart
// of any range gets its points in one answer. The page's Interval names
// what was read; each point's Value is the aggregate q.Agg names (avg by
// default).
func (s *Service) Run(ctx context.Context, q metric.Query) (metric.Page, error) {
	q, agg, step, err := s.normalise(q)
	if err != nil {
		return metric.Page{}, err
	}
	base := step
	if q.Interval == "" || q.Interval == IntervalAuto {
		if base, step, err = s.pick(ctx, q); err != nil {
			return metric.Page{}, fmt.Errorf("pick resolution of %s tenant=%d: %w", q.Name, q.TenantID, outage.Unavailable("database", err))
		}
	}
	var page metric.Page
	if step == 0 {
		q.Interval = IntervalRaw
		page, err = s.reader.ReadRaw(ctx, q)
	} else {
		q.Interval = rollup.Name(step)
		page, err = s.reader.ReadRollupsAs(ctx, q, base, step)
	}
	if err != nil {
		return metric.Page{}, fmt.Errorf("read %s %s tenant=%d: %w", q.Interval, q.Name, q.TenantID, outage.Unavailable("database", err))
	}
	page.Interval = q.Interval
	if agg != rollup.AggAvg {
		for i := range page.Series {
			for j, p := range page.Series[i].Points {
				page.Series[i].Points[j].Value = rollup.Aggregate{Count: p.Count, Sum: p.Sum, Min: p.Min, Max: p.Max}.Pick(agg)
			}
		}
	}
	return page, nil
}

// requested reads an explicit interval: 0 for raw (and auto, decided
// later), else a kept rollup step.
func (s *Service) requested(interval string) (int64, error) {
	switch interval {
	case "", IntervalAuto, IntervalRaw:
		return 0, nil
	}
	if step, ok := rollup.ParseName(interval); ok && s.steps.Has(step) {
		return step, nil
	}
	names := []string{IntervalAuto, IntervalRaw}
	for _, st := range s.steps {
		names = append(names, rollup.Name(st))
	}
	return 0, fmt.Errorf("%w: interval %q is not available (use one of %s)", ErrInvalid, interval, strings.Join(names, ", "))
}

// pick estimates each resolution's point count from the coarsest step's
// stored buckets in the range (one cheap aggregate query): raw holds as
// many points as those buckets summarise; a finer step holds at most that,
// and at most step-ratio points per coarse bucket. When even the coarsest
// has too many, a round multiple of it is derived (base = coarsest). Step
// 0 is raw.
func (s *Service) pick(ctx context.Context, q metric.Query) (base, step int64, err error) {
	coarsest := s.steps.Coarsest()
	buckets, samples, err := s.reader.RollupCoverage(ctx, q, coarsest)
	if err != nil {
		return 0, 0, err
	}
	max := int64(q.MaxPoints)
	if samples <= max {
		return 0, 0, nil
	}
	for _, step := range s.steps[:len(s.steps)-1] {
		if min(samples, buckets*(coarsest/step)) <= max {
			return step, step, nil
		}
	}
	if buckets <= max {
		return coarsest, coarsest, nil
	}
	// k coarse buckets per point brings the count under max (the series'
	// buckets spread over the range, so this is an upper bound).
	k := (buckets + max - 1) / max
	return coarsest, rollup.CoarserStep(coarsest, k*coarsest), nil
}
