// Package rollup is the arithmetic of downsampling: buckets aligned on a
// step, exact aggregates that merge (count and sum rather than an average,
// so a coarser step is derived from a finer one without loss), the steps a
// deployment keeps, and the aggregate a query asks for.
package rollup

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Aggregate summarises the samples of one bucket. The zero value is the
// empty aggregate.
type Aggregate struct {
	Count int64
	Sum   float64
	Min   float64
	Max   float64
}

// Add folds one sample value into a.
func (a Aggregate) Add(v float64) Aggregate {
	return a.Merge(Aggregate{Count: 1, Sum: v, Min: v, Max: v})
}

// Merge combines two aggregates of disjoint sample sets exactly: counts and
// sums add, min of mins, max of maxes.
func (a Aggregate) Merge(b Aggregate) Aggregate {
	switch {
	case b.Count == 0:
		return a
	case a.Count == 0:
		return b
	}
	return Aggregate{Count: a.Count + b.Count, Sum: a.Sum + b.Sum, Min: math.Min(a.Min, b.Min), Max: math.Max(a.Max, b.Max)}
}

// Avg is the count-weighted mean (NaN for the empty aggregate).
func (a Aggregate) Avg() float64 {
	if a.Count == 0 {
		return math.NaN()
	}
	return a.Sum / float64(a.Count)
}

// BucketStart is the start of the step-long bucket holding ts (Unix ms),
// flooring towards minus infinity so negative times align too.
func BucketStart(ts, step int64) int64 {
	b := ts - ts%step
	if ts%step < 0 {
		b -= step
	}
	return b
}

// Steps are the rollup resolutions a deployment keeps, finest first, in ms.
// Each step is a whole multiple of the one before, so each level is derived
// exactly from the previous one.
type Steps []int64

// DefaultSteps are 1m, 5m and 1h: the two, plus an hourly level so
// that a chart of a month or more reads hundreds of rows, not thousands.
var DefaultSteps = Steps{60_000, 300_000, 3_600_000}

// ParseSteps reads a comma-separated list such as "1m,5m" or "30s,1m,1h".
func ParseSteps(s string) (Steps, error) {
	var out Steps
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := time.ParseDuration(part)
		if err != nil {
			return nil, fmt.Errorf("rollup interval %q: want a duration such as 1m or 5m", part)
		}
		if d < time.Second || d%time.Second != 0 {
			return nil, fmt.Errorf("rollup interval %q: must be a whole number of seconds, at least 1s", part)
		}
		out = append(out, d.Milliseconds())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("rollup intervals: at least one is required")
	}
	for i := 1; i < len(out); i++ {
		if out[i] <= out[i-1] || out[i]%out[i-1] != 0 {
			return nil, fmt.Errorf("rollup intervals %q: each must be a whole multiple of the one before, finest first", s)
		}
	}
	return out, nil
}

// Finest is the smallest step.
func (s Steps) Finest() int64 { return s[0] }

// Coarsest is the largest step.
func (s Steps) Coarsest() int64 { return s[len(s)-1] }

// Has reports whether step is one of s.
func (s Steps) Has(step int64) bool { return slices.Contains(s, step) }

// Name is the step's label in the API and the metric_rollups view: "1m", "5m", "30s", "1h".
func Name(step int64) string {
	switch {
	case step%3_600_000 == 0:
		return strconv.FormatInt(step/3_600_000, 10) + "h"
	case step%60_000 == 0:
		return strconv.FormatInt(step/60_000, 10) + "m"
	default:
		return strconv.FormatInt(step/1000, 10) + "s"
	}
}

// ParseName reads a step label ("1m") back; ok is false when it is not a duration.
func ParseName(name string) (int64, bool) {
	d, err := time.ParseDuration(name)
	if err != nil || d <= 0 || d%time.Second != 0 {
		return 0, false
	}
	return d.Milliseconds(), true
}

// Agg is the aggregate a query wants as each point's value.
type Agg string

// The aggregates a query may ask for; AggAvg is the default.
const (
	AggAvg   Agg = "avg"
	AggMin   Agg = "min"
	AggMax   Agg = "max"
	AggSum   Agg = "sum"
	AggCount Agg = "count"
)

// ParseAgg reads agg ("" = avg).
func ParseAgg(s string) (Agg, error) {
	switch a := Agg(s); a {
	case "":
		return AggAvg, nil
	case AggAvg, AggMin, AggMax, AggSum, AggCount:
		return a, nil
	}
	return "", fmt.Errorf("agg %q: want one of avg, min, max, sum, count", s)
}

// Pick returns the value of a that agg names.
func (a Aggregate) Pick(agg Agg) float64 {
	switch agg {
	case AggMin:
		return a.Min
	case AggMax:
		return a.Max
	case AggSum:
		return a.Sum
	case AggCount:
		return float64(a.Count)
	}
	return a.Avg()
}

// ErrNotLeaseHolder is returned by a rollup pass whose caller no longer
// holds the job's lease: another replica took it over, and two passes at
// once could write a bucket from an older snapshot over a newer one.
var ErrNotLeaseHolder = errors.New("not the rollup lease holder")

// LeaseName is the rollup job's lease.
const LeaseName = "rollup"

// Pass is what one pass of the rollup job did.
type Pass struct {
	Pending int   // pending ranges handled (and cleared)
	Series  int   // distinct series recomputed
	RawRows int64 // raw samples folded into the finest step
	Buckets int   // rollup rows written, every step together
}

// niceSteps are the steps a derived resolution is chosen from, so that a
// chart's buckets fall on round times.
var niceSteps = []int64{
	60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, // 1m 2m 5m 10m 15m 30m
	3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, // 1h 2h 3h 6h 12h
	86_400_000, 172_800_000, 604_800_000, 2_592_000_000, // 1d 2d 7d 30d
}

// CoarserStep is the smallest round step that is a whole multiple of base
// and at least atLeast (ms): the resolution to derive from base's buckets
// when even they are too many for a chart. Past 30 days it is the next
// multiple of base.
func CoarserStep(base, atLeast int64) int64 {
	for _, n := range niceSteps {
		if n >= atLeast && n%base == 0 {
			return n
		}
	}
	return (atLeast + base - 1) / base * base
}
