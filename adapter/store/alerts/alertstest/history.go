package alertstest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

// readPages follows a newest-first history by cursor and answers every
// id, failing on a page longer than limit.
func readPages(t *testing.T, limit int, read func(cursor int64) ([]int64, int64, error)) []int64 {
	t.Helper()
	var all []int64
	cursor := int64(0)
	for range 100 {
		ids, next, err := read(cursor)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) > limit {
			t.Fatalf("a page of %d rows, limit %d", len(ids), limit)
		}
		all = append(all, ids...)
		if next == 0 {
			return all
		}
		if next != ids[len(ids)-1] {
			t.Fatalf("next %d is not the page's last id %d", next, ids[len(ids)-1])
		}
		cursor = next
	}
	t.Fatal("the pages never end")
	return nil
}

func testTransitionsPages(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "hist")
	e := newEvaluator(t, s, tn, "hist")
	other := newEvaluator(t, s, tn, "other")
	for i := range 5 {
		var ts []alert.Transition
		for k := range 5 {
			ts = append(ts, tr(e, fmt.Sprintf("k%d", k), alert.Normal, alert.Pending, float64(i*10+k), k%2 == 0))
		}
		e.eval(alerting.Commit{Transitions: ts})
		other.eval(alerting.Commit{Transitions: []alert.Transition{tr(other, "x", alert.Normal, alert.Pending, 1, true)}})
	}
	read := func(limit int) func(int64) ([]int64, int64, error) {
		return func(cursor int64) ([]int64, int64, error) {
			rows, next, err := s.Transitions(c, tn, e.rule, cursor, limit)
			ids := []int64{}
			for _, r := range rows {
				if r.RuleID != e.rule {
					t.Errorf("another rule's transition %+v", r)
				}
				ids = append(ids, r.ID)
			}
			return ids, next, err
		}
	}
	all := readPages(t, 100, read(0))
	if len(all) != 25 || !slices.IsSortedFunc(all, func(a, b int64) int { return int(b - a) }) {
		t.Fatalf("every transition, newest first: %v", all)
	}
	for _, limit := range []int{1, 5, 10, 25, 30} {
		if got := readPages(t, limit, read(limit)); !reflect.DeepEqual(got, all) {
			t.Errorf("pages of %d: %v, want %v", limit, got, all)
		}
	}
	rows, _, _ := s.Transitions(c, tn, e.rule, 0, 1)
	if h := rows[0]; h.InstanceKey != "k4" || h.Value != 44 || !h.HasValue || h.From != alert.Normal || h.To != alert.Pending ||
		!reflect.DeepEqual(h.Labels, inst("k4", "").Labels) {
		t.Errorf("newest transition: %+v", h)
	}
	if rows, _, _ := s.Transitions(c, tn, e.rule, all[len(all)-2], 10); len(rows) != 1 || rows[0].HasValue != true || rows[0].Value != 0 {
		t.Errorf("oldest transition: %+v", rows)
	}
	if rows, _, _ := s.Transitions(c, tn, e.rule, all[0], 30); len(rows) != 24 || rows[0].HasValue {
		t.Errorf("before the newest: %d rows, first %+v (k3 has no value)", len(rows), rows[0])
	}
}

func testEpisodesPages(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "eppages")
	e := newEvaluator(t, s, tn, "eppages")
	other := newEvaluator(t, s, tn, "other")
	for i := range 5 {
		o := tr(e, fmt.Sprintf("e%d", i), alert.Normal, alert.Firing, float64(i), true)
		o.Opens, o.FiredAt = true, e.due
		e.eval(alerting.Commit{Transitions: []alert.Transition{o}})
		x := tr(other, "x", alert.Normal, alert.Firing, 1, true)
		x.Opens, x.FiredAt = true, other.due
		other.eval(alerting.Commit{Transitions: []alert.Transition{x}})
	}
	var keys []string
	ids := readPages(t, 2, func(cursor int64) ([]int64, int64, error) {
		eps, next, err := s.Episodes(c, tn, e.rule, cursor, 2)
		ids := []int64{}
		for _, ep := range eps {
			ids, keys = append(ids, ep.ID), append(keys, ep.InstanceKey)
		}
		return ids, next, err
	})
	if len(ids) != 5 || !reflect.DeepEqual(keys, []string{"e4", "e3", "e2", "e1", "e0"}) {
		t.Errorf("episodes by pages of 2: %v %v", ids, keys)
	}
	eps, next, err := s.Episodes(c, tn, e.rule, 0, 0)
	if err != nil || next != 0 || len(eps) != 5 || eps[4].ResolvedAt != 0 || eps[4].FiredAt != base || len(eps[4].SampleValues) != 1 {
		t.Errorf("every episode at the default limit: %+v, %d, %v", eps, next, err)
	}
}

func testListInstances(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "instances")
	r1, r2 := newEvaluator(t, s, tn, "one"), newEvaluator(t, s, tn, "two")
	openA := tr(r1, "a", alert.Normal, alert.Firing, 4, true)
	openA.Opens, openA.FiredAt = true, r1.due
	r1.eval(alerting.Commit{Instances: []alert.Instance{inst("a", alert.Firing), inst("b", alert.Normal), inst("c", alert.Pending)},
		Transitions: []alert.Transition{openA}})
	openD := tr(r2, "d", alert.Normal, alert.Firing, 8, true)
	openD.Opens, openD.FiredAt = true, r2.due
	r2.eval(alerting.Commit{Instances: []alert.Instance{inst("d", alert.Firing), inst("e", alert.Recovering)}, Transitions: []alert.Transition{openD}})
	newEvaluator(t, s, sqldbtest.MkTenant(t, s, "elsewhere"), "x").eval(alerting.Commit{Instances: []alert.Instance{inst("z", alert.Firing)}})

	list := func(f alerting.InstanceFilter) ([]string, int64) {
		t.Helper()
		rows, next, err := s.ListInstances(c, tn, f)
		if err != nil {
			t.Fatal(err)
		}
		keys := []string{}
		for _, r := range rows {
			keys = append(keys, r.Key)
		}
		return keys, next
	}
	var pages [][]string
	cursor := int64(0)
	for {
		keys, next := list(alerting.InstanceFilter{Cursor: cursor, Limit: 2})
		pages = append(pages, keys)
		if next == 0 {
			break
		}
		cursor = next
	}
	if want := [][]string{{"a", "b"}, {"c", "d"}, {"e"}}; !reflect.DeepEqual(pages, want) {
		t.Errorf("pages of 2: %v, want %v", pages, want)
	}
	for _, f := range []struct {
		filter alerting.InstanceFilter
		want   []string
	}{
		{alerting.InstanceFilter{}, []string{"a", "b", "c", "d", "e"}},
		{alerting.InstanceFilter{State: alert.Firing}, []string{"a", "d"}},
		{alerting.InstanceFilter{RuleID: r2.rule}, []string{"d", "e"}},
		{alerting.InstanceFilter{RuleID: r2.rule, State: alert.Firing}, []string{"d"}},
		{alerting.InstanceFilter{State: alert.NoData}, []string{}},
	} {
		if got, next := list(f.filter); !reflect.DeepEqual(got, f.want) || next != 0 {
			t.Errorf("filter %+v: %v (next %d), want %v", f.filter, got, next, f.want)
		}
	}
	rows, _, _ := s.ListInstances(c, tn, alerting.InstanceFilter{RuleID: r1.rule})
	if len(rows) != 3 {
		t.Fatalf("rule one's instances: %+v", rows)
	}
	if a := rows[0]; a.RuleID != r1.rule || a.RuleName != "one" || a.ID == 0 || !reflect.DeepEqual(a.Instance, inst("a", alert.Firing)) ||
		a.Episode == nil || a.Episode.FiredAt != base || a.Episode.ResolvedAt != 0 || a.Episode.InstanceKey != "a" {
		t.Errorf("a firing instance as listed: %+v (episode %+v)", a, a.Episode)
	}
	if b := rows[1]; b.Episode != nil || b.State != alert.Normal || b.ID <= rows[0].ID {
		t.Errorf("an instance that never fired: %+v", b)
	}
}

func testDeleteRule(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "delete")
	gone, kept := newEvaluator(t, s, tn, "gone"), newEvaluator(t, s, tn, "kept")
	for _, e := range []*evaluator{gone, kept} {
		o := tr(e, "a", alert.Normal, alert.Firing, 1, true)
		o.Opens, o.FiredAt = true, e.due
		e.eval(alerting.Commit{RuleState: alert.Firing, Note: "n", Instances: []alert.Instance{inst("a", alert.Firing)}, Transitions: []alert.Transition{o},
			Outbox: []alerting.OutboxEntry{{Kind: alert.NotifyFiring, InstanceKey: "a", At: e.due, Payload: []byte(`{}`)}}})
	}
	if err := s.DeleteRule(c, tn, gone.rule); err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string][2]int64{
		"alert_rules": {0, 1}, "alert_instances": {0, 1}, "alert_transitions": {0, 2}, "alerts": {0, 1}, "alert_outbox": {1, 1},
	} {
		col := "rule_id"
		if table == "alert_rules" {
			col = "id"
		}
		got := [2]int64{
			sqldbtest.Count(t, tg.DB, fmt.Sprintf("%s WHERE %s = %d", table, col, gone.rule)),
			sqldbtest.Count(t, tg.DB, fmt.Sprintf("%s WHERE %s = %d", table, col, kept.rule)),
		}
		if got != want {
			t.Errorf("%s rows of the deleted and the kept rule: %v, want %v (the outbox stays)", table, got, want)
		}
	}
	if claims, err := s.ClaimDue(c, base+3_600_000, 10, "h", 0); err != nil || !reflect.DeepEqual(ruleIDs(claims), []int64{kept.rule}) {
		t.Errorf("claims after the delete: %v, %v", ruleIDs(claims), err)
	}
	if out, err := s.Outbox(c, tn, 0, 10); err != nil || len(out) != 2 {
		t.Errorf("the outbox after the delete: %+v, %v", out, err)
	}
}
