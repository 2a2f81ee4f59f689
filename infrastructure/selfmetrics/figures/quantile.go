package figures

import (
	"math"

	dto "github.com/prometheus/client_model/go"
)

// hist is one histogram series' cumulative state: the finite upper bounds,
// the cumulative count at each, and the total count (the +Inf bucket).
type hist struct {
	bounds []float64
	cum    []float64
	count  float64
}

func histOf(h *dto.Histogram) hist {
	out := hist{count: float64(h.GetSampleCount())}
	for _, b := range h.GetBucket() {
		if math.IsInf(b.GetUpperBound(), 1) {
			continue // the total says it
		}
		out.bounds = append(out.bounds, b.GetUpperBound())
		out.cum = append(out.cum, float64(b.GetCumulativeCount()))
	}
	return out
}

// since is what cur observed after prev: bucket by bucket, as cumulative
// counts. A series that restarted (fewer observations) or changed its
// buckets counts from zero.
func (cur hist) since(prev hist) hist {
	if prev.count > cur.count || !sameBounds(prev.bounds, cur.bounds) {
		return cur
	}
	d := hist{bounds: cur.bounds, cum: make([]float64, len(cur.cum)), count: cur.count - prev.count}
	for i := range cur.cum {
		d.cum[i] = cur.cum[i] - prev.cum[i]
	}
	return d
}

// add merges o (a series with the same buckets) into h; other buckets are
// left out, which only a mix-up of histograms under one name could cause.
func (h hist) add(o hist) hist {
	if h.bounds == nil && h.count == 0 {
		return hist{bounds: o.bounds, cum: append([]float64(nil), o.cum...), count: o.count}
	}
	if !sameBounds(h.bounds, o.bounds) {
		return h
	}
	for i := range h.cum {
		h.cum[i] += o.cum[i]
	}
	h.count += o.count
	return h
}

func sameBounds(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Quantile estimates the q-quantile of the observations counted in
// cumulative buckets (upper bounds, counts at each, total including the
// +Inf bucket) as Prometheus' histogram_quantile does: linear within the
// bucket that holds the rank, the lowest bucket starting at 0, and the
// highest finite bound when the rank falls beyond it. ok is false with no
// observation.
func Quantile(q float64, bounds, cum []float64, total float64) (v float64, ok bool) {
	if total <= 0 || math.IsNaN(q) || q < 0 || q > 1 || len(bounds) != len(cum) {
		return 0, false
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for i, upper := range bounds {
		if cum[i] >= rank && cum[i] > 0 {
			if i == 0 && upper <= 0 {
				return upper, true
			}
			in := cum[i] - below
			if in <= 0 {
				return upper, true
			}
			return lower + (upper-lower)*(rank-below)/in, true
		}
		lower, below = upper, cum[i]
	}
	if len(bounds) == 0 {
		return 0, false
	}
	return bounds[len(bounds)-1], true
}
