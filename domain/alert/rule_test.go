package alert_test

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/metric"
)

// validRule is a rule using every field, which Validate accepts.
func validRule() alert.Rule {
	return alert.Rule{
		Name: "cpu high", Metric: "cpu.usage_total",
		Matchers: alert.Matchers{{Tag: "host", Op: alert.MatchRegexp, Value: "web-.*"}, {Tag: "env", Op: alert.MatchEqual, Value: "prod"}},
		Agg:      alert.AggAvg, Window: 5 * time.Minute, Op: alert.GT, Threshold: 90,
		Cadence: time.Minute, For: 2 * time.Minute, KeepFiringFor: time.Minute, NoData: alert.NoDataState,
		GroupBy: []string{"host"}, Severity: alert.SeverityCritical,
		Labels:      map[string]string{"team": "ops"},
		Annotations: map[string]string{"summary": "{{.Labels.host}} at {{humanize .Value}} (> {{.Threshold}})"},
		Channels:    []int64{1, 2},
	}
}

func TestValidate(t *testing.T) {
	many := func(n int) map[string]string {
		m := map[string]string{}
		for i := range n {
			m[fmt.Sprintf("k%d", i)] = "v"
		}
		return m
	}
	tests := []struct {
		name   string
		policy alert.Policy
		change func(*alert.Rule)
		bad    []string // the fields reported, exactly; none for a valid rule
		msg    string   // a substring of the first field's message
	}{
		{name: "valid rule", change: func(r *alert.Rule) {}},
		{name: "minimal rule after Normalize", change: func(r *alert.Rule) {
			*r = alert.Rule{Name: "x", Metric: "cpu", Window: time.Minute, Op: alert.LT}.Normalize()
		}},
		{name: "name empty", change: func(r *alert.Rule) { r.Name = "" }, bad: []string{"name"}, msg: "required"},
		{name: "name too long", change: func(r *alert.Rule) { r.Name = strings.Repeat("n", 201) }, bad: []string{"name"}},
		{name: "name at the limit", change: func(r *alert.Rule) { r.Name = strings.Repeat("n", 200) }},
		{name: "metric empty", change: func(r *alert.Rule) { r.Metric = "" }, bad: []string{"metric"}, msg: "required"},
		{name: "metric starts with a digit", change: func(r *alert.Rule) { r.Metric = "1cpu" }, bad: []string{"metric"}},
		{name: "metric with a space", change: func(r *alert.Rule) { r.Metric = "cpu usage" }, bad: []string{"metric"}},
		{name: "metric too long", change: func(r *alert.Rule) { r.Metric = strings.Repeat("m", 256) }, bad: []string{"metric"}},
		{name: "matchers[1] regex does not compile", change: func(r *alert.Rule) { r.Matchers[1] = alert.Matcher{Tag: "env", Op: alert.MatchRegexp, Value: "(prod"} },
			bad: []string{"matchers[1]"}, msg: "regex does not compile: missing closing )"},
		{name: "matchers[0] bad op", change: func(r *alert.Rule) { r.Matchers[0].Op = "~=" }, bad: []string{"matchers[0]"}, msg: "op must be one of"},
		{name: "matchers[0] empty tag", change: func(r *alert.Rule) { r.Matchers[0].Tag = "" }, bad: []string{"matchers[0]"}, msg: "tag"},
		{name: "matchers[0] value too long", change: func(r *alert.Rule) { r.Matchers[0].Value = strings.Repeat("a", 1001) }, bad: []string{"matchers[0]"}},
		{name: "matchers: RE2 only, a backreference is rejected", change: func(r *alert.Rule) { r.Matchers[0].Value = `(a)\1` },
			bad: []string{"matchers[0]"}, msg: "invalid escape sequence"},
		{name: "matchers: a value may not escape the anchors", change: func(r *alert.Rule) { r.Matchers[0].Value = `a)|(?:b` },
			bad: []string{"matchers[0]"}, msg: "regex does not compile"},
		{name: "matchers: !~ is checked too", change: func(r *alert.Rule) { r.Matchers[0].Op, r.Matchers[0].Value = alert.MatchNotRegex, "[" },
			bad: []string{"matchers[0]"}},
		{name: "too many matchers", change: func(r *alert.Rule) {
			r.Matchers = nil
			for range 21 {
				r.Matchers = append(r.Matchers, alert.Matcher{Tag: "host", Op: alert.MatchEqual, Value: "a"})
			}
		}, bad: []string{"matchers"}},
		{name: "agg unknown", change: func(r *alert.Rule) { r.Agg = "median" }, bad: []string{"agg"}},
		{name: "op unknown", change: func(r *alert.Rule) { r.Op = "=>" }, bad: []string{"op"}},
		{name: "threshold NaN", change: func(r *alert.Rule) { r.Threshold = math.NaN() }, bad: []string{"threshold"}, msg: "finite"},
		{name: "threshold +Inf", change: func(r *alert.Rule) { r.Threshold = math.Inf(1) }, bad: []string{"threshold"}},
		{name: "threshold -Inf", change: func(r *alert.Rule) { r.Threshold = math.Inf(-1) }, bad: []string{"threshold"}},
		{name: "threshold the largest finite float", change: func(r *alert.Rule) { r.Threshold = math.MaxFloat64 }},
		{name: "threshold 1.75e308 is finite", change: func(r *alert.Rule) { r.Threshold = -1.75e308 }},
		{name: "cadence below the default minimum (10s)", change: func(r *alert.Rule) { r.Cadence, r.Window = 9*time.Second, time.Minute },
			bad: []string{"cadence"}, msg: "at least 10s"},
		{name: "cadence at the default minimum", change: func(r *alert.Rule) { r.Cadence = 10 * time.Second }},
		{name: "cadence below Policy.MinCadence", policy: alert.Policy{MinCadence: 30 * time.Second},
			change: func(r *alert.Rule) { r.Cadence = 20 * time.Second }, bad: []string{"cadence"}, msg: "at least 30s"},
		{name: "cadence at Policy.MinCadence", policy: alert.Policy{MinCadence: 30 * time.Second},
			change: func(r *alert.Rule) { r.Cadence = 30 * time.Second }},
		{name: "cadence above the maximum", change: func(r *alert.Rule) { r.Cadence, r.Window = 25*time.Hour, 24*time.Hour },
			bad: []string{"cadence", "window"}, msg: "at most 24h"},
		{name: "cadence negative", change: func(r *alert.Rule) { r.Cadence = -time.Minute }, bad: []string{"cadence"}},
		{name: "cadence not whole seconds", change: func(r *alert.Rule) { r.Cadence = 90500 * time.Millisecond }, bad: []string{"cadence"}},
		{name: "window below 10s", change: func(r *alert.Rule) { r.Cadence, r.Window = 10*time.Second, 9*time.Second }, bad: []string{"window"}},
		{name: "window above 24h", change: func(r *alert.Rule) { r.Window = 24*time.Hour + time.Second }, bad: []string{"window"}},
		{name: "window zero", change: func(r *alert.Rule) { r.Window = 0 }, bad: []string{"window"}},
		{name: "window shorter than the cadence", change: func(r *alert.Rule) { r.Cadence, r.Window = 5*time.Minute, 4*time.Minute },
			bad: []string{"window"}, msg: "at least the cadence (5m0s)"},
		{name: "window equal to the cadence", change: func(r *alert.Rule) { r.Cadence, r.Window = 5*time.Minute, 5*time.Minute }},
		{name: "window not whole seconds", change: func(r *alert.Rule) { r.Window = 90500 * time.Millisecond }, bad: []string{"window"}},
		{name: "window at both bounds", change: func(r *alert.Rule) { r.Cadence, r.Window = 10*time.Second, 10*time.Second }},
		{name: "for negative", change: func(r *alert.Rule) { r.For = -time.Second }, bad: []string{"for"}},
		{name: "for above 7 days", change: func(r *alert.Rule) { r.For = 7*24*time.Hour + time.Second }, bad: []string{"for"}},
		{name: "keep_firing_for negative", change: func(r *alert.Rule) { r.KeepFiringFor = -time.Second }, bad: []string{"keep_firing_for"}},
		{name: "no_data unknown", change: func(r *alert.Rule) { r.NoData = "maybe" }, bad: []string{"no_data"}},
		{name: "group_by duplicates", change: func(r *alert.Rule) { r.GroupBy = []string{"host", "dc", "host"} }, bad: []string{"group_by"}, msg: "distinct"},
		{name: "group_by empty key", change: func(r *alert.Rule) { r.GroupBy = []string{""} }, bad: []string{"group_by"}},
		{name: "group_by too many", change: func(r *alert.Rule) {
			r.GroupBy = nil
			for i := range 11 {
				r.GroupBy = append(r.GroupBy, fmt.Sprint("k", i))
			}
		}, bad: []string{"group_by"}},
		{name: "severity unknown", change: func(r *alert.Rule) { r.Severity = "fatal" }, bad: []string{"severity"}},
		{name: "labels: too many", change: func(r *alert.Rule) { r.Labels = many(31) }, bad: []string{"labels"}, msg: "at most 30"},
		{name: "labels: at the limit", change: func(r *alert.Rule) { r.Labels = many(30) }},
		{name: "labels: empty key", change: func(r *alert.Rule) { r.Labels = map[string]string{"": "v"} }, bad: []string{"labels"}},
		{name: "labels: key too long", change: func(r *alert.Rule) { r.Labels = map[string]string{strings.Repeat("k", 101): "v"} }, bad: []string{"labels"}},
		{name: "labels: value too long", change: func(r *alert.Rule) { r.Labels = map[string]string{"team": strings.Repeat("v", 1001)} },
			bad: []string{"labels"}, msg: "values at most 1000"},
		{name: "annotations: too many", change: func(r *alert.Rule) { r.Annotations = many(21) }, bad: []string{"annotations"}},
		{name: "annotations: value too long", change: func(r *alert.Rule) { r.Annotations = map[string]string{"summary": strings.Repeat("v", 4097)} },
			bad: []string{"annotations", "annotations.summary"}, msg: "at most 4096"},
		{name: "annotations: at the length limit", change: func(r *alert.Rule) { r.Annotations = map[string]string{"summary": strings.Repeat("v", 4096)} }},
		{name: "annotations.<key>: template does not parse", change: func(r *alert.Rule) { r.Annotations["runbook"] = "{{.Value" },
			bad: []string{"annotations.runbook"}, msg: "template does not parse: "},
		{name: "annotations.<key>: unknown function", change: func(r *alert.Rule) { r.Annotations["runbook"] = "{{exec .Value}}" },
			bad: []string{"annotations.runbook"}, msg: `function "exec" not defined`},
		{name: "annotations.<key>: ranging over a number", change: func(r *alert.Rule) { r.Annotations["x"] = "{{range 1000000000}}{{end}}" },
			bad: []string{"annotations.x"}, msg: "may not range over a number"},
		{name: "annotations.<key>: ranging over a variable holding a number", change: func(r *alert.Rule) {
			r.Annotations["x"] = "{{$n := 9223372036854775807}}{{range $n}}{{end}}"
		}, bad: []string{"annotations.x"}, msg: "may only range over a field"},
		{name: "annotations.<key>: ranging over the labels is fine", change: func(r *alert.Rule) {
			r.Annotations["x"] = "{{range $k, $v := .Labels}}{{$k}}={{$v}} {{else}}none{{end}}"
		}},
		{name: "channels: zero", change: func(r *alert.Rule) { r.Channels = []int64{1, 0} }, bad: []string{"channels"}, msg: "positive"},
		{name: "channels: negative", change: func(r *alert.Rule) { r.Channels = []int64{-3} }, bad: []string{"channels"}},
		{name: "channels: too many", change: func(r *alert.Rule) {
			r.Channels = nil
			for i := range 21 {
				r.Channels = append(r.Channels, int64(i+1))
			}
		}, bad: []string{"channels"}},
		{name: "several at once: all listed", change: func(r *alert.Rule) {
			r.Name, r.Agg, r.Op, r.Threshold, r.Channels = "", "p99", "~", math.NaN(), []int64{0}
			r.Matchers[1].Value, r.Matchers[1].Op = "(", alert.MatchRegexp
			r.Annotations["a"] = "{{"
		}, bad: []string{"agg", "annotations.a", "channels", "matchers[1]", "name", "op", "threshold"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRule()
			r.Matchers = slices.Clone(r.Matchers)
			tt.change(&r)
			err := r.Validate(tt.policy)
			if len(tt.bad) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var ie *alert.InvalidRuleError
			if !errors.As(err, &ie) {
				t.Fatalf("Validate = %v (%T), want an *InvalidRuleError", err, err)
			}
			var got []string
			for k := range ie.Fields {
				got = append(got, k)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.bad) {
				t.Errorf("bad fields = %v, want %v (%v)", got, tt.bad, err)
			}
			if tt.msg != "" && !strings.Contains(ie.Fields[tt.bad[0]], tt.msg) {
				t.Errorf("%s: %q, want it to contain %q", tt.bad[0], ie.Fields[tt.bad[0]], tt.msg)
			}
		})
	}
}

func TestInvalidRuleErrorMessage(t *testing.T) {
	e := &alert.InvalidRuleError{Fields: alert.FieldErrors{"op": "must be one of", "agg": "bad", "name": "is required"}}
	want := "invalid rule: agg: bad; name: is required; op: must be one of"
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
}

func TestNormalize(t *testing.T) {
	r := alert.Rule{Name: "x"}.Normalize()
	if r.Cadence != time.Minute || r.Agg != alert.AggAvg || r.NoData != alert.NoDataState || r.Severity != alert.SeverityWarning ||
		r.Labels == nil || r.Annotations == nil || r.Matchers == nil || r.GroupBy == nil || r.Channels == nil {
		t.Errorf("Normalize() = %+v", r)
	}
	set := alert.Rule{Cadence: 2 * time.Minute, Agg: alert.AggMax, NoData: alert.NoDataOK, Severity: alert.SeverityInfo}.Normalize()
	if set.Cadence != 2*time.Minute || set.Agg != alert.AggMax || set.NoData != alert.NoDataOK || set.Severity != alert.SeverityInfo {
		t.Errorf("Normalize overwrote set fields: %+v", set)
	}
}

func TestComparatorBreaches(t *testing.T) {
	tests := []struct {
		op               alert.Comparator
		below, eq, above bool // value 2, 3, 4 against threshold 3
	}{
		{alert.GT, false, false, true},
		{alert.GE, false, true, true},
		{alert.LT, true, false, false},
		{alert.LE, true, true, false},
		{alert.EQ, false, true, false},
		{alert.NE, true, false, true},
		{"~", false, false, false},
	}
	for _, tt := range tests {
		got := [3]bool{tt.op.Breaches(2, 3), tt.op.Breaches(3, 3), tt.op.Breaches(4, 3)}
		if want := [3]bool{tt.below, tt.eq, tt.above}; got != want {
			t.Errorf("%q: breaches(2,3), (3,3), (4,3) = %v, want %v", tt.op, got, want)
		}
	}
}

// compiled validates a rule holding ms, so that regex matchers compile.
func compiled(t *testing.T, ms ...alert.Matcher) alert.Matchers {
	t.Helper()
	r := validRule()
	r.Matchers = ms
	if err := r.Validate(alert.Policy{}); err != nil {
		t.Fatal(err)
	}
	return r.Matchers
}

func TestMatchers(t *testing.T) {
	host := func(op alert.MatchOp, v string) alert.Matcher { return alert.Matcher{Tag: "host", Op: op, Value: v} }
	withHost := func(v string) metric.Tags { return metric.Tags{{Key: "dc", Value: "x"}, {Key: "host", Value: v}} }
	noHost := metric.Tags{{Key: "dc", Value: "x"}}
	tests := []struct {
		name string
		m    alert.Matcher
		tags metric.Tags
		want bool
	}{
		{`= matches the value`, host(alert.MatchEqual, "a"), withHost("a"), true},
		{`= is exact`, host(alert.MatchEqual, "a"), withHost("ab"), false},
		{`= "" matches a missing tag`, host(alert.MatchEqual, ""), noHost, true},
		{`!= matches a missing tag`, host(alert.MatchNotEqual, "a"), noHost, true},
		{`!= excludes the value`, host(alert.MatchNotEqual, "a"), withHost("a"), false},
		{`=~ is anchored: "a" does not match "ab"`, host(alert.MatchRegexp, "a"), withHost("ab"), false},
		{`=~ is anchored: "b" does not match "ab"`, host(alert.MatchRegexp, "b"), withHost("ab"), false},
		{`=~ "a" matches "a"`, host(alert.MatchRegexp, "a"), withHost("a"), true},
		{`=~ alternation is anchored as a whole`, host(alert.MatchRegexp, "a|b"), withHost("b"), true},
		{`=~ alternation does not match a prefix`, host(alert.MatchRegexp, "a|b"), withHost("ac"), false},
		{`=~ ".+" does not match a missing tag`, host(alert.MatchRegexp, ".+"), noHost, false},
		{`=~ ".*" matches a missing tag`, host(alert.MatchRegexp, ".*"), noHost, true},
		{`=~ flags are allowed`, host(alert.MatchRegexp, "(?i)WEB-1"), withHost("web-1"), true},
		{`!~ excludes what matches`, host(alert.MatchNotRegex, "web-.*"), withHost("web-1"), false},
		{`!~ keeps what does not`, host(alert.MatchNotRegex, "web-.*"), withHost("db-1"), true},
		{`!~ is anchored`, host(alert.MatchNotRegex, "web"), withHost("web-1"), true},
		{`!~ ".+" matches a missing tag`, host(alert.MatchNotRegex, ".+"), noHost, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := compiled(t, tt.m)
			if got := ms.Matches(tt.tags); got != tt.want {
				t.Errorf("%s %s %q on %v = %v, want %v", tt.m.Tag, tt.m.Op, tt.m.Value, tt.tags, got, tt.want)
			}
		})
	}
	t.Run("matchers are ANDed", func(t *testing.T) {
		ms := compiled(t, host(alert.MatchRegexp, "web-.*"), alert.Matcher{Tag: "dc", Op: alert.MatchEqual, Value: "x"})
		if !ms.Matches(withHost("web-1")) || ms.Matches(metric.Tags{{Key: "dc", Value: "y"}, {Key: "host", Value: "web-1"}}) {
			t.Error("AND of matchers wrong")
		}
		if !(alert.Matchers{}).Matches(noHost) {
			t.Error("no matchers should select every series")
		}
	})
	t.Run("a regex matcher Validate did not compile selects nothing", func(t *testing.T) {
		for _, op := range []alert.MatchOp{alert.MatchRegexp, alert.MatchNotRegex} {
			if host(op, ".*").Matches("a") {
				t.Errorf("uncompiled %s matched", op)
			}
		}
	})
	t.Run("Equalities: only = with a value", func(t *testing.T) {
		ms := alert.Matchers{host(alert.MatchEqual, "a"), {Tag: "dc", Op: alert.MatchEqual, Value: ""},
			{Tag: "env", Op: alert.MatchNotEqual, Value: "dev"}, {Tag: "az", Op: alert.MatchRegexp, Value: "1"}}
		if got := ms.Equalities(); !reflect.DeepEqual(got, map[string]string{"host": "a"}) {
			t.Errorf("Equalities() = %v", got)
		}
		if got := (alert.Matchers{}).Equalities(); got != nil {
			t.Errorf("Equalities() of none = %v, want nil", got)
		}
	})
}

func TestWorst(t *testing.T) {
	tests := []struct {
		in   []alert.State
		want alert.State
	}{
		{nil, normal},
		{[]alert.State{normal, nodata}, nodata},
		{[]alert.State{nodata, pending, normal}, pending},
		{[]alert.State{pending, errored}, errored},
		{[]alert.State{errored, recovering}, recovering},
		{[]alert.State{recovering, firing, normal}, firing},
	}
	for _, tt := range tests {
		if got := alert.Worst(tt.in...); got != tt.want {
			t.Errorf("Worst(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
