// Package alertstest is the contract suite of alerting's storage (the
// alerting use case's ports Rules, Schedule and History), run on SQLite and
// on MariaDB by adapter/store/alerts.
package alertstest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

// Run runs the contract cases; open gives each case a migrated, empty
// database.
func Run(t *testing.T, open func(t *testing.T) sqldbtest.Target) {
	cases := []struct {
		name string
		fn   func(t *testing.T, tg sqldbtest.Target)
	}{
		{"RuleCRUD", testRuleCRUD},
		{"ListRulesPages", testListRules},
		{"TenantIsolation", testIsolation},
		{"RuleRoundTrip", testRuleRoundTrip},
		{"RuleRoundTripRandom", testRuleRoundTripRandom},
		{"ClaimDue", testClaimDue},
		{"ConcurrentClaims", testConcurrentClaims},
		{"CommitConditional", testCommitConditional},
		{"CommitAll", testCommitAll},
		{"EpisodeValues", testEpisodeValues},
		{"EvaluateOnDemand", testRuleForEval},
		{"CommitUpsertsInstances", testCommitUpserts},
		{"Episodes", testEpisodes},
		{"NoteAndOutbox", testNoteAndOutbox},
		{"FiringByTenant", testFiringByTenant},
		{"TransitionsPages", testTransitionsPages},
		{"EpisodesPages", testEpisodesPages},
		{"ListInstances", testListInstances},
		{"DeleteRuleRemovesRows", testDeleteRule},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

// base is the suite's "now" in Unix ms.
var base = sqldbtest.Base.UnixMilli()

// newRule is a valid rule of the tenant with every default set.
func newRule(tenantID int64, name string) alert.Rule {
	return alert.Rule{TenantID: tenantID, Name: name, Metric: "cpu.load", Agg: alert.AggAvg, Op: alert.GT, Threshold: 0.9,
		Window: 5 * time.Minute, Cadence: time.Minute, NoData: alert.NoDataState, Severity: alert.SeverityWarning}.Normalize()
}

// mkRule stores newRule due at next.
func mkRule(t *testing.T, s *sqldbtest.Stores, tenantID int64, name string, next int64) alert.Rule {
	t.Helper()
	r, err := s.CreateRule(sqldbtest.Ctx(t), newRule(tenantID, name), next, base)
	if err != nil {
		t.Fatalf("CreateRule %s: %v", name, err)
	}
	return r
}

// plain is r without the matchers' compiled regexes, to compare rules.
func plain(r alert.Rule) alert.Rule {
	ms := make(alert.Matchers, len(r.Matchers))
	for i, m := range r.Matchers {
		ms[i] = alert.Matcher{Tag: m.Tag, Op: m.Op, Value: m.Value}
	}
	r.Matchers = ms
	return r
}

func testRuleCRUD(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "rules")
	want := newRule(tn, "CPU high")
	r, err := s.CreateRule(c, want, 0, base)
	if err != nil || r.ID == 0 || r.TenantID != tn {
		t.Fatalf("CreateRule: %+v, %v", r, err)
	}
	got, err := s.GetRule(c, tn, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	want.ID = r.ID
	if !reflect.DeepEqual(plain(got.Rule), plain(want)) {
		t.Errorf("GetRule %+v, want %+v", got.Rule, want)
	}
	if got.State != alert.Normal || got.LastEvaluatedAt != 0 || got.LastError != "" || got.NextEvalAt != base ||
		got.Firing != 0 || got.CreatedAt != base || got.UpdatedAt != base {
		t.Errorf("a new rule: %+v (want normal, never evaluated, due now)", got)
	}

	up := want
	up.Name, up.Threshold, up.Paused = "CPU very high", 0.99, true
	up.Labels = map[string]string{"team": "ops"}
	later := base + 60_000
	if err := s.UpdateRule(c, up, later+60_000, later); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateRule(c, up, later+60_000, later); err != nil {
		t.Errorf("an update that changes nothing: %v", err)
	}
	got, _ = s.GetRule(c, tn, r.ID)
	if !reflect.DeepEqual(plain(got.Rule), plain(up)) || got.NextEvalAt != later+60_000 || got.UpdatedAt != later || got.CreatedAt != base {
		t.Errorf("after UpdateRule: %+v", got)
	}

	if err := s.SetPaused(c, tn, r.ID, false, later+120_000, later+1); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.GetRule(c, tn, r.ID); got.Paused || got.NextEvalAt != later+120_000 || got.UpdatedAt != later+1 {
		t.Errorf("resumed: paused %v next %d updated %d", got.Paused, got.NextEvalAt, got.UpdatedAt)
	}
	if err := s.SetPaused(c, tn, r.ID, true, 0, later+2); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPaused(c, tn, r.ID, true, 0, later+2); err != nil {
		t.Errorf("pausing a paused rule: %v", err)
	}
	if got, _ = s.GetRule(c, tn, r.ID); !got.Paused || got.NextEvalAt != later+120_000 {
		t.Errorf("paused: paused %v next %d (pausing keeps the due time)", got.Paused, got.NextEvalAt)
	}
	if err := s.Reschedule(c, tn, r.ID, later+180_000); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.GetRule(c, tn, r.ID); got.NextEvalAt != later+180_000 {
		t.Errorf("rescheduled: next %d", got.NextEvalAt)
	}

	if err := s.DeleteRule(c, tn, r.ID); err != nil {
		t.Fatal(err)
	}
	_, errGet := s.GetRule(c, tn, r.ID)
	for name, err := range map[string]error{
		"get":        errGet,
		"update":     s.UpdateRule(c, up, later, later),
		"pause":      s.SetPaused(c, tn, r.ID, true, 0, later),
		"reschedule": s.Reschedule(c, tn, r.ID, later),
		"delete":     s.DeleteRule(c, tn, r.ID),
	} {
		if !errors.Is(err, alerting.ErrNotFound) {
			t.Errorf("%s a deleted rule: %v, want alerting.ErrNotFound", name, err)
		}
	}
}

func testListRules(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "list")
	var ids []int64
	for i := range 25 {
		ids = append(ids, mkRule(t, s, tn, fmt.Sprintf("rule %02d", 24-i), base).ID)
	}
	// Two instances of the first rule fire or recover, one is normal.
	commitOrFail(t, s, alerting.Commit{TenantID: tn, RuleID: ids[0], DueAt: base, At: base, NextEvalAt: base + 60_000, RuleState: alert.Firing,
		Instances: []alert.Instance{inst("a", alert.Firing), inst("b", alert.Recovering), inst("c", alert.Normal)}})

	p1, err := s.ListRules(c, tn, 1, 10)
	if err != nil || p1.Total != 25 || len(p1.Rules) != 10 || p1.Page != 1 || p1.PerPage != 10 {
		t.Fatalf("page 1: %d rules, %+v, %v", len(p1.Rules), p1, err)
	}
	for i, r := range p1.Rules {
		if r.ID != ids[i] {
			t.Errorf("page 1 row %d: rule %d, want %d (by id)", i, r.ID, ids[i])
		}
	}
	if first := p1.Rules[0]; first.Firing != 2 || first.State != alert.Firing || first.LastEvaluatedAt != base || first.NextEvalAt != base+60_000 {
		t.Errorf("the evaluated rule as listed: %+v", first)
	}
	if p1.Rules[1].Firing != 0 || p1.Rules[1].State != alert.Normal {
		t.Errorf("a rule never evaluated: %+v", p1.Rules[1])
	}
	p3, err := s.ListRules(c, tn, 3, 10)
	if err != nil || len(p3.Rules) != 5 || p3.Rules[4].ID != ids[24] || p3.Total != 25 {
		t.Errorf("page 3: %+v, %v", p3, err)
	}
	if p4, err := s.ListRules(c, tn, 4, 10); err != nil || p4.Rules == nil || len(p4.Rules) != 0 || p4.Total != 25 {
		t.Errorf("beyond the last page: %+v, %v (want an empty list)", p4, err)
	}
	if p0, err := s.ListRules(c, tn, 0, 0); err != nil || p0.Page != 1 || p0.PerPage < 1 || len(p0.Rules) != 25 {
		t.Errorf("page 0 with no size reads page 1 at the default size: page %d per %d rows %d, %v", p0.Page, p0.PerPage, len(p0.Rules), err)
	}
}

func testIsolation(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	a, b := sqldbtest.MkTenant(t, s, "iso-a"), sqldbtest.MkTenant(t, s, "iso-b")
	r := mkRule(t, s, a, "A's", base)
	commitOrFail(t, s, alerting.Commit{TenantID: a, RuleID: r.ID, DueAt: base, At: base, NextEvalAt: base + 60_000, RuleState: alert.Firing,
		Instances:   []alert.Instance{inst("h", alert.Firing)},
		Transitions: []alert.Transition{{Key: "h", From: alert.Normal, To: alert.Firing, At: base, Value: 2, HasValue: true, Opens: true, FiredAt: base}},
		Outbox:      []alerting.OutboxEntry{{Kind: alert.NotifyFiring, InstanceKey: "h", At: base, Payload: []byte(`{}`)}}})

	if p, err := s.ListRules(c, b, 1, 20); err != nil || len(p.Rules) != 0 || p.Total != 0 {
		t.Errorf("B lists %+v, %v", p, err)
	}
	bRule := r
	bRule.TenantID, bRule.Name = b, "pwned"
	_, errGet := s.GetRule(c, b, r.ID)
	for name, err := range map[string]error{
		"get":        errGet,
		"update":     s.UpdateRule(c, bRule, base, base),
		"pause":      s.SetPaused(c, b, r.ID, true, 0, base),
		"reschedule": s.Reschedule(c, b, r.ID, base),
		"delete":     s.DeleteRule(c, b, r.ID),
	} {
		if !errors.Is(err, alerting.ErrNotFound) {
			t.Errorf("B %s A's rule: %v, want alerting.ErrNotFound", name, err)
		}
	}
	if ok, err := s.Commit(c, alerting.Commit{TenantID: b, RuleID: r.ID, DueAt: base + 60_000, At: base + 60_000, NextEvalAt: base + 120_000,
		RuleState: alert.Normal}); ok || err != nil {
		t.Errorf("B commits A's rule: %v, %v", ok, err)
	}
	ins, err := s.Instances(c, b, r.ID)
	if err != nil || len(ins) != 0 {
		t.Errorf("B reads A's instances: %+v, %v", ins, err)
	}
	rows, _, err := s.ListInstances(c, b, alerting.InstanceFilter{})
	if err != nil || len(rows) != 0 {
		t.Errorf("B lists instances %+v, %v", rows, err)
	}
	hist, _, err := s.Transitions(c, b, r.ID, 0, 10)
	if err != nil || len(hist) != 0 {
		t.Errorf("B reads A's transitions %+v, %v", hist, err)
	}
	eps, _, err := s.Episodes(c, b, r.ID, 0, 10)
	if err != nil || len(eps) != 0 {
		t.Errorf("B reads A's episodes %+v, %v", eps, err)
	}
	out, err := s.Outbox(c, b, 0, 10)
	if err != nil || len(out) != 0 {
		t.Errorf("B reads A's outbox %+v, %v", out, err)
	}
	got, err := s.GetRule(c, a, r.ID)
	if err != nil || got.Name != "A's" || got.Paused || got.NextEvalAt != base+60_000 || got.Firing != 1 {
		t.Errorf("A's rule after B's attempts: %+v, %v", got, err)
	}
}
