package alert_test

import (
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/metric"
)

// naiveWindows builds every series' window over [t-window, t) from scratch,
// sample by sample, as a live evaluation reads them; series without a
// sample in the window are left out, as the store leaves them out.
func naiveWindows(r alert.Rule, samples []alert.SeriesSamples, t int64) []alert.SeriesWindow {
	from := t - r.Window.Milliseconds()
	var out []alert.SeriesWindow
	for _, s := range samples {
		var w alert.Window
		for i, ts := range s.TS {
			if ts >= from && ts < t {
				w = w.Add(ts, s.Values[i])
			}
		}
		if w.Count > 0 {
			out = append(out, alert.SeriesWindow{Tags: s.Tags, Window: w})
		}
	}
	return out
}

// loopRun is what a naive evaluation loop did.
type loopRun struct {
	transitions []alert.Transition
	after       map[int64][]alert.Instance // the instances after each evaluation
}

// naiveRun evaluates r at every cadence step in [start, end] with windows
// built from scratch, calling Fail at the times in fails, and checks the
// instances' invariants after every evaluation.
func naiveRun(t testing.TB, r alert.Rule, samples []alert.SeriesSamples, start, end int64, fails map[int64]bool) loopRun {
	t.Helper()
	run := loopRun{after: map[int64][]alert.Instance{}}
	first, n := alert.PreviewTimes(r, start, end)
	var known []alert.Instance
	for k := range n {
		at := first + int64(k)*r.Cadence.Milliseconds()
		var ev alert.Evaluation
		if fails[at] {
			ev = alert.Fail(r, known, at)
		} else {
			ev = alert.Evaluate(r, known, r.GroupSeries(naiveWindows(r, samples, at)), at)
		}
		checkInvariants(t, r, known, ev, at)
		known = ev.Instances
		run.transitions = append(run.transitions, ev.Transitions...)
		run.after[at] = ev.Instances
	}
	return run
}

// checkInvariants checks what must hold of every evaluation's answer. (The
// tests never read a sample at or before t=0, so 0 is never a real
// ActiveAt or FiredAt here.)
func checkInvariants(t testing.TB, r alert.Rule, before []alert.Instance, ev alert.Evaluation, at int64) {
	t.Helper()
	prev := map[string]alert.Instance{}
	for _, in := range before {
		prev[in.Key] = in
	}
	keys := map[string]bool{}
	for _, in := range ev.Instances {
		if keys[in.Key] {
			t.Errorf("@%d: instance %q twice", at, in.Key)
		}
		keys[in.Key] = true
		if alert.InstanceKey(in.Labels) != in.Key {
			t.Errorf("@%d: instance %q has labels %v", at, in.Key, in.Labels)
		}
		if in.LastEval != at || in.Since > at {
			t.Errorf("@%d: instance %+v: LastEval or Since wrong", at, in)
		}
		switch in.State {
		case alert.Normal:
			if in.ActiveAt != 0 || in.FiredAt != 0 {
				t.Errorf("@%d: Normal instance %+v keeps an episode", at, in)
			}
		case alert.Pending:
			// (no bound on at-ActiveAt: under keep_last a gap without data
			// leaves an instance Pending past its for)
			if in.FiredAt != 0 || in.ActiveAt > at || r.For == 0 {
				t.Errorf("@%d: Pending instance %+v", at, in)
			}
		case alert.Firing, alert.Recovering:
			if in.FiredAt == 0 || in.ActiveAt > in.FiredAt || in.FiredAt-in.ActiveAt < r.For.Milliseconds() {
				t.Errorf("@%d: %s instance %+v: FiredAt/ActiveAt wrong (for %s)", at, in.State, in, r.For)
			}
		case alert.NoData:
			if in.ActiveAt != 0 || in.FiredAt != 0 || in.HasValue {
				t.Errorf("@%d: NoData instance %+v keeps an episode or a value", at, in)
			}
		case alert.Error:
		default:
			t.Errorf("@%d: instance %+v in an unknown state", at, in)
		}
		if p, ok := prev[in.Key]; ok && p.State == in.State && in.Since != p.Since {
			t.Errorf("@%d: instance %q stayed %s but Since moved %d → %d", at, in.Key, in.State, p.Since, in.Since)
		}
	}
	for k := range prev {
		if !keys[k] {
			t.Errorf("@%d: known instance %q was dropped", at, k)
		}
	}
	for _, tr := range ev.Transitions {
		if tr.From == tr.To || tr.At != at {
			t.Errorf("@%d: transition %+v", at, tr)
		}
		if tr.Opens != (tr.Notify == alert.NotifyFiring) {
			t.Errorf("@%d: transition %+v: opens iff it notifies firing", at, tr)
		}
		if tr.Opens && tr.FiredAt != at || tr.Closes && tr.FiredAt == 0 || !tr.Opens && !tr.Closes && tr.FiredAt != 0 {
			t.Errorf("@%d: transition %+v: FiredAt wrong", at, tr)
		}
		if tr.Notify == alert.NotifyResolved && !tr.Closes {
			t.Errorf("@%d: resolved without closing: %+v", at, tr)
		}
		if p, ok := prev[tr.Key]; ok && p.State != tr.From && !(p.State == "" && tr.From == alert.Normal) {
			t.Errorf("@%d: transition %+v from %s, the instance was %s", at, tr, tr.From, p.State)
		}
	}
}

func TestPreviewTimes(t *testing.T) {
	r := baseRule() // cadence 1 m
	tests := []struct {
		name       string
		start, end int64
		first      int64
		n          int
	}{
		{"aligned both ends", 0, 300000, 0, 6},
		{"start rounds up to the cadence", 30000, 300000, 60000, 5},
		{"end rounds down", 0, 299999, 0, 5},
		{"one evaluation", 60000, 60000, 60000, 1},
		{"negative start rounds up towards zero", -90000, 0, -60000, 2},
		{"no multiple inside", 10000, 50000, 60000, 0},
		{"end before start", 60000, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, n := alert.PreviewTimes(r, tt.start, tt.end)
			if first != tt.first || n != tt.n {
				t.Errorf("PreviewTimes(%d, %d) = %d, %d; want %d, %d", tt.start, tt.end, first, n, tt.first, tt.n)
			}
		})
	}
	r.Cadence = 0
	if _, n := alert.PreviewTimes(r, 0, 60000); n != 0 {
		t.Errorf("cadence 0: %d evaluations, want 0", n)
	}
}

func TestPreviewIntervals(t *testing.T) {
	// eval 1m 2m 3m 4m 5m 6m
	// read  1  5  5  1  5  5   → [2m, 4m) and [5m, still firing)
	s := mustSeries(t, `cpu{host="a"} 1 5 5 1 5 5`, time.Minute)
	p := alert.Preview(baseRule(), []alert.SeriesSamples{s.samples}, 60000, 6*60000)
	want := []alert.Interval{
		{Key: "host=a", Labels: s.samples.Tags, Start: 120000, End: 240000},
		{Key: "host=a", Labels: s.samples.Tags, Start: 300000, End: 0},
	}
	if !reflect.DeepEqual(p.Intervals, want) || p.Fired != 2 || p.Notifications != 3 || p.Evaluations != 6 {
		t.Errorf("Preview = %+v, want intervals %+v, fired 2, notifications 3, 6 evaluations", p, want)
	}
	// A metric without any series: its no-series instance goes NoData once.
	p = alert.Preview(baseRule(), nil, 60000, 300000)
	if p.Evaluations != 5 || len(p.Transitions) != 1 || p.Transitions[0].Key != "" || p.Transitions[0].To != alert.NoData || p.Notifications != 1 {
		t.Errorf("Preview without samples = %+v", p)
	}
}

// TestPreviewEqualsNaiveLoop is the property test: for random series and
// random rules, Preview's sliding windows give exactly the transitions of a
// loop that builds every window from scratch and calls Evaluate.
func TestPreviewEqualsNaiveLoop(t *testing.T) {
	rng := rand.New(rand.NewSource(20240601))
	iterations := 1500
	if testing.Short() {
		iterations = 200
	}
	withTransitions := 0
	for i := range iterations {
		r := randomRule(rng)
		samples := randomSamples(rng)
		start := int64(1+rng.Intn(5)) * 10000 // never t=0, where 0 also means "unset"
		end := start + int64(5+rng.Intn(60))*r.Cadence.Milliseconds() + int64(rng.Intn(30000))
		run := naiveRun(t, r, samples, start, end, nil)
		p := alert.Preview(r, samples, start, end)
		if !reflect.DeepEqual(p.Transitions, run.transitions) {
			t.Fatalf("case %d (seeded, rerun to reproduce): rule %+v over %d series\nPreview:\n%s naive loop:\n%s",
				i, r, len(samples), listCmp(toCmp(p.Transitions)), listCmp(toCmp(run.transitions)))
		}
		if len(run.transitions) > 0 {
			withTransitions++
		}
		if t.Failed() {
			t.Fatalf("case %d: rule %+v over %d series broke an invariant", i, r, len(samples))
		}
	}
	// The generator must exercise the state machine, not only agree on
	// empty answers.
	if withTransitions < iterations/2 {
		t.Errorf("only %d of %d random cases had transitions", withTransitions, iterations)
	}
}

func randomRule(rng *rand.Rand) alert.Rule {
	cadence := time.Duration(10+rng.Intn(110)) * time.Second
	r := alert.Rule{
		ID: rng.Int63n(1000) + 1, Name: "random", Metric: "cpu",
		Agg:       alert.Aggs[rng.Intn(len(alert.Aggs))],
		Op:        alert.Comparators[rng.Intn(len(alert.Comparators))],
		Threshold: float64(rng.Intn(8)) + []float64{0, 0, 0.5}[rng.Intn(3)],
		Cadence:   cadence,
		Window:    cadence + time.Duration(rng.Intn(240))*time.Second,
		NoData:    alert.NoDataPolicies[rng.Intn(len(alert.NoDataPolicies))],
	}
	switch rng.Intn(3) {
	case 1:
		r.For = time.Duration(rng.Intn(4)) * cadence
	case 2:
		r.For = time.Duration(rng.Intn(300)) * time.Second
	}
	if rng.Intn(2) == 0 {
		r.KeepFiringFor = time.Duration(rng.Intn(300)) * time.Second
	}
	switch rng.Intn(4) {
	case 1:
		r.GroupBy = []string{"dc"}
	case 2:
		r.GroupBy = []string{"host", "dc"}
	}
	switch rng.Intn(4) {
	case 1:
		r.Matchers = alert.Matchers{{Tag: "host", Op: alert.MatchNotEqual, Value: "c"}}
	case 2:
		r.Matchers = alert.Matchers{{Tag: "host", Op: alert.MatchRegexp, Value: "a|b"}}
	}
	r = r.Normalize()
	if err := r.Validate(alert.Policy{}); err != nil { // compiles the matchers
		panic(fmt.Sprintf("randomRule made an invalid rule %+v: %v", r, err))
	}
	return r
}

func randomSamples(rng *rand.Rand) []alert.SeriesSamples {
	hosts, dcs := []string{"a", "b", "c"}, []string{"x", "y", ""}
	n := 1 + rng.Intn(4)
	out := make([]alert.SeriesSamples, 0, n)
	seen := map[string]bool{}
	for range n {
		tags := metric.Tags{}
		if dc := dcs[rng.Intn(len(dcs))]; dc != "" {
			tags = append(tags, metric.Tag{Key: "dc", Value: dc})
		}
		tags = append(tags, metric.Tag{Key: "host", Value: hosts[rng.Intn(len(hosts))]})
		if k := alert.InstanceKey(tags); seen[k] {
			continue
		} else {
			seen[k] = true
		}
		s := alert.SeriesSamples{Tags: tags}
		// Bursts and gaps: the series stops and resumes, so windows empty
		// out and instances go NoData and come back.
		ts := int64(rng.Intn(20000))
		step := int64(1000 * (1 + rng.Intn(40)))
		for ts < 3*3600*1000 && len(s.TS) < 600 {
			if rng.Intn(25) == 0 {
				ts += int64(rng.Intn(600000)) // a gap of up to 10 m
			}
			v := float64(rng.Intn(9))
			if rng.Intn(4) == 0 {
				v += rng.Float64()
			}
			s.TS = append(s.TS, ts)
			s.Values = append(s.Values, v)
			if rng.Intn(20) != 0 { // sometimes two samples share a timestamp
				ts += step/2 + rng.Int63n(step)
			}
		}
		out = append(out, s)
	}
	return out
}
