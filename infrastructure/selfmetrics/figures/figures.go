// Package figures turns a process's gathered Prometheus metrics into the
// samples Pulse records about itself (pulse.*, see rules.go): gauges as
// they are, counters as per-second rates and histograms as quantiles over
// the interval since the previous gather. It is pure: no clock, no I/O; a
// metric that is not there gives no figure and no error.
package figures

import (
	"math"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// Figure is one sample to record.
type Figure struct {
	Name  string
	Value float64
	Tags  map[string]string
}

// State is what Convert remembers from one gather to the next: the
// cumulative counters and histograms by series, and which rate figures
// were last shown above zero.
type State struct {
	At       time.Time
	counters map[string]float64
	hists    map[string]hist
	shown    map[string]bool
}

// NewState is the state of a process whose counters are still at zero at
// at (its start): the first interval counts everything since then.
func NewState(at time.Time) State {
	return State{At: at, counters: map[string]float64{}, hists: map[string]hist{}, shown: map[string]bool{}}
}

// group is one figure being summed from its series.
type group struct {
	tags  map[string]string
	value float64 // gauge: sum; rate: increase; age: latest timestamp
	hist  hist
	seen  bool
}

// Convert returns the figures of fams gathered at at, sorted by name then
// tags, and the state for the next call. A rate is shown while its
// counter grows, and once more at 0 when it stops, so a chart drops to 0
// instead of ending in mid-air; a quantile needs an observation in the
// interval.
func Convert(fams []*dto.MetricFamily, prev State, at time.Time) ([]Figure, State) {
	if prev.counters == nil {
		prev = NewState(prev.At)
	}
	next := NewState(at)
	byName := make(map[string]*dto.MetricFamily, len(fams))
	for _, f := range fams {
		byName[f.GetName()] = f
	}
	secs := at.Sub(prev.At).Seconds()
	var out []Figure
	for _, r := range rules {
		groups := map[string]*group{}
		for _, from := range r.from {
			f := byName[from]
			if f == nil {
				continue
			}
			for _, m := range f.GetMetric() {
				if !matches(m, r.where) {
					continue
				}
				tags := keptTags(m, r.keep)
				g := groups[tagKey(tags)]
				if g == nil {
					g = &group{tags: tags}
					groups[tagKey(tags)] = g
				}
				read(r, g, seriesKey(from, m), m, prev, next)
			}
		}
		for key, g := range groups {
			if v, ok := finish(r, g, prev, next, r.name+key, secs, at); ok {
				out = append(out, Figure{Name: r.name, Value: v, Tags: g.tags})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return tagKey(out[i].Tags) < tagKey(out[j].Tags)
	})
	return out, next
}

// read adds one series to its group and remembers its cumulative values.
func read(r rule, g *group, key string, m *dto.Metric, prev, next State) {
	switch r.kind {
	case gauge:
		if v, ok := valueOf(m); ok {
			g.value += v
			g.seen = true
		}
	case age:
		if v, ok := valueOf(m); ok && v > 0 && (!g.seen || v > g.value) {
			g.value, g.seen = v, true
		}
	case rate:
		v, ok := valueOf(m)
		if !ok {
			return
		}
		next.counters[key] = v
		d := v - prev.counters[key]
		if d < 0 {
			d = v // the counter restarted
		}
		g.value += d
		g.seen = true
	case quantile:
		if m.GetHistogram() == nil {
			return
		}
		cur := histOf(m.GetHistogram())
		next.hists[key] = cur
		g.hist = g.hist.add(cur.since(prev.hists[key]))
		g.seen = true
	}
}

// finish turns a group into its figure's value, or none.
func finish(r rule, g *group, prev, next State, key string, secs float64, at time.Time) (float64, bool) {
	if !g.seen {
		return 0, false
	}
	switch r.kind {
	case rate:
		if secs <= 0 {
			return 0, false
		}
		next.shown[key] = g.value > 0
		if g.value <= 0 && !prev.shown[key] {
			return 0, false
		}
		return g.value / secs, true
	case quantile:
		return Quantile(r.q, g.hist.bounds, g.hist.cum, g.hist.count)
	case age:
		return math.Max(0, float64(at.UnixMilli())/1000-g.value), true
	}
	return g.value, true
}

func valueOf(m *dto.Metric) (float64, bool) {
	var v float64
	switch {
	case m.GetGauge() != nil:
		v = m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		v = m.GetCounter().GetValue()
	case m.GetUntyped() != nil:
		v = m.GetUntyped().GetValue()
	default:
		return 0, false
	}
	return v, !math.IsNaN(v) && !math.IsInf(v, 0)
}

func matches(m *dto.Metric, where map[string]string) bool {
	for k, want := range where {
		if labelValue(m, k) != want {
			return false
		}
	}
	return true
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// keptTags are the series' labels the rule keeps (absent ones are left out).
func keptTags(m *dto.Metric, keep []string) map[string]string {
	tags := map[string]string{}
	for _, l := range m.GetLabel() {
		for _, k := range keep {
			if l.GetName() == k {
				tags[k] = l.GetValue()
			}
		}
	}
	return tags
}

// tagKey identifies a tag set: its sorted pairs, with separators that no
// label or tag can hold.
func tagKey(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "\x00" + tags[k] + "\x01")
	}
	return b.String()
}

// seriesKey identifies a source series: its family and every label.
func seriesKey(family string, m *dto.Metric) string {
	labels := map[string]string{}
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	return family + tagKey(labels)
}
