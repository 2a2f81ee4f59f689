package alert_test

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
)

// Short names for the states, so that the tables read like timelines.
const (
	normal     = alert.Normal
	pending    = alert.Pending
	firing     = alert.Firing
	recovering = alert.Recovering
	nodata     = alert.NoData
	errored    = alert.Error
)

// baseRule is the rule the scenarios start from: the last value of cpu over
// 1 m, above 3, every minute, for 0, no data → NoData.
func baseRule() alert.Rule {
	return alert.Rule{
		ID: 7, TenantID: 1, Name: "cpu high", Metric: "cpu",
		Agg: alert.AggLast, Window: time.Minute, Op: alert.GT, Threshold: 3,
		Cadence: time.Minute, NoData: alert.NoDataState, Severity: alert.SeverityWarning,
	}
}

// wantTr is an expected transition. Every field is compared, the zero
// values included: a transition that should not notify has notify "".
type wantTr struct {
	at, key  string
	from, to alert.State
	value    string // the observed value; "" when the transition carries none
	notify   alert.Notify
	opens    bool
	closes   bool
	firedAt  string
}

// tr is a transition that neither notifies nor opens or closes an episode.
func tr(at, key string, from, to alert.State, value string) wantTr {
	return wantTr{at: at, key: key, from: from, to: to, value: value}
}

// fires marks a transition that opens a firing episode (FiredAt is At).
func (w wantTr) fires() wantTr {
	w.notify, w.opens, w.firedAt = alert.NotifyFiring, true, w.at
	return w
}

// resolves marks a transition that closes the episode fired at firedAt.
func (w wantTr) resolves(firedAt string) wantTr {
	w.notify, w.closes, w.firedAt = alert.NotifyResolved, true, firedAt
	return w
}

// noData marks a nodata notification; firedAt is the episode it closes,
// "" for none.
func (w wantTr) noData(firedAt string) wantTr {
	w.notify, w.closes, w.firedAt = alert.NotifyNoData, firedAt != "", firedAt
	return w
}

// cmpTr is a transition reduced to what the scenarios compare.
type cmpTr struct {
	At            int64
	Key           string
	From, To      alert.State
	HasValue      bool
	Value         float64
	Notify        alert.Notify
	Opens, Closes bool
	FiredAt       int64
}

func (c cmpTr) String() string {
	d := func(v int64) string { return (time.Duration(v) * time.Millisecond).String() }
	s := fmt.Sprintf("@%s %q %s→%s", d(c.At), c.Key, c.From, c.To)
	if c.HasValue {
		s += " value=" + strconv.FormatFloat(c.Value, 'g', -1, 64)
	}
	if c.Notify != "" {
		s += " notify=" + string(c.Notify)
	}
	if c.Opens {
		s += " opens"
	}
	if c.Closes {
		s += " closes"
	}
	if c.FiredAt != 0 {
		s += " fired_at=" + d(c.FiredAt)
	}
	return s
}

func toCmp(trs []alert.Transition) []cmpTr {
	out := make([]cmpTr, 0, len(trs))
	for _, t := range trs {
		out = append(out, cmpTr{At: t.At, Key: t.Key, From: t.From, To: t.To, HasValue: t.HasValue, Value: t.Value,
			Notify: t.Notify, Opens: t.Opens, Closes: t.Closes, FiredAt: t.FiredAt})
	}
	return out
}

func wantCmp(t *testing.T, ws []wantTr) []cmpTr {
	t.Helper()
	out := make([]cmpTr, 0, len(ws))
	for _, w := range ws {
		c := cmpTr{At: ms(t, w.at), Key: w.key, From: w.from, To: w.to, Notify: w.notify,
			Opens: w.opens, Closes: w.closes, FiredAt: ms(t, w.firedAt)}
		if w.value != "" {
			v, err := strconv.ParseFloat(w.value, 64)
			if err != nil {
				t.Fatalf("bad value %q", w.value)
			}
			c.HasValue, c.Value = true, v
		}
		out = append(out, c)
	}
	return out
}

func listCmp(cs []cmpTr) string {
	if len(cs) == 0 {
		return "\t(none)\n"
	}
	var b strings.Builder
	for _, c := range cs {
		b.WriteString("\t" + c.String() + "\n")
	}
	return b.String()
}

// stateAt is every known instance's state after the evaluation at at.
type stateAt struct {
	at   string
	want map[string]alert.State
}

// scenario is one promtool-style case: a rule, input series, the times
// whose read fails, and the transitions (all of them, exactly) and states
// it must produce. Evaluations run at every k × cadence in [0, end].
type scenario struct {
	name     string
	rule     func(*alert.Rule) // changes to baseRule
	series   []string
	interval string   // the samples' interval; the cadence when ""
	end      string   // the last evaluation; the last sample's time + interval when ""
	fail     []string // evaluation times whose read fails (alert.Fail)
	want     []wantTr
	states   []stateAt
}

func runScenario(t *testing.T, sc scenario) {
	t.Helper()
	r := baseRule()
	if sc.rule != nil {
		sc.rule(&r)
	}
	r = r.Normalize()
	if err := r.Validate(alert.Policy{}); err != nil {
		t.Fatalf("the scenario's rule is invalid: %v", err)
	}
	interval := r.Cadence
	if sc.interval != "" {
		interval = time.Duration(ms(t, sc.interval)) * time.Millisecond
	}
	var samples []alert.SeriesSamples
	n := 0
	for _, spec := range sc.series {
		s := mustSeries(t, spec, interval)
		n = max(n, s.n)
		if s.name == r.Metric { // what the store would read
			samples = append(samples, s.samples)
		}
	}
	end := int64(n) * interval.Milliseconds()
	if sc.end != "" {
		end = ms(t, sc.end)
	}
	fails := map[int64]bool{}
	for _, f := range sc.fail {
		fails[ms(t, f)] = true
	}

	// From the first evaluation whose window holds the first samples: before
	// it the rule has no series at all (the no-series instance, tested apart).
	run := naiveRun(t, r, samples, r.Cadence.Milliseconds(), end, fails)

	got, want := toCmp(run.transitions), wantCmp(t, sc.want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("transitions:\n got:\n%s want:\n%s", listCmp(got), listCmp(want))
	}
	for _, st := range sc.states {
		at := ms(t, st.at)
		ins, ok := run.after[at]
		if !ok {
			t.Errorf("no evaluation at %s", st.at)
			continue
		}
		gotStates := map[string]alert.State{}
		for _, in := range ins {
			gotStates[in.Key] = in.State
		}
		if !reflect.DeepEqual(gotStates, st.want) {
			t.Errorf("states after %s = %v, want %v", st.at, gotStates, st.want)
		}
	}

	if len(fails) == 0 {
		// Preview must say exactly what the evaluation loop said.
		p := alert.Preview(r, samples, r.Cadence.Milliseconds(), end)
		if !reflect.DeepEqual(p.Transitions, run.transitions) {
			t.Errorf("Preview transitions:\n%s differ from the evaluation loop's:\n%s",
				listCmp(toCmp(p.Transitions)), listCmp(got))
		}
		if wantN := int(end / r.Cadence.Milliseconds()); p.Evaluations != wantN {
			t.Errorf("Preview.Evaluations = %d, want %d", p.Evaluations, wantN)
		}
		notifications, fired := 0, 0
		var intervals []alert.Interval
		open := map[string]int{}
		for _, w := range want {
			if w.Notify != "" {
				notifications++
			}
			if w.Opens {
				fired++
				open[w.Key] = len(intervals)
				intervals = append(intervals, alert.Interval{Key: w.Key, Start: w.At})
			}
			if i, ok := open[w.Key]; ok && w.Closes {
				intervals[i].End = w.At
				delete(open, w.Key)
			}
		}
		if p.Notifications != notifications || p.Fired != fired {
			t.Errorf("Preview notifications %d, fired %d; want %d, %d", p.Notifications, p.Fired, notifications, fired)
		}
		var gotIntervals []alert.Interval
		for _, iv := range p.Intervals {
			if alert.InstanceKey(iv.Labels) != iv.Key {
				t.Errorf("interval %+v: labels do not make its key", iv)
			}
			gotIntervals = append(gotIntervals, alert.Interval{Key: iv.Key, Start: iv.Start, End: iv.End})
		}
		if !reflect.DeepEqual(gotIntervals, intervals) {
			t.Errorf("Preview intervals = %+v, want %+v", gotIntervals, intervals)
		}
	}
}
