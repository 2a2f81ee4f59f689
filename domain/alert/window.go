package alert

import (
	"math"
	"slices"
	"strings"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// Window is what one series (or instance) held over an evaluation window:
// the samples' count, sum, min, max and the latest value.
type Window struct {
	Count  int64
	Sum    float64
	Min    float64
	Max    float64
	Last   float64
	LastTS int64 // Unix ms of Last
}

// Add folds one sample in.
func (w Window) Add(ts int64, v float64) Window {
	return w.Merge(Window{Count: 1, Sum: v, Min: v, Max: v, Last: v, LastTS: ts})
}

// Merge combines the windows of disjoint sample sets.
func (w Window) Merge(o Window) Window {
	switch {
	case o.Count == 0:
		return w
	case w.Count == 0:
		return o
	}
	w.Count += o.Count
	w.Sum += o.Sum
	w.Min = math.Min(w.Min, o.Min)
	w.Max = math.Max(w.Max, o.Max)
	if o.LastTS >= w.LastTS {
		w.Last, w.LastTS = o.Last, o.LastTS
	}
	return w
}

// Value is the aggregate agg of the window; ok is false for an empty one.
func (w Window) Value(agg Agg) (v float64, ok bool) {
	if w.Count == 0 {
		return 0, false
	}
	switch agg {
	case AggMin:
		return w.Min, true
	case AggMax:
		return w.Max, true
	case AggSum:
		return w.Sum, true
	case AggCount:
		return float64(w.Count), true
	case AggLast:
		return w.Last, true
	}
	return w.Sum / float64(w.Count), true
}

// SeriesWindow is one stored series' window.
type SeriesWindow struct {
	Tags   metric.Tags
	Window Window
}

// Group is one alert instance's data at an evaluation: its key, its labels
// (the series' tags, or only the group_by tags) and its merged window.
type Group struct {
	Key    string
	Labels metric.Tags
	Window Window
}

// GroupSeries keeps the series the rule's matchers select and merges them
// into instances: each series its own instance without group_by, else one
// instance per distinct value tuple of the group_by tags (a missing tag is
// ""). Groups come sorted by key.
func (r Rule) GroupSeries(series []SeriesWindow) []Group {
	byKey := map[string]*Group{}
	for _, s := range series {
		if !r.Matchers.Matches(s.Tags) {
			continue
		}
		labels := s.Tags
		if len(r.GroupBy) > 0 {
			labels = make(metric.Tags, 0, len(r.GroupBy))
			for _, k := range r.GroupBy {
				labels = append(labels, metric.Tag{Key: k, Value: tagValue(s.Tags, k)})
			}
			slices.SortFunc(labels, func(a, b metric.Tag) int { return strings.Compare(a.Key, b.Key) })
		}
		key := InstanceKey(labels)
		g, ok := byKey[key]
		if !ok {
			g = &Group{Key: key, Labels: labels}
			byKey[key] = g
		}
		g.Window = g.Window.Merge(s.Window)
	}
	out := make([]Group, 0, len(byKey))
	for _, g := range byKey {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Group) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// InstanceKey is an instance's stable identity: its labels, sorted, as
// k=v pairs joined by commas ("" for a series without tags). Keys and
// values are escaped so that distinct label sets never share a key.
func InstanceKey(labels metric.Tags) string {
	sorted := slices.Clone(labels)
	slices.SortFunc(sorted, func(a, b metric.Tag) int { return strings.Compare(a.Key, b.Key) })
	var b strings.Builder
	for i, t := range sorted {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(escapeKeyPart(t.Key))
		b.WriteByte('=')
		b.WriteString(escapeKeyPart(t.Value))
	}
	return b.String()
}

var keyEscaper = strings.NewReplacer(`\`, `\\`, `,`, `\,`, `=`, `\=`)

func escapeKeyPart(s string) string { return keyEscaper.Replace(s) }
