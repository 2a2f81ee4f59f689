package alertstest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

func tagsOf(m map[string]string) metric.Tags { return metric.SortedTags(m) }

// inst is an instance keyed and labelled by host key, in state since base.
func inst(key string, state alert.State) alert.Instance {
	in := alert.Instance{Key: key, Labels: tagsOf(map[string]string{"host": key}), State: state, Since: base, Value: 1, HasValue: true, LastEval: base}
	if state == alert.Firing || state == alert.Recovering {
		in.ActiveAt, in.FiredAt = base, base
	}
	return in
}

func commitOrFail(t *testing.T, s *sqldbtest.Stores, c alerting.Commit) {
	t.Helper()
	if ok, err := s.Commit(sqldbtest.Ctx(t), c); !ok || err != nil {
		t.Fatalf("Commit rule %d due %d: %v, %v", c.RuleID, c.DueAt, ok, err)
	}
}

// evaluator commits a rule's evaluations one minute apart from base (the
// rule is due at base).
type evaluator struct {
	t            *testing.T
	s            *sqldbtest.Stores
	tenant, rule int64
	due          int64
}

func newEvaluator(t *testing.T, s *sqldbtest.Stores, tenant int64, name string) *evaluator {
	return &evaluator{t: t, s: s, tenant: tenant, rule: mkRule(t, s, tenant, name, base).ID, due: base}
}

// eval commits c as the rule's next evaluation and answers its time.
func (e *evaluator) eval(c alerting.Commit) int64 {
	e.t.Helper()
	c.TenantID, c.RuleID, c.DueAt, c.At, c.NextEvalAt = e.tenant, e.rule, e.due, e.due, e.due+60_000
	if c.RuleState == "" {
		c.RuleState = alert.Normal
	}
	commitOrFail(e.t, e.s, c)
	e.due += 60_000
	return c.At
}

func ruleIDs(cs []alerting.Claim) []int64 {
	ids := []int64{}
	for _, c := range cs {
		ids = append(ids, c.Rule.ID)
	}
	return ids
}

func testClaimDue(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	a, b := sqldbtest.MkTenant(t, s, "claim-a"), sqldbtest.MkTenant(t, s, "claim-b")
	oldest := mkRule(t, s, a, "oldest", base-120_000)
	second := mkRule(t, s, b, "second", base-60_000)
	dueNow := mkRule(t, s, a, "due now", base)
	mkRule(t, s, a, "not yet", base+1)
	paused := mkRule(t, s, a, "paused", base-180_000)
	if err := s.SetPaused(c, a, paused.ID, true, 0, base); err != nil {
		t.Fatal(err)
	}
	held := mkRule(t, s, b, "held", base-30_000)
	expired := mkRule(t, s, b, "expired claim", base-10_000)
	exec(t, tg, "UPDATE alert_rules SET claim_until = ?, claimed_by = 'other' WHERE id = ?", base+10_000, held.ID)
	exec(t, tg, "UPDATE alert_rules SET claim_until = ?, claimed_by = 'other' WHERE id = ?", base-1, expired.ID)

	got, err := s.ClaimDue(c, base, 2, "h1", 30*time.Second)
	if err != nil || !reflect.DeepEqual(ruleIDs(got), []int64{oldest.ID, second.ID}) {
		t.Fatalf("first claim: %v, %v; want the two oldest due", ruleIDs(got), err)
	}
	if got[0].DueAt != base-120_000 || got[0].Rule.TenantID != a || got[1].DueAt != base-60_000 || got[1].Rule.TenantID != b ||
		got[0].Rule.Name != "oldest" {
		t.Errorf("claims carry the rule, its tenant and its due time: %+v", got)
	}
	var until int64
	var holder string
	if err := tg.DB.QueryRowContext(c, "SELECT claim_until, claimed_by FROM alert_rules WHERE id = ?", oldest.ID).Scan(&until, &holder); err != nil ||
		until != base+30_000 || holder != "h1" {
		t.Errorf("claimed row: until %d by %q, %v", until, holder, err)
	}
	got, err = s.ClaimDue(c, base, 10, "h2", 30*time.Second)
	if err != nil || !reflect.DeepEqual(ruleIDs(got), []int64{expired.ID, dueNow.ID}) {
		t.Errorf("second claim: %v, %v; want the expired claim and the rule due now (not paused, held, claimed or not due)", ruleIDs(got), err)
	}
	if got, err = s.ClaimDue(c, base, 10, "h3", 30*time.Second); err != nil || len(got) != 0 {
		t.Errorf("nothing left to claim: %v, %v", ruleIDs(got), err)
	}
	if got, err = s.ClaimDue(c, base+30_001, 10, "h4", 30*time.Second); err != nil || len(got) != 6 {
		t.Errorf("after the leases: %v, %v; want every unpaused rule", ruleIDs(got), err)
	}
	if got, err = s.ClaimDue(c, base+120_000, 0, "h5", time.Second); err != nil || len(got) != 0 {
		t.Errorf("limit 0: %v, %v", ruleIDs(got), err)
	}
}

// Claimers at once never take the same rule (MariaDB: row locks with SKIP
// LOCKED; SQLite: one writer).
func testConcurrentClaims(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	tenants := []int64{sqldbtest.MkTenant(t, s, "cc-a"), sqldbtest.MkTenant(t, s, "cc-b")}
	const rules, claimers = 200, 4
	for i := range rules {
		mkRule(t, s, tenants[i%2], fmt.Sprintf("r%d", i), base-int64(i%17)*1000)
	}
	var (
		mu      sync.Mutex
		claimed = map[int64][]string{}
		wg      sync.WaitGroup
		errs    = make([]error, claimers)
	)
	for g := range claimers {
		holder := fmt.Sprintf("claimer-%d", g)
		wg.Go(func() {
			for {
				got, err := s.ClaimDue(c, base, 7, holder, time.Minute)
				if err != nil {
					errs[g] = err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, cl := range got {
					claimed[cl.Rule.ID] = append(claimed[cl.Rule.ID], holder)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Errorf("claimer %d: %v", g, err)
		}
	}
	for id, by := range claimed {
		if len(by) != 1 {
			t.Errorf("rule %d claimed %d times: %v", id, len(by), by)
		}
	}
	if len(claimed) != rules {
		t.Errorf("%d rules claimed, want %d", len(claimed), rules)
	}
	if n := sqldbtest.Count(t, tg.DB, "alert_rules WHERE claimed_by = ''"); n != 0 {
		t.Errorf("%d rules left unclaimed", n)
	}
}

func testCommitConditional(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "commit")
	r := mkRule(t, s, tn, "r", base)
	claims, err := s.ClaimDue(c, base, 1, "h", time.Minute)
	if err != nil || len(claims) != 1 || claims[0].DueAt != base {
		t.Fatalf("claim: %+v, %v", claims, err)
	}
	first := alerting.Commit{TenantID: tn, RuleID: r.ID, DueAt: base, At: base, NextEvalAt: base + 60_000, Holder: "h",
		RuleState: alert.Firing, LastError: "",
		Instances:   []alert.Instance{inst("a", alert.Firing)},
		Transitions: []alert.Transition{{Key: "a", Labels: inst("a", "").Labels, From: alert.Normal, To: alert.Firing, At: base, Value: 1, HasValue: true, Notify: alert.NotifyFiring, FiredAt: base, Opens: true}},
		Outbox:      []alerting.OutboxEntry{{Kind: alert.NotifyFiring, InstanceKey: "a", At: base, Payload: []byte(`{"state":"firing"}`)}},
	}
	commitOrFail(t, s, first)
	got, _ := s.GetRule(c, tn, r.ID)
	if got.NextEvalAt != base+60_000 || got.LastEvaluatedAt != base || got.State != alert.Firing || got.Firing != 1 || got.LastError != "" {
		t.Errorf("rule after the commit: %+v", got)
	}
	if n := sqldbtest.Count(t, tg.DB, fmt.Sprintf("alert_rules WHERE id = %d AND claim_until = 0 AND claimed_by = ''", r.ID)); n != 1 {
		t.Error("the commit did not release the claim")
	}
	counts := func() [4]int64 {
		var out [4]int64
		for i, table := range []string{"alert_instances", "alert_transitions", "alerts", "alert_outbox"} {
			out[i] = sqldbtest.Count(t, tg.DB, table)
		}
		return out
	}
	if n := counts(); n != [4]int64{1, 1, 1, 1} {
		t.Fatalf("rows after the first commit (instances, transitions, alerts, outbox): %v", n)
	}

	again := first
	again.RuleState, again.Note = alert.Normal, "a second replica"
	again.Instances = []alert.Instance{inst("b", alert.Normal), {Key: "a", State: alert.Normal, Value: 99, HasValue: true}}
	again.Transitions = append(again.Transitions, alert.Transition{Key: "a", From: alert.Firing, To: alert.Normal, At: base, Closes: true})
	again.Outbox = append(again.Outbox, again.Outbox...)
	if ok, err := s.Commit(c, again); ok || err != nil {
		t.Errorf("the same due time again: %v, %v; want false, nil", ok, err)
	}
	if n := counts(); n != [4]int64{1, 1, 1, 1} {
		t.Errorf("rows after the refused commit: %v, want nothing written", n)
	}
	ins, _ := s.Instances(c, tn, r.ID)
	if len(ins) != 1 || ins[0].State != alert.Firing || ins[0].Value != 1 {
		t.Errorf("instances after the refused commit: %+v", ins)
	}
	if got, _ := s.GetRule(c, tn, r.ID); got.State != alert.Firing || got.NextEvalAt != base+60_000 {
		t.Errorf("rule after the refused commit: %+v", got)
	}

	// A changed rule: its due time moved, the evaluation claimed before is void.
	if err := s.UpdateRule(c, r, base+120_000, base); err != nil {
		t.Fatal(err)
	}
	stale := alerting.Commit{TenantID: tn, RuleID: r.ID, DueAt: base + 60_000, At: base + 60_000, NextEvalAt: base + 120_000, RuleState: alert.Error}
	if ok, err := s.Commit(c, stale); ok || err != nil {
		t.Errorf("a commit for the rule's old due time: %v, %v", ok, err)
	}
	failed := alerting.Commit{TenantID: tn, RuleID: r.ID, DueAt: base + 120_000, At: base + 120_000, NextEvalAt: base + 180_000,
		RuleState: alert.Error, LastError: "read samples: context deadline exceeded"}
	commitOrFail(t, s, failed)
	if got, _ := s.GetRule(c, tn, r.ID); got.State != alert.Error || got.LastError != failed.LastError || got.LastEvaluatedAt != base+120_000 {
		t.Errorf("a failed evaluation: %+v", got)
	}
	if ok, err := s.Commit(c, alerting.Commit{TenantID: tn, RuleID: r.ID + 1000, DueAt: base, RuleState: alert.Normal}); ok || err != nil {
		t.Errorf("a commit for an unknown rule: %v, %v", ok, err)
	}
}

// An evaluation on demand reads any tenant's rule and commits without
// moving its due time, as often as it likes; the scheduler's commit of
// that due time still applies.
func testRuleForEval(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "ondemand")
	r := mkRule(t, s, tn, "on demand", base+60_000)
	cl, err := s.RuleForEval(c, r.ID)
	if err != nil || cl.DueAt != base+60_000 || cl.Rule.TenantID != tn || !reflect.DeepEqual(plain(cl.Rule), plain(r)) {
		t.Fatalf("RuleForEval: %+v, %v", cl, err)
	}
	if _, err := s.RuleForEval(c, r.ID+1000); !errors.Is(err, alerting.ErrNotFound) {
		t.Errorf("RuleForEval of an unknown rule: %v, want alerting.ErrNotFound", err)
	}
	demand := alerting.Commit{TenantID: tn, RuleID: r.ID, DueAt: cl.DueAt, At: base, NextEvalAt: cl.DueAt, RuleState: alert.Normal,
		Instances: []alert.Instance{inst("a", alert.Normal)}}
	for i := range 2 { // the second changes nothing of the rule's row
		if ok, err := s.Commit(c, demand); !ok || err != nil {
			t.Fatalf("on-demand commit %d: %v, %v", i, ok, err)
		}
	}
	if got, _ := s.GetRule(c, tn, r.ID); got.NextEvalAt != base+60_000 || got.LastEvaluatedAt != base {
		t.Errorf("after the on-demand evaluations: next %d, last %d", got.NextEvalAt, got.LastEvaluatedAt)
	}
	commitOrFail(t, s, alerting.Commit{TenantID: tn, RuleID: r.ID, DueAt: base + 60_000, At: base + 60_000, NextEvalAt: base + 120_000, RuleState: alert.Normal})
	if ok, err := s.Commit(c, demand); ok || err != nil {
		t.Errorf("an on-demand commit after the scheduler moved the rule on: %v, %v", ok, err)
	}
}

func testCommitUpserts(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "upsert")
	e := newEvaluator(t, s, tn, "upsert")
	labels := tagsOf(map[string]string{"zone": "b", "app": "api", "région": "Île-de-France", "emoji": "🔥", "q": `"x"`})
	a := alert.Instance{Key: "app=api,zone=b", Labels: labels, State: alert.Normal, Since: base, Value: 1, HasValue: true, LastEval: base}
	b := alert.Instance{Key: "b", State: alert.NoData, Since: base, LastEval: base}
	e.eval(alerting.Commit{Instances: []alert.Instance{a, b}})
	got, err := s.Instances(c, tn, e.rule)
	if err != nil || len(got) != 2 {
		t.Fatalf("Instances: %+v, %v", got, err)
	}
	if !reflect.DeepEqual(got[0], a) {
		t.Errorf("instance read back %+v, want %+v", got[0], a)
	}
	if got[1].HasValue || got[1].Labels == nil || len(got[1].Labels) != 0 || got[1].State != alert.NoData {
		t.Errorf("an instance without value or labels: %+v", got[1])
	}
	a2 := a
	a2.State, a2.Since, a2.ActiveAt, a2.HasValue, a2.Value, a2.LastEval = alert.Pending, base+60_000, base+60_000, false, 0, base+60_000
	b2 := b
	b2.Labels, b2.Value, b2.HasValue, b2.LastEval = metric.Tags{}, -2.5e-300, true, base+60_000 // no labels read back as empty
	cNew := inst("c", alert.Firing)
	e.eval(alerting.Commit{Instances: []alert.Instance{cNew, b2, a2}})
	got, _ = s.Instances(c, tn, e.rule)
	if !reflect.DeepEqual(got, []alert.Instance{a2, b2, cNew}) {
		t.Errorf("after the second evaluation (updated in place, new last):\n got %+v\nwant %+v", got, []alert.Instance{a2, b2, cNew})
	}

	// A rule with many instances: the upsert is split in several statements.
	many := make([]alert.Instance, 1234)
	for i := range many {
		many[i] = inst(fmt.Sprintf("host-%04d", i), alert.Normal)
	}
	e.eval(alerting.Commit{Instances: many})
	if n := sqldbtest.Count(t, tg.DB, fmt.Sprintf("alert_instances WHERE rule_id = %d", e.rule)); n != 1237 {
		t.Errorf("%d instances, want 1237", n)
	}
}

// A group's commit: one transaction, each rule applied only while still
// due (a stale one is skipped, the others land), and InstancesOf reads
// every rule's instances at once.
func testCommitAll(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "commitall")
	a, b, stale := mkRule(t, s, tn, "a", base), mkRule(t, s, tn, "b", base), mkRule(t, s, tn, "stale", base)
	mk := func(id int64, due int64, key string) alerting.Commit {
		return alerting.Commit{TenantID: tn, RuleID: id, DueAt: due, At: due, NextEvalAt: due + 60_000, RuleState: alert.Firing,
			Instances:   []alert.Instance{inst(key, alert.Firing)},
			Transitions: []alert.Transition{{Key: key, From: alert.Normal, To: alert.Firing, At: due, Value: 1, HasValue: true, Notify: alert.NotifyFiring, FiredAt: due, Opens: true}},
			Outbox:      []alerting.OutboxEntry{{Kind: alert.NotifyFiring, InstanceKey: key, At: due, Payload: []byte(`{}`)}}}
	}
	done, err := s.CommitAll(c, []alerting.Commit{mk(b.ID, base, "b"), mk(stale.ID, base-60_000, "s"), mk(a.ID, base, "a")})
	if err != nil || !reflect.DeepEqual(done, []bool{true, false, true}) {
		t.Fatalf("CommitAll: %v, %v; want [true false true]", done, err)
	}
	for table, want := range map[string]int64{"alert_instances": 2, "alert_transitions": 2, "alerts": 2, "alert_outbox": 2} {
		if n := sqldbtest.Count(t, tg.DB, table); n != want {
			t.Errorf("%s: %d rows, want %d (the stale rule wrote nothing)", table, n, want)
		}
	}
	again, err := s.CommitAll(c, []alerting.Commit{mk(a.ID, base, "a")})
	if err != nil || again[0] {
		t.Errorf("the same due time again: %v, %v", again, err)
	}
	got, err := s.InstancesOf(c, tn, []int64{a.ID, b.ID, stale.ID})
	if err != nil || len(got[a.ID]) != 1 || got[a.ID][0].Key != "a" || len(got[b.ID]) != 1 || got[b.ID][0].State != alert.Firing || len(got[stale.ID]) != 0 {
		t.Errorf("InstancesOf: %+v, %v", got, err)
	}
	other := sqldbtest.MkTenant(t, s, "commitall-other")
	if got, err := s.InstancesOf(c, other, []int64{a.ID}); err != nil || len(got) != 0 {
		t.Errorf("another tenant's InstancesOf: %+v, %v", got, err)
	}
}
