package alert_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
)

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
