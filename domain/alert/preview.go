package alert

import "github.com/pulsemetrics/pulse/domain/metric"

// SeriesSamples is one series' raw samples in time order.
type SeriesSamples struct {
	Tags   metric.Tags
	TS     []int64
	Values []float64
}

// Interval is one firing episode an instance would have had: [Start, End),
// End 0 while still firing at the preview's end.
type Interval struct {
	Key    string
	Labels metric.Tags
	Start  int64
	End    int64
}

// PreviewResult is what a rule would have done over past data.
type PreviewResult struct {
	Evaluations   int
	Transitions   []Transition
	Intervals     []Interval
	Notifications int // transitions that notify (firing, resolved, nodata)
	Fired         int // firing episodes opened
}

// PreviewTimes are the evaluation times of an unsaved rule in [start, end]:
// the multiples of its cadence.
func PreviewTimes(r Rule, start, end int64) (first int64, n int) {
	c := r.Cadence.Milliseconds()
	if c <= 0 || end < start {
		return 0, 0
	}
	first = -floorDiv(-start, c) * c
	if first > end {
		return first, 0
	}
	return first, int((end-first)/c) + 1
}

// Preview runs the state machine over samples at every cadence step in
// [start, end], exactly as the scheduler would have (the same windows, the
// same no-data handling of series that stop reporting), and writes
// nothing. samples must cover [start-window, end).
func Preview(r Rule, samples []SeriesSamples, start, end int64) PreviewResult {
	first, n := PreviewTimes(r, start, end)
	res := PreviewResult{Evaluations: n}
	slides := make([]slidingWindow, len(samples))
	for i := range samples {
		slides[i] = slidingWindow{s: &samples[i]}
	}
	var known []Instance
	open := map[string]int{} // instance key → index in res.Intervals
	c, w := r.Cadence.Milliseconds(), r.Window.Milliseconds()
	series := make([]SeriesWindow, 0, len(samples))
	for k := 0; k < n; k++ {
		t := first + int64(k)*c
		series = series[:0]
		for i := range slides {
			if win := slides[i].advance(t-w, t); win.Count > 0 {
				series = append(series, SeriesWindow{Tags: samples[i].Tags, Window: win})
			}
		}
		ev := Evaluate(r, known, r.GroupSeries(series), t)
		known = ev.Instances
		for _, tr := range ev.Transitions {
			res.Transitions = append(res.Transitions, tr)
			if tr.Notify != NotifyNone {
				res.Notifications++
			}
			if tr.Opens {
				res.Fired++
				open[tr.Key] = len(res.Intervals)
				res.Intervals = append(res.Intervals, Interval{Key: tr.Key, Labels: tr.Labels, Start: tr.At})
			}
			if tr.Closes {
				if i, ok := open[tr.Key]; ok {
					res.Intervals[i].End = tr.At
					delete(open, tr.Key)
				}
			}
		}
	}
	return res
}

// slidingWindow keeps one series' aggregate over a window that only moves
// forward: counts and sums by prefix, min and max by monotonic deques, so
// a preview costs O(samples + steps) per series.
type slidingWindow struct {
	s          *SeriesSamples
	lo, hi     int   // samples[lo:hi] are in the window
	mins, maxs []int // indexes, values increasing / decreasing
	sum        float64
}

// exactSumLimit bounds the windows summed afresh at every step.
const exactSumLimit = 10000

func (sw *slidingWindow) advance(from, to int64) Window {
	ts, vs := sw.s.TS, sw.s.Values
	for sw.hi < len(ts) && ts[sw.hi] < to {
		v := vs[sw.hi]
		for len(sw.mins) > 0 && vs[sw.mins[len(sw.mins)-1]] >= v {
			sw.mins = sw.mins[:len(sw.mins)-1]
		}
		sw.mins = append(sw.mins, sw.hi)
		for len(sw.maxs) > 0 && vs[sw.maxs[len(sw.maxs)-1]] <= v {
			sw.maxs = sw.maxs[:len(sw.maxs)-1]
		}
		sw.maxs = append(sw.maxs, sw.hi)
		sw.sum += v
		sw.hi++
	}
	for sw.lo < sw.hi && ts[sw.lo] < from {
		sw.sum -= vs[sw.lo]
		sw.lo++
	}
	for len(sw.mins) > 0 && sw.mins[0] < sw.lo {
		sw.mins = sw.mins[1:]
	}
	for len(sw.maxs) > 0 && sw.maxs[0] < sw.lo {
		sw.maxs = sw.maxs[1:]
	}
	if sw.lo == sw.hi {
		sw.sum = 0 // drop accumulated rounding once the window empties
		return Window{}
	}
	sum := sw.sum
	if sw.hi-sw.lo <= exactSumLimit {
		// Summed in time order, exactly as a live evaluation sums them, so
		// the preview and the scheduler agree even at equality.
		sum = 0
		for _, v := range vs[sw.lo:sw.hi] {
			sum += v
		}
	}
	return Window{
		Count: int64(sw.hi - sw.lo), Sum: sum, Min: vs[sw.mins[0]], Max: vs[sw.maxs[0]],
		Last: vs[sw.hi-1], LastTS: ts[sw.hi-1],
	}
}
