package alert_test

import (
	"reflect"
	"testing"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/metric"
)

func windowOf(vals ...float64) alert.Window {
	var w alert.Window
	for i, v := range vals {
		w = w.Add(int64(i+1)*1000, v)
	}
	return w
}

func TestWindowValue(t *testing.T) {
	w := windowOf(3, 1, 4, 1, 5) // ts 1s..5s
	tests := []struct {
		agg  alert.Agg
		want float64
	}{
		{alert.AggAvg, 2.8},
		{alert.AggMin, 1},
		{alert.AggMax, 5},
		{alert.AggSum, 14},
		{alert.AggCount, 5},
		{alert.AggLast, 5},
	}
	for _, tt := range tests {
		t.Run(string(tt.agg), func(t *testing.T) {
			if v, ok := w.Value(tt.agg); !ok || v != tt.want {
				t.Errorf("Value(%s) = %v, %v; want %v, true", tt.agg, v, ok, tt.want)
			}
			if v, ok := (alert.Window{}).Value(tt.agg); ok || v != 0 {
				t.Errorf("empty window: Value(%s) = %v, %v; want 0, false", tt.agg, v, ok)
			}
		})
	}
	neg := windowOf(-2, -7, -1)
	if v, _ := neg.Value(alert.AggMax); v != -1 {
		t.Errorf("max of negatives = %v, want -1 (not the zero value)", v)
	}
	if v, _ := neg.Value(alert.AggMin); v != -7 {
		t.Errorf("min of negatives = %v, want -7", v)
	}
}

func TestWindowMerge(t *testing.T) {
	a := windowOf(3, 1, 4) // ts 1s, 2s, 3s
	var b alert.Window
	b = b.Add(10000, 9).Add(5000, -2) // out of time order: Last stays the latest
	all := a.Merge(b)
	want := alert.Window{Count: 5, Sum: 15, Min: -2, Max: 9, Last: 9, LastTS: 10000}
	tests := []struct {
		name string
		got  alert.Window
		want alert.Window
	}{
		{"a+b", all, want},
		{"b+a: Last is the latest whatever the order", b.Merge(a), want},
		{"empty + a", alert.Window{}.Merge(a), a},
		{"a + empty", a.Merge(alert.Window{}), a},
		{"empty + empty", alert.Window{}.Merge(alert.Window{}), alert.Window{}},
		{"Add keeps the latest sample as Last", b, alert.Window{Count: 2, Sum: 7, Min: -2, Max: 9, Last: 9, LastTS: 10000}},
		{"same timestamp: the merged-in window wins", windowOf(1).Merge(alert.Window{Count: 1, Sum: 2, Min: 2, Max: 2, Last: 2, LastTS: 1000}),
			alert.Window{Count: 2, Sum: 3, Min: 1, Max: 2, Last: 2, LastTS: 1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %+v, want %+v", tt.got, tt.want)
			}
		})
	}
	// Merge is associative: folding one window per sample gives Add's.
	var folded alert.Window
	for i, v := range []float64{3, 1, 4} {
		folded = folded.Merge(alert.Window{}.Add(int64(i+1)*1000, v))
	}
	if folded != a {
		t.Errorf("merge of single samples %+v != Add %+v", folded, a)
	}
}

func TestInstanceKey(t *testing.T) {
	tags := func(kv ...string) metric.Tags {
		var ts metric.Tags
		for i := 0; i < len(kv); i += 2 {
			ts = append(ts, metric.Tag{Key: kv[i], Value: kv[i+1]})
		}
		return ts
	}
	tests := []struct {
		name string
		in   metric.Tags
		want string
	}{
		{"no tags", nil, ""},
		{"one tag", tags("host", "a"), "host=a"},
		{"sorted by key", tags("host", "a", "dc", "x"), "dc=x,host=a"},
		{"comma and equals escaped", tags("a", "x,b=y"), `a=x\,b\=y`},
		{"backslash escaped", tags("a", `x\`), `a=x\\`},
		{"separator in the key", tags("a=b", "c"), `a\=b=c`},
		{"empty value", tags("host", ""), "host="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := alert.InstanceKey(tt.in); got != tt.want {
				t.Errorf("InstanceKey(%v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	in := tags("host", "a", "dc", "x")
	_ = alert.InstanceKey(in)
	if in[0].Key != "host" {
		t.Error("InstanceKey sorted its argument in place")
	}
	if alert.InstanceKey(tags("a", "x,b=y")) == alert.InstanceKey(tags("a", "x", "b", "y")) {
		t.Error(`{a:"x,b=y"} and {a:"x", b:"y"} share a key`)
	}

	// Injectivity over every label set of up to two tags whose keys and
	// values are drawn from the characters the escaping must handle.
	parts := []string{"", "a", "b", ",", "=", `\`, `a,`, `=b`, `\,`, `\=`, `a\`}
	seen := map[string]metric.Tags{}
	check := func(ts metric.Tags) {
		k := alert.InstanceKey(ts)
		if prev, ok := seen[k]; ok && !reflect.DeepEqual(prev.Map(), ts.Map()) {
			t.Fatalf("label sets %v and %v share the key %q", prev, ts, k)
		}
		seen[k] = ts
	}
	check(nil)
	for _, k1 := range parts {
		for _, v1 := range parts {
			check(tags(k1, v1))
			for _, k2 := range parts {
				if k2 <= k1 { // distinct keys, one order (InstanceKey sorts)
					continue
				}
				for _, v2 := range parts {
					check(tags(k1, v1, k2, v2))
				}
			}
		}
	}
}

func TestGroupSeries(t *testing.T) {
	sw := func(w alert.Window, kv ...string) alert.SeriesWindow {
		var ts metric.Tags
		for i := 0; i < len(kv); i += 2 {
			ts = append(ts, metric.Tag{Key: kv[i], Value: kv[i+1]})
		}
		return alert.SeriesWindow{Tags: ts, Window: w}
	}
	series := []alert.SeriesWindow{
		sw(windowOf(1), "dc", "y", "host", "c"),
		sw(windowOf(2, 3), "dc", "x", "host", "a"),
		sw(windowOf(4), "dc", "x", "host", "b"),
		sw(windowOf(8), "host", "d"), // no dc
	}
	t.Run("without group_by every series is an instance, sorted by key", func(t *testing.T) {
		r := baseRule()
		gs := r.GroupSeries(series)
		var keys []string
		for _, g := range gs {
			keys = append(keys, g.Key)
		}
		want := []string{"dc=x,host=a", "dc=x,host=b", "dc=y,host=c", "host=d"}
		if !reflect.DeepEqual(keys, want) {
			t.Errorf("keys = %v, want %v", keys, want)
		}
		if !reflect.DeepEqual(gs[0].Labels, series[1].Tags) || gs[0].Window != series[1].Window {
			t.Errorf("group %+v does not hold its series %+v", gs[0], series[1])
		}
	})
	t.Run("group_by merges windows; a missing tag is empty", func(t *testing.T) {
		r := baseRule()
		r.GroupBy = []string{"dc"}
		gs := r.GroupSeries(series)
		want := []alert.Group{
			{Key: "dc=", Labels: metric.Tags{{Key: "dc", Value: ""}}, Window: windowOf(8)},
			{Key: "dc=x", Labels: metric.Tags{{Key: "dc", Value: "x"}}, Window: windowOf(2, 3).Merge(windowOf(4))},
			{Key: "dc=y", Labels: metric.Tags{{Key: "dc", Value: "y"}}, Window: windowOf(1)},
		}
		if !reflect.DeepEqual(gs, want) {
			t.Errorf("groups = %+v\nwant %+v", gs, want)
		}
		if v, _ := gs[1].Window.Value(alert.AggSum); v != 9 {
			t.Errorf("sum of dc=x = %v, want 9", v)
		}
	})
	t.Run("group_by labels are sorted by key whatever group_by's order", func(t *testing.T) {
		r := baseRule()
		r.GroupBy = []string{"host", "dc"}
		gs := r.GroupSeries(series[:1])
		want := metric.Tags{{Key: "dc", Value: "y"}, {Key: "host", Value: "c"}}
		if len(gs) != 1 || !reflect.DeepEqual(gs[0].Labels, want) || gs[0].Key != "dc=y,host=c" {
			t.Errorf("groups = %+v", gs)
		}
	})
	t.Run("matchers filter before grouping", func(t *testing.T) {
		r := baseRule()
		r.GroupBy = []string{"dc"}
		r.Matchers = alert.Matchers{{Tag: "host", Op: alert.MatchRegexp, Value: "a|c"}}
		if err := r.Validate(alert.Policy{}); err != nil {
			t.Fatal(err)
		}
		gs := r.GroupSeries(series)
		if len(gs) != 2 || gs[0].Key != "dc=x" || gs[0].Window.Count != 2 || gs[1].Key != "dc=y" {
			t.Errorf("groups = %+v", gs)
		}
	})
	t.Run("no series", func(t *testing.T) {
		if gs := baseRule().GroupSeries(nil); len(gs) != 0 {
			t.Errorf("groups = %+v", gs)
		}
	})
}
