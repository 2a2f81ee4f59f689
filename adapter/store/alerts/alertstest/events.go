package alertstest

import (
	"reflect"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

func exec(t *testing.T, tg sqldbtest.Target, stmt string, args ...any) {
	t.Helper()
	if _, err := tg.DB.ExecContext(sqldbtest.Ctx(t), stmt, args...); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// tr is a transition of the instance at the evaluator's next time.
func tr(e *evaluator, key string, from, to alert.State, value float64, has bool) alert.Transition {
	return alert.Transition{Key: key, Labels: inst(key, "").Labels, From: from, To: to, At: e.due, Value: value, HasValue: has}
}

// An instance's firing episodes: opened by the transition that Opens, every
// later transition's value appended, closed by the one that Closes.
func testEpisodes(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "episodes")
	e := newEvaluator(t, s, tn, "episodes")
	step := func(ts ...alert.Transition) int64 {
		in := inst("a", ts[0].To)
		return e.eval(alerting.Commit{Instances: []alert.Instance{in}, Transitions: ts})
	}
	open := tr(e, "a", alert.Normal, alert.Firing, 5, true)
	open.Opens, open.FiredAt, open.Notify = true, e.due, alert.NotifyFiring
	t1 := step(open)
	t2 := step(tr(e, "a", alert.Firing, alert.Recovering, 1, true))
	t3 := step(tr(e, "a", alert.Recovering, alert.Firing, 6, true))

	rows, _, err := s.ListInstances(c, tn, alerting.InstanceFilter{RuleID: e.rule})
	if err != nil || len(rows) != 1 || rows[0].Episode == nil {
		t.Fatalf("ListInstances while firing: %+v, %v", rows, err)
	}
	want1 := alerting.Episode{RuleID: e.rule, InstanceKey: "a", Labels: inst("a", "").Labels, FiredAt: t1,
		SampleValues: []alerting.SampleValue{{TS: t1, Value: 5}, {TS: t2, Value: 1}, {TS: t3, Value: 6}}}
	want1.ID = rows[0].Episode.ID
	if !reflect.DeepEqual(*rows[0].Episode, want1) {
		t.Errorf("the open episode:\n got %+v\nwant %+v", *rows[0].Episode, want1)
	}

	step(tr(e, "a", alert.Firing, alert.Error, 0, false)) // no value: nothing to append, the episode stays open
	resolve := tr(e, "a", alert.Error, alert.Normal, 0, true)
	resolve.Closes, resolve.FiredAt, resolve.Notify = true, t1, alert.NotifyResolved
	t5 := step(resolve)
	reopen := tr(e, "a", alert.Normal, alert.Firing, 7, true)
	reopen.Opens, reopen.FiredAt = true, e.due
	// Another instance moves too, with no episode to record in.
	t6 := step(reopen, tr(e, "b", alert.Normal, alert.Pending, 3, true))
	nodata := tr(e, "a", alert.Firing, alert.NoData, 0, false)
	nodata.Closes, nodata.FiredAt = true, t6
	t7 := step(nodata)

	eps, next, err := s.Episodes(c, tn, e.rule, 0, 10)
	if err != nil || next != 0 || len(eps) != 2 {
		t.Fatalf("Episodes: %+v, next %d, %v", eps, next, err)
	}
	want1.ResolvedAt = t5
	want1.SampleValues = append(want1.SampleValues, alerting.SampleValue{TS: t5, Value: 0})
	want2 := alerting.Episode{ID: eps[0].ID, RuleID: e.rule, InstanceKey: "a", Labels: inst("a", "").Labels, FiredAt: t6, ResolvedAt: t7,
		SampleValues: []alerting.SampleValue{{TS: t6, Value: 7}}}
	if !reflect.DeepEqual(eps[1], want1) || !reflect.DeepEqual(eps[0], want2) {
		t.Errorf("episodes, newest first:\n got %+v\nwant %+v", eps, []alerting.Episode{want2, want1})
	}
	if rows, _, _ := s.ListInstances(c, tn, alerting.InstanceFilter{RuleID: e.rule}); len(rows) != 1 || rows[0].Episode == nil ||
		!reflect.DeepEqual(*rows[0].Episode, want2) {
		t.Errorf("ListInstances shows the latest episode once none is open: %+v", rows)
	}
	if n := sqldbtest.Count(t, tg.DB, "alerts WHERE instance_key = 'b'"); n != 0 {
		t.Errorf("an instance that never fired has %d episodes", n)
	}
	// One evaluation that opens and closes (a series flapping in one step).
	o := tr(e, "c", alert.Normal, alert.Firing, 9, true)
	o.Opens, o.FiredAt = true, e.due
	cl := tr(e, "c", alert.Firing, alert.Normal, 1, true)
	cl.Closes = true
	at := step(o, cl)
	eps, _, _ = s.Episodes(c, tn, e.rule, 0, 1)
	if len(eps) != 1 || eps[0].InstanceKey != "c" || eps[0].ResolvedAt != at || len(eps[0].SampleValues) != 2 {
		t.Errorf("an episode opened and closed at once: %+v", eps)
	}
}

func testNoteAndOutbox(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	created := sqldbtest.Base.Add(1500 * time.Millisecond)
	s.SetClock(func() time.Time { return created })
	tn := sqldbtest.MkTenant(t, s, "outbox")
	e := newEvaluator(t, s, tn, "outbox")
	note := "skipped 3 due times (10:01 to 10:03): the scheduler was down"
	fire := tr(e, "a", alert.Normal, alert.Firing, 2, true)
	fire.Opens, fire.FiredAt = true, e.due
	payloads := [][]byte{[]byte(`{"rule":"outbox","state":"firing","summary":"é 🔥 <b>"}`), []byte(`{"state":"resolved"}`)}
	at := e.eval(alerting.Commit{RuleState: alert.Firing, Note: note, Instances: []alert.Instance{inst("a", alert.Firing)}, Transitions: []alert.Transition{fire},
		Outbox: []alerting.OutboxEntry{
			{Kind: alert.NotifyFiring, InstanceKey: "a", At: e.due, Payload: payloads[0]},
			{Kind: alert.NotifyResolved, InstanceKey: "b", At: e.due, Payload: payloads[1]},
		}})
	e.eval(alerting.Commit{RuleState: alert.Firing, Instances: []alert.Instance{inst("a", alert.Firing)}}) // no note, no row

	hist, next, err := s.Transitions(c, tn, e.rule, 0, 10)
	if err != nil || next != 0 || len(hist) != 2 {
		t.Fatalf("Transitions: %+v, %d, %v", hist, next, err)
	}
	if h := hist[1]; h.InstanceKey != "" || h.From != alert.Firing || h.To != alert.Firing || h.Note != note || h.At != at || h.HasValue ||
		len(h.Labels) != 0 || h.RuleID != e.rule {
		t.Errorf("the rule-level note: %+v", h)
	}
	if h := hist[0]; h.InstanceKey != "a" || h.From != alert.Normal || h.To != alert.Firing || !h.HasValue || h.Value != 2 || h.Note != "" ||
		!reflect.DeepEqual(h.Labels, fire.Labels) {
		t.Errorf("the transition: %+v", h)
	}

	out, err := s.Outbox(c, tn, 0, 10)
	if err != nil || len(out) != 2 {
		t.Fatalf("Outbox: %+v, %v", out, err)
	}
	for i, o := range out {
		want := alerting.OutboxRow{ID: o.ID, TenantID: tn, RuleID: e.rule, CreatedAt: created.UnixMilli(),
			OutboxEntry: alerting.OutboxEntry{Kind: []alert.Notify{alert.NotifyFiring, alert.NotifyResolved}[i],
				InstanceKey: []string{"a", "b"}[i], At: at, Payload: payloads[i]}}
		if !reflect.DeepEqual(o, want) {
			t.Errorf("outbox row %d:\n got %+v\nwant %+v", i, o, want)
		}
	}
	if out[1].ID <= out[0].ID {
		t.Errorf("outbox not by id: %d, %d", out[0].ID, out[1].ID)
	}
	if after, err := s.Outbox(c, tn, out[0].ID, 10); err != nil || len(after) != 1 || after[0].ID != out[1].ID {
		t.Errorf("Outbox after the first row: %+v, %v", after, err)
	}
	if lim, err := s.Outbox(c, tn, 0, 1); err != nil || len(lim) != 1 {
		t.Errorf("Outbox limit 1: %+v, %v", lim, err)
	}
}

func testFiringByTenant(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	a, b := sqldbtest.MkTenant(t, s, "fire-a"), sqldbtest.MkTenant(t, s, "fire-b")
	calm := sqldbtest.MkTenant(t, s, "fire-calm")
	if got, err := s.FiringByTenant(c); err != nil || len(got) != 0 {
		t.Errorf("nothing firing: %v, %v", got, err)
	}
	newEvaluator(t, s, a, "a1").eval(alerting.Commit{Instances: []alert.Instance{
		inst("f", alert.Firing), inst("r", alert.Recovering), inst("n", alert.Normal), inst("p", alert.Pending), inst("d", alert.NoData)}})
	newEvaluator(t, s, a, "a2").eval(alerting.Commit{Instances: []alert.Instance{inst("f", alert.Firing)}})
	newEvaluator(t, s, b, "b1").eval(alerting.Commit{Instances: []alert.Instance{inst("f", alert.Firing), inst("e", alert.Error)}})
	newEvaluator(t, s, calm, "c1").eval(alerting.Commit{Instances: []alert.Instance{inst("n", alert.Normal)}})
	got, err := s.FiringByTenant(c)
	if want := map[int64]int{a: 3, b: 1}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("FiringByTenant: %v, %v; want %v", got, err, want)
	}
}

// An instance that stays firing adds its value at every evaluation; an
// episode keeps the value it fired with and its latest 499.
func testEpisodeValues(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "episode-values")
	e := newEvaluator(t, s, tn, "values")
	open := tr(e, "a", alert.Normal, alert.Firing, 100, true)
	open.Opens, open.FiredAt, open.Notify = true, e.due, alert.NotifyFiring
	fired := e.due
	firing := func(v float64) alert.Instance {
		in := inst("a", alert.Firing)
		in.ActiveAt, in.FiredAt, in.Value, in.LastEval = fired, fired, v, e.due
		return in
	}
	e.eval(alerting.Commit{Instances: []alert.Instance{firing(100)}, Transitions: []alert.Transition{open}})
	var last int64
	for i := 1; i <= 600; i++ {
		last = e.eval(alerting.Commit{Instances: []alert.Instance{firing(float64(i))}})
	}
	eps, _, err := s.Episodes(c, tn, e.rule, 0, 10)
	if err != nil || len(eps) != 1 {
		t.Fatalf("Episodes: %+v, %v", eps, err)
	}
	v := eps[0].SampleValues
	if len(v) != 500 || v[0] != (alerting.SampleValue{TS: fired, Value: 100}) || v[len(v)-1] != (alerting.SampleValue{TS: last, Value: 600}) ||
		v[1].Value != 102 {
		t.Errorf("%d values, first %+v, second %+v, last %+v", len(v), v[0], v[1], v[len(v)-1])
	}
}
