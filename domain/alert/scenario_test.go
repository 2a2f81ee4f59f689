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

func TestScenarios(t *testing.T) {
	const a, b, c = "host=a", "host=b", "host=c"
	withFor := func(d time.Duration) func(*alert.Rule) { return func(r *alert.Rule) { r.For = d } }
	withNoData := func(p alert.NoDataPolicy) func(*alert.Rule) { return func(r *alert.Rule) { r.NoData = p } }
	scenarios := []scenario{
		{
			// eval   1m 2m 3m 4m 5m
			// reads   1  5  5  1  1
			name:   "crossing both ways with for=0: firing then resolved",
			series: []string{`cpu{host="a"} 1 5 5 1 1`},
			want: []wantTr{
				tr("2m", a, normal, firing, "5").fires(),
				tr("4m", a, firing, normal, "1").resolves("2m"),
			},
			states: []stateAt{{"1m", map[string]alert.State{a: normal}}, {"2m", map[string]alert.State{a: firing}},
				{"3m", map[string]alert.State{a: firing}}, {"4m", map[string]alert.State{a: normal}}},
		},
		{
			// eval   1m 2m 3m 4m 5m 6m
			// reads   1  5  5  5  5  1
			name:   "for=2m: Pending at t0, still Pending at t0+1m, Firing exactly at t0+2m",
			rule:   withFor(2 * time.Minute),
			series: []string{`cpu{host="a"} 1 5 5 5 5 1`},
			want: []wantTr{
				tr("2m", a, normal, pending, "5"),
				tr("4m", a, pending, firing, "5").fires(),
				tr("6m", a, firing, normal, "1").resolves("4m"),
			},
			states: []stateAt{{"2m", map[string]alert.State{a: pending}}, {"3m", map[string]alert.State{a: pending}},
				{"4m", map[string]alert.State{a: firing}}, {"5m", map[string]alert.State{a: firing}}},
		},
		{
			// eval   1m 2m 3m 4m 5m 6m 7m 8m
			// reads   1  5  5  1  5  5  5  1
			name:   "for=2m: a dip during Pending resets it and the next Pending needs the full for",
			rule:   withFor(2 * time.Minute),
			series: []string{`cpu{host="a"} 1 5 5 1 5 5 5 1`},
			want: []wantTr{
				tr("2m", a, normal, pending, "5"),
				tr("4m", a, pending, normal, "1"),
				tr("5m", a, normal, pending, "5"),
				tr("7m", a, pending, firing, "5").fires(),
				tr("8m", a, firing, normal, "1").resolves("7m"),
			},
			states: []stateAt{{"4m", map[string]alert.State{a: normal}}, {"5m", map[string]alert.State{a: pending}},
				{"6m", map[string]alert.State{a: pending}}, {"7m", map[string]alert.State{a: firing}}},
		},
		{
			// eval   1m 2m 3m 4m 5m 6m 7m 8m 9m 10m
			// reads   1  5  1  5  1  5  1  1  1  1
			name:   "keep_firing_for=3m: a flapping series sends one firing and one resolved",
			rule:   func(r *alert.Rule) { r.KeepFiringFor = 3 * time.Minute },
			series: []string{`cpu{host="a"} 1 5 1 5 1 5 1 1 1 1`},
			want: []wantTr{
				tr("2m", a, normal, firing, "5").fires(),
				tr("3m", a, firing, recovering, "1"),
				tr("4m", a, recovering, firing, "5"),
				tr("5m", a, firing, recovering, "1"),
				tr("6m", a, recovering, firing, "5"),
				tr("7m", a, firing, recovering, "1"),
				tr("10m", a, recovering, normal, "1").resolves("2m"),
			},
			states: []stateAt{{"3m", map[string]alert.State{a: recovering}}, {"9m", map[string]alert.State{a: recovering}},
				{"10m", map[string]alert.State{a: normal}}},
		},
		{
			name:   "without keep_firing_for the same flapping series notifies every crossing",
			series: []string{`cpu{host="a"} 1 5 1 5 1 5 1 1 1 1`},
			want: []wantTr{
				tr("2m", a, normal, firing, "5").fires(),
				tr("3m", a, firing, normal, "1").resolves("2m"),
				tr("4m", a, normal, firing, "5").fires(),
				tr("5m", a, firing, normal, "1").resolves("4m"),
				tr("6m", a, normal, firing, "5").fires(),
				tr("7m", a, firing, normal, "1").resolves("6m"),
			},
		},
		{
			name:   "recovering then breach again returns to Firing in the same episode, without a notification",
			rule:   func(r *alert.Rule) { r.KeepFiringFor = 5 * time.Minute },
			series: []string{`cpu{host="a"} 5 1 5 1`},
			want: []wantTr{
				tr("1m", a, normal, firing, "5").fires(),
				tr("2m", a, firing, recovering, "1"),
				tr("3m", a, recovering, firing, "5"),
				tr("4m", a, firing, recovering, "1"),
			},
			states: []stateAt{{"3m", map[string]alert.State{a: firing}}, {"4m", map[string]alert.State{a: recovering}}},
		},
		{
			// eval   1m 2m 3m 4m 5m
			// reads   1  5  _  _  1
			name:   "no data, policy nodata: NoData notifies once, closes the firing episode, data resumes to Normal",
			series: []string{`cpu{host="a"} 1 5 _ _ 1`},
			want: []wantTr{
				tr("2m", a, normal, firing, "5").fires(),
				tr("3m", a, firing, nodata, "").noData("2m"),
				tr("5m", a, nodata, normal, "1"),
			},
			states: []stateAt{{"3m", map[string]alert.State{a: nodata}}, {"4m", map[string]alert.State{a: nodata}},
				{"5m", map[string]alert.State{a: normal}}},
		},
		{
			name:   "no data, policy nodata, from Normal: notifies nodata without closing anything",
			series: []string{`cpu{host="a"} 1 _ 1`},
			want: []wantTr{
				tr("2m", a, normal, nodata, "").noData(""),
				tr("3m", a, nodata, normal, "1"),
			},
		},
		{
			// eval   1m 2m 3m 4m 5m
			// reads   1  _  5  5  5
			name:   "NoData then data resumes into Pending, which needs the full for",
			rule:   withFor(2 * time.Minute),
			series: []string{`cpu{host="a"} 1 _ 5 5 5`},
			want: []wantTr{
				tr("2m", a, normal, nodata, "").noData(""),
				tr("3m", a, nodata, pending, "5"),
				tr("5m", a, pending, firing, "5").fires(),
			},
			states: []stateAt{{"3m", map[string]alert.State{a: pending}}, {"4m", map[string]alert.State{a: pending}}},
		},
		{
			name:   "no data, policy alerting: counts as a breach",
			rule:   withNoData(alert.NoDataAlerting),
			series: []string{`cpu{host="a"} 1 _ _ 1`},
			want: []wantTr{
				tr("2m", a, normal, firing, "").fires(),
				tr("4m", a, firing, normal, "1").resolves("2m"),
			},
			states: []stateAt{{"3m", map[string]alert.State{a: firing}}},
		},
		{
			name:   "no data, policy alerting, with for: Pending then Firing without any sample",
			rule:   func(r *alert.Rule) { r.NoData, r.For = alert.NoDataAlerting, time.Minute },
			series: []string{`cpu{host="a"} 1 _ _ _ 1`},
			want: []wantTr{
				tr("2m", a, normal, pending, ""),
				tr("3m", a, pending, firing, "").fires(),
				tr("5m", a, firing, normal, "1").resolves("3m"),
			},
		},
		{
			name:   "no data, policy ok: counts as healthy",
			rule:   withNoData(alert.NoDataOK),
			series: []string{`cpu{host="a"} 5 _ 5`},
			want: []wantTr{
				tr("1m", a, normal, firing, "5").fires(),
				tr("2m", a, firing, normal, "").resolves("1m"),
				tr("3m", a, normal, firing, "5").fires(),
			},
		},
		{
			name:   "no data, policy keep_last: no change, firing or normal",
			rule:   withNoData(alert.NoDataKeepLast),
			series: []string{`cpu{host="a"} 5 _ _ 1`, `cpu{host="b"} 1 _ _ 1`},
			want: []wantTr{
				tr("1m", a, normal, firing, "5").fires(),
				tr("4m", a, firing, normal, "1").resolves("1m"),
			},
			states: []stateAt{{"2m", map[string]alert.State{a: firing, b: normal}},
				{"3m", map[string]alert.State{a: firing, b: normal}}},
		},
		{
			// Pins the current design: under keep_last the time without
			// data counts towards for.
			name:   "no data, policy keep_last, during Pending: the gap counts towards for",
			rule:   func(r *alert.Rule) { r.NoData, r.For = alert.NoDataKeepLast, 2*time.Minute },
			series: []string{`cpu{host="a"} 5 _ _ 5`},
			want: []wantTr{
				tr("1m", a, normal, pending, "5"),
				tr("4m", a, pending, firing, "5").fires(),
			},
		},
		{
			name:   "three hosts, one breaching: exactly one Firing instance and two Normal",
			series: []string{`cpu{host="a"} 1 1`, `cpu{host="b"} 5 5`, `cpu{host="c"} 1 2`},
			want:   []wantTr{tr("1m", b, normal, firing, "5").fires()},
			states: []stateAt{{"1m", map[string]alert.State{a: normal, b: firing, c: normal}},
				{"2m", map[string]alert.State{a: normal, b: firing, c: normal}}},
		},
		{
			name:   ">= at equality breaches",
			rule:   func(r *alert.Rule) { r.Op = alert.GE },
			series: []string{`cpu{host="a"} 3 2.999`},
			want: []wantTr{
				tr("1m", a, normal, firing, "3").fires(),
				tr("2m", a, firing, normal, "2.999").resolves("1m"),
			},
		},
		{
			name:   "> at equality does not breach",
			series: []string{`cpu{host="a"} 3 3 3.001`},
			want:   []wantTr{tr("3m", a, normal, firing, "3.001").fires()},
			states: []stateAt{{"2m", map[string]alert.State{a: normal}}},
		},
		{
			name:   "a series that disappears gets the no-data policy (nodata), the others are untouched",
			series: []string{`cpu{host="a"} 1 1 1 1`, `cpu{host="b"} 5 5`},
			want: []wantTr{
				tr("1m", b, normal, firing, "5").fires(),
				tr("3m", b, firing, nodata, "").noData("1m"),
			},
			states: []stateAt{{"3m", map[string]alert.State{a: normal, b: nodata}},
				{"4m", map[string]alert.State{a: normal, b: nodata}}},
		},
		{
			name:   "a series that disappears gets the no-data policy (ok): resolved",
			rule:   withNoData(alert.NoDataOK),
			series: []string{`cpu{host="a"} 1 1 1`, `cpu{host="b"} 5 5`},
			want: []wantTr{
				tr("1m", b, normal, firing, "5").fires(),
				tr("3m", b, firing, normal, "").resolves("1m"),
			},
			states: []stateAt{{"3m", map[string]alert.State{a: normal, b: normal}}},
		},
		{
			// eval          1m 2m 3m
			// dc=x: a+b      7  9  5
			// dc=y: c        9  9  9
			name: "group_by merges two series into one instance (sum of both)",
			rule: func(r *alert.Rule) { r.GroupBy, r.Agg, r.Threshold = []string{"dc"}, alert.AggSum, 8 },
			series: []string{`cpu{dc="x",host="a"} 3 5 1`, `cpu{dc="x",host="b"} 4 4 4`,
				`cpu{dc="y",host="c"} 9 9 9`},
			want: []wantTr{
				tr("1m", "dc=y", normal, firing, "9").fires(),
				tr("2m", "dc=x", normal, firing, "9").fires(),
				tr("3m", "dc=x", firing, normal, "5").resolves("2m"),
			},
			states: []stateAt{{"1m", map[string]alert.State{"dc=x": normal, "dc=y": firing}},
				{"2m", map[string]alert.State{"dc=x": firing, "dc=y": firing}}},
		},
		{
			name: "avg over a window of several samples",
			rule: func(r *alert.Rule) { r.Agg, r.Window = alert.AggAvg, 3*time.Minute },
			// eval 3m reads 1 2 3 (avg 2), 4m reads 2 3 7 (avg 4), 5m reads 3 7 (avg 5),
			// 6m reads 7, 7m reads nothing
			series: []string{`cpu{host="a"} 1 2 3 7 _ _`},
			end:    "7m",
			want: []wantTr{
				tr("4m", a, normal, firing, "4").fires(),
				tr("7m", a, firing, nodata, "").noData("4m"),
			},
		},
		{
			// eval   1m 2m 3m
			// reads   5  ✗  1
			name:   "Error keeps the firing episode open and a later healthy read resolves it",
			series: []string{`cpu{host="a"} 5 5 1`},
			fail:   []string{"2m"},
			want: []wantTr{
				tr("1m", a, normal, firing, "5").fires(),
				tr("2m", a, firing, errored, ""),
				tr("3m", a, errored, normal, "1").resolves("1m"),
			},
			states: []stateAt{{"2m", map[string]alert.State{a: errored}}},
		},
		{
			name:   "Error twice in a row is one transition; a breach after it continues the episode",
			series: []string{`cpu{host="a"} 5 5 5 5 1`},
			fail:   []string{"2m", "3m"},
			want: []wantTr{
				tr("1m", a, normal, firing, "5").fires(),
				tr("2m", a, firing, errored, ""),
				tr("4m", a, errored, firing, "5"),
				tr("5m", a, firing, normal, "1").resolves("1m"),
			},
			states: []stateAt{{"3m", map[string]alert.State{a: errored}}},
		},
		{
			name:   "Error during a firing episode, then no data: nodata closes the episode",
			series: []string{`cpu{host="a"} 5 5`},
			end:    "3m",
			fail:   []string{"2m"},
			want: []wantTr{
				tr("1m", a, normal, firing, "5").fires(),
				tr("2m", a, firing, errored, ""),
				tr("3m", a, errored, nodata, "").noData("1m"),
			},
		},
		{
			name:   "Error out of Normal, then a breach opens a new episode",
			series: []string{`cpu{host="a"} 1 1 5`},
			fail:   []string{"2m"},
			want: []wantTr{
				tr("2m", a, normal, errored, ""),
				tr("3m", a, errored, firing, "5").fires(),
			},
		},
		{
			// Pins the current design (see the report): an Error during
			// Pending forgets the pending time.
			// A failed read does not restart the Pending timer: Firing
			// comes at active-since + for, as without the error.
			name:   "Error during Pending keeps the for timer",
			rule:   withFor(2 * time.Minute),
			series: []string{`cpu{host="a"} 5 5 5 5 5`},
			fail:   []string{"2m"},
			want: []wantTr{
				tr("1m", a, normal, pending, "5"),
				tr("2m", a, pending, errored, ""),
				tr("3m", a, errored, firing, "5").fires(),
			},
		},
		{
			// Pins the current design (see the report): an Error during
			// Recovering restarts keep_firing_for.
			name:   "Error during Recovering restarts keep_firing_for",
			rule:   func(r *alert.Rule) { r.KeepFiringFor = 2 * time.Minute },
			series: []string{`cpu{host="a"} 5 1 1 1 1 1`},
			fail:   []string{"3m"},
			want: []wantTr{
				tr("1m", a, normal, firing, "5").fires(),
				tr("2m", a, firing, recovering, "1"),
				tr("3m", a, recovering, errored, ""),
				tr("4m", a, errored, recovering, "1"),
				tr("6m", a, recovering, normal, "1").resolves("1m"),
			},
		},
		{
			name:   "a failed read before any instance is known changes nothing",
			series: []string{`cpu{host="a"} 5`},
			fail:   []string{"1m"},
			end:    "1m",
		},
		{
			name:     "samples every 30s read by a 1m window and cadence (max)",
			rule:     func(r *alert.Rule) { r.Agg = alert.AggMax },
			interval: "30s",
			// eval 1m reads 1 1, 2m reads 1 9, 3m reads 1 1
			series: []string{`cpu{host="a"} 1 1 1 9 1 1`},
			want: []wantTr{
				tr("2m", a, normal, firing, "9").fires(),
				tr("3m", a, firing, normal, "1").resolves("2m"),
			},
		},
		{
			name:   "another metric's series is not read",
			series: []string{`mem{host="a"} 5 5`, `cpu{host="b"} 1 1`},
			states: []stateAt{{"2m", map[string]alert.State{b: normal}}},
		},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, sc) })
	}
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

// A rule whose metric has no series at all: under nodata and alerting one
// instance without labels carries the policy; it turns healthy (without a
// notification of its own under nodata) when series report; under ok and
// keep_last nothing happens.
func TestNoSeriesInstance(t *testing.T) {
	s := mustSeries(t, `cpu{host="a"} 1 1`, time.Minute)
	for _, c := range []struct {
		policy alert.NoDataPolicy
		want   []wantTr
	}{
		{alert.NoDataState, []wantTr{
			{at: "1m", key: "", from: normal, to: nodata, notify: alert.NotifyNoData},
			tr("3m", "", nodata, normal, ""),
		}},
		{alert.NoDataAlerting, []wantTr{
			tr("1m", "", normal, firing, "").fires(),
			tr("3m", "", firing, normal, "").resolves("1m"),
		}},
		{alert.NoDataOK, nil},
		{alert.NoDataKeepLast, nil},
	} {
		t.Run(string(c.policy), func(t *testing.T) {
			r := baseRule()
			r.NoData = c.policy
			var known []alert.Instance
			var got []alert.Transition
			// Evaluations at 1m and 2m see nothing; at 3m the series
			// (samples at 2m) reports.
			late := alert.SeriesSamples{Tags: s.samples.Tags, TS: []int64{120000, 180000}, Values: []float64{1, 1}}
			for _, at := range []int64{60000, 120000, 180000} {
				var series []alert.SeriesWindow
				var w alert.Window
				for i, ts := range late.TS {
					if ts >= at-60000 && ts < at {
						w = w.Add(ts, late.Values[i])
					}
				}
				if w.Count > 0 {
					series = append(series, alert.SeriesWindow{Tags: late.Tags, Window: w})
				}
				ev := alert.Evaluate(r, known, r.GroupSeries(series), at)
				known = ev.Instances
				got = append(got, ev.Transitions...)
			}
			if g, w := toCmp(got), wantCmp(t, c.want); !reflect.DeepEqual(g, w) {
				t.Errorf("transitions:\n got:\n%s want:\n%s", listCmp(g), listCmp(w))
			}
		})
	}
}
