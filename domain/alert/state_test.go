package alert_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/metric"
)

// TestStepInstance checks the instance Step answers, field by field, for
// each edge of the state machine.
func TestStepInstance(t *testing.T) {
	labels := metric.Tags{{Key: "host", Value: "a"}}
	base := alert.Instance{Key: "host=a", Labels: labels}
	at := func(s alert.State, since, active, fired int64, v float64) alert.Instance {
		in := base
		in.State, in.Since, in.ActiveAt, in.FiredAt = s, since, active, fired
		in.Value, in.HasValue = v, true
		in.LastEval = since
		return in
	}
	data := func(v float64) alert.Observation { return alert.Observation{HasData: true, Value: v} }
	rule := func(change func(*alert.Rule)) alert.Rule {
		r := baseRule()
		if change != nil {
			change(&r)
		}
		return r
	}
	forTwo := func(r *alert.Rule) { r.For = 2 * time.Minute }
	keep := func(r *alert.Rule) { r.KeepFiringFor = 2 * time.Minute }
	const m = 60000
	tests := []struct {
		name   string
		r      alert.Rule
		in     alert.Instance
		obs    alert.Observation
		now    int64
		want   alert.Instance
		notify alert.Notify
		moved  bool // a transition is expected
	}{
		{name: "zero instance, healthy: Normal, no transition", r: rule(nil), in: base, obs: data(1), now: m,
			want: alert.Instance{Key: "host=a", Labels: labels, State: normal, Since: m, Value: 1, HasValue: true, LastEval: m}},
		{name: "zero instance, breach: Normal → Firing", r: rule(nil), in: base, obs: data(5), now: m,
			want:   alert.Instance{Key: "host=a", Labels: labels, State: firing, Since: m, ActiveAt: m, FiredAt: m, Value: 5, HasValue: true, LastEval: m},
			notify: alert.NotifyFiring, moved: true},
		{name: "Normal → Pending sets ActiveAt", r: rule(forTwo), in: at(normal, m, 0, 0, 1), obs: data(5), now: 2 * m,
			want: alert.Instance{Key: "host=a", Labels: labels, State: pending, Since: 2 * m, ActiveAt: 2 * m, Value: 5, HasValue: true, LastEval: 2 * m}, moved: true},
		{name: "Pending stays, keeps Since and ActiveAt, updates the value", r: rule(forTwo), in: at(pending, 2*m, 2*m, 0, 5), obs: data(6), now: 3 * m,
			want: alert.Instance{Key: "host=a", Labels: labels, State: pending, Since: 2 * m, ActiveAt: 2 * m, Value: 6, HasValue: true, LastEval: 3 * m}},
		{name: "Pending → Firing keeps ActiveAt, sets FiredAt", r: rule(forTwo), in: at(pending, 2*m, 2*m, 0, 5), obs: data(7), now: 4 * m,
			want:   alert.Instance{Key: "host=a", Labels: labels, State: firing, Since: 4 * m, ActiveAt: 2 * m, FiredAt: 4 * m, Value: 7, HasValue: true, LastEval: 4 * m},
			notify: alert.NotifyFiring, moved: true},
		{name: "Pending → Normal clears ActiveAt", r: rule(forTwo), in: at(pending, 2*m, 2*m, 0, 5), obs: data(1), now: 3 * m,
			want: alert.Instance{Key: "host=a", Labels: labels, State: normal, Since: 3 * m, Value: 1, HasValue: true, LastEval: 3 * m}, moved: true},
		{name: "Firing → Recovering keeps the episode", r: rule(keep), in: at(firing, 4*m, 2*m, 4*m, 7), obs: data(1), now: 5 * m,
			want: alert.Instance{Key: "host=a", Labels: labels, State: recovering, Since: 5 * m, ActiveAt: 2 * m, FiredAt: 4 * m, Value: 1, HasValue: true, LastEval: 5 * m}, moved: true},
		{name: "Recovering stays until keep_firing_for has passed", r: rule(keep), in: at(recovering, 5*m, 2*m, 4*m, 1), obs: data(1), now: 6*m + 59999,
			want: alert.Instance{Key: "host=a", Labels: labels, State: recovering, Since: 5 * m, ActiveAt: 2 * m, FiredAt: 4 * m, Value: 1, HasValue: true, LastEval: 6*m + 59999}},
		{name: "Recovering → Normal exactly at keep_firing_for", r: rule(keep), in: at(recovering, 5*m, 2*m, 4*m, 1), obs: data(1), now: 7 * m,
			want:   alert.Instance{Key: "host=a", Labels: labels, State: normal, Since: 7 * m, Value: 1, HasValue: true, LastEval: 7 * m},
			notify: alert.NotifyResolved, moved: true},
		{name: "Recovering → Firing keeps FiredAt", r: rule(keep), in: at(recovering, 5*m, 2*m, 4*m, 1), obs: data(9), now: 6 * m,
			want: alert.Instance{Key: "host=a", Labels: labels, State: firing, Since: 6 * m, ActiveAt: 2 * m, FiredAt: 4 * m, Value: 9, HasValue: true, LastEval: 6 * m}, moved: true},
		{name: "Firing → Error keeps the episode and the last value", r: rule(nil), in: at(firing, 4*m, 4*m, 4*m, 7), obs: alert.Observation{Failed: true}, now: 5 * m,
			want: alert.Instance{Key: "host=a", Labels: labels, State: errored, Since: 5 * m, ActiveAt: 4 * m, FiredAt: 4 * m, Value: 7, HasValue: true, LastEval: 5 * m}, moved: true},
		{name: "Error stays Error on another failure", r: rule(nil), in: at(errored, 5*m, 4*m, 4*m, 7), obs: alert.Observation{Failed: true}, now: 6 * m,
			want: alert.Instance{Key: "host=a", Labels: labels, State: errored, Since: 5 * m, ActiveAt: 4 * m, FiredAt: 4 * m, Value: 7, HasValue: true, LastEval: 6 * m}},
		{name: "Firing → NoData clears the episode and the value", r: rule(nil), in: at(firing, 4*m, 4*m, 4*m, 7), obs: alert.Observation{}, now: 5 * m,
			want:   alert.Instance{Key: "host=a", Labels: labels, State: nodata, Since: 5 * m, Value: 7, LastEval: 5 * m},
			notify: alert.NotifyNoData, moved: true},
		{name: "NoData stays NoData without another notification", r: rule(nil), in: alert.Instance{Key: "host=a", Labels: labels, State: nodata, Since: 5 * m}, obs: alert.Observation{}, now: 6 * m,
			want: alert.Instance{Key: "host=a", Labels: labels, State: nodata, Since: 5 * m, LastEval: 6 * m}},
		{name: "keep_last: nothing changes but LastEval", r: rule(func(r *alert.Rule) { r.NoData = alert.NoDataKeepLast }), in: at(pending, 2*m, 2*m, 0, 5), obs: alert.Observation{}, now: 3 * m,
			want: alert.Instance{Key: "host=a", Labels: labels, State: pending, Since: 2 * m, ActiveAt: 2 * m, Value: 5, HasValue: true, LastEval: 3 * m}},
		{name: "alerting: a breach keeps the last value", r: rule(func(r *alert.Rule) { r.NoData = alert.NoDataAlerting }), in: at(normal, m, 0, 0, 1), obs: alert.Observation{}, now: 2 * m,
			want:   alert.Instance{Key: "host=a", Labels: labels, State: firing, Since: 2 * m, ActiveAt: 2 * m, FiredAt: 2 * m, Value: 1, HasValue: true, LastEval: 2 * m},
			notify: alert.NotifyFiring, moved: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, tr := alert.Step(tt.r, tt.in, tt.obs, tt.now)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("instance\n got %+v\nwant %+v", got, tt.want)
			}
			if (tr != nil) != tt.moved {
				t.Fatalf("transition %+v, want one: %v", tr, tt.moved)
			}
			if tr == nil {
				return
			}
			from := tt.in.State
			if from == "" {
				from = normal
			}
			if tr.From != from || tr.To != tt.want.State || tr.At != tt.now || tr.Notify != tt.notify || tr.Key != "host=a" ||
				!reflect.DeepEqual(tr.Labels, labels) || tr.HasValue != (tt.obs.HasData && !tt.obs.Failed) {
				t.Errorf("transition %+v", tr)
			}
		})
	}
}

func TestEvaluate(t *testing.T) {
	r := baseRule()
	g := func(host string, vals ...float64) alert.Group {
		l := metric.Tags{{Key: "host", Value: host}}
		return alert.Group{Key: alert.InstanceKey(l), Labels: l, Window: windowOf(vals...)}
	}
	known := []alert.Instance{
		{Key: "host=z", Labels: metric.Tags{{Key: "host", Value: "z"}}, State: normal, Since: 1},
		{Key: "host=b", Labels: metric.Tags{{Key: "host", Value: "b"}}, State: firing, Since: 1, ActiveAt: 1, FiredAt: 1},
		{Key: "host=y", Labels: metric.Tags{{Key: "host", Value: "y"}}, State: nodata, Since: 1},
	}
	const now = 120000
	ev := alert.Evaluate(r, known, []alert.Group{g("c", 9), g("b", 1), g("a", 2)}, now)
	var keys []string
	for _, in := range ev.Instances {
		keys = append(keys, in.Key)
	}
	// groups in their order, then the missing known ones in theirs
	if want := []string{"host=c", "host=b", "host=a", "host=z", "host=y"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("instances %v, want %v", keys, want)
	}
	got := toCmp(ev.Transitions)
	want := []cmpTr{
		{At: now, Key: "host=c", From: normal, To: firing, HasValue: true, Value: 9, Notify: alert.NotifyFiring, Opens: true, FiredAt: now},
		{At: now, Key: "host=b", From: firing, To: normal, HasValue: true, Value: 1, Notify: alert.NotifyResolved, Closes: true, FiredAt: 1},
		{At: now, Key: "host=z", From: normal, To: nodata, Notify: alert.NotifyNoData},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("transitions:\n got:\n%s want:\n%s", listCmp(got), listCmp(want))
	}
	if ev.Instances[0].Since != now || ev.Instances[0].Labels[0].Value != "c" {
		t.Errorf("new instance %+v", ev.Instances[0])
	}

	t.Run("Fail: every known instance goes Error, none is created", func(t *testing.T) {
		ev := alert.Fail(r, known, now)
		if len(ev.Instances) != 3 || len(ev.Transitions) != 3 {
			t.Fatalf("Fail = %+v", ev)
		}
		for i, in := range ev.Instances {
			if in.State != errored || in.Key != known[i].Key || in.FiredAt != known[i].FiredAt || ev.Transitions[i].Notify != "" {
				t.Errorf("Fail: %+v / %+v", in, ev.Transitions[i])
			}
		}
		if ev := alert.Fail(r, nil, now); len(ev.Instances) != 0 || len(ev.Transitions) != 0 {
			t.Errorf("Fail of none = %+v", ev)
		}
	})
	t.Run("an empty group is no data for its instance", func(t *testing.T) {
		ev := alert.Evaluate(r, nil, []alert.Group{{Key: "host=q", Labels: metric.Tags{{Key: "host", Value: "q"}}}}, now)
		if len(ev.Transitions) != 1 || ev.Transitions[0].To != nodata {
			t.Errorf("Evaluate = %+v", ev)
		}
	})
}
