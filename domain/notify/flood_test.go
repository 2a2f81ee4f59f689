package notify_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/pulsemetrics/pulse/domain/notify"
)

const minute = int64(60_000)

func TestBudgetSlidingWindow(t *testing.T) {
	b := notify.NewBudget(3)
	steps := []struct {
		now      int64
		want     bool
		nextFree int64
	}{
		{0, true, 0},
		{10_000, true, 10_000},
		{20_000, true, minute}, // full: the first send leaves at 60s
		{30_000, false, minute},
		{59_999, false, minute},
		{minute, true, minute + 10_000}, // the 0 send left; full again
		{minute + 5_000, false, minute + 10_000},
		{minute + 10_000, true, minute + 20_000},
		{10 * minute, true, 10 * minute},
	}
	for i, s := range steps {
		if got := b.Allow(s.now); got != s.want {
			t.Fatalf("step %d: Allow(%d) = %v, want %v", i, s.now, got, s.want)
		}
		if got := b.NextFree(s.now); got != s.nextFree {
			t.Fatalf("step %d: NextFree(%d) = %d, want %d", i, s.now, got, s.nextFree)
		}
	}
}

func TestBudgetDefaultsAndZero(t *testing.T) {
	for _, n := range []int{0, -5} {
		b := notify.NewBudget(n)
		if got := b.Remaining(0); got != notify.DefaultPerMinute {
			t.Errorf("NewBudget(%d).Remaining = %d, want %d", n, got, notify.DefaultPerMinute)
		}
	}
	var z notify.Budget
	if z.Allow(0) || z.NextFree(0) != -1 || z.Remaining(0) != 0 {
		t.Errorf("zero Budget allows")
	}
	s := notify.NewSlackBudget()
	if !s.Allow(0) || s.Allow(999) || !s.Allow(1_000) || s.NextFree(1_500) != 2_000 {
		t.Errorf("Slack budget is not 1/s")
	}
}

func groupsOf(n, rules int, tenant int64) []notify.Group {
	gs := make([]notify.Group, n)
	for i := range gs {
		at := int64(i) * 59 // all within one minute
		rule := int64(i%rules + 1)
		gs[i] = notify.Group{TenantID: tenant, RuleID: rule, ChannelID: 1, FirstAt: at,
			Items: []notify.Pending{{OutboxID: int64(i + 1), TenantID: tenant, RuleID: rule, ChannelID: 1, At: at}}}
	}
	return gs
}

func ruleName(id int64) string { return fmt.Sprintf("rule %03d", id) }

func TestPlanStorm(t *testing.T) {
	gs := groupsOf(1000, 7, 1)
	b := notify.NewBudget(10)
	var send, held []notify.Group
	for i, g := range gs { // groups arrive over the minute, one plan each
		s, h := notify.Plan([]notify.Group{g}, &b, g.FirstAt)
		send, held = append(send, s...), append(held, h...)
		if len(s)+len(h) != 1 {
			t.Fatalf("group %d: planned %d times", i, len(s)+len(h))
		}
	}
	if len(send) != 10 || len(held) != 990 {
		t.Fatalf("sent %d, held %d; want 10, 990", len(send), len(held))
	}
	ids := map[int64]int{}
	for _, g := range append(append([]notify.Group{}, send...), held...) {
		ids[g.Items[0].OutboxID]++
	}
	if len(ids) != 1000 {
		t.Fatalf("%d distinct groups planned, want 1000", len(ids))
	}
	for id, c := range ids {
		if c != 1 {
			t.Fatalf("group %d planned %d times", id, c)
		}
	}

	d := notify.Fold(notify.HeldOf(held, ruleName))
	if d.Count != 990 {
		t.Errorf("digest counts %d, want 990", d.Count)
	}
	if len(d.ByRule) != 7 {
		t.Errorf("digest names %d rules, want 7: %+v", len(d.ByRule), d.ByRule)
	}
	sum := 0
	for _, r := range d.ByRule {
		sum += r.N
		if r.Rule != ruleName(r.RuleID) {
			t.Errorf("rule %d named %q", r.RuleID, r.Rule)
		}
	}
	if sum != 990 {
		t.Errorf("by-rule counts sum to %d", sum)
	}
	if d.Since != held[0].FirstAt || d.Until != held[len(held)-1].FirstAt {
		t.Errorf("digest spans %d..%d", d.Since, d.Until)
	}

	// The budget frees a minute after the first send: the digest goes then.
	last := gs[len(gs)-1].FirstAt
	free := b.NextFree(last)
	if free != send[0].FirstAt+minute {
		t.Errorf("NextFree = %d, want %d", free, send[0].FirstAt+minute)
	}
	if b.Allow(free - 1) {
		t.Errorf("budget freed early")
	}
	if !b.Allow(free) {
		t.Errorf("budget did not free at %d", free)
	}
	// A minute after the storm the whole budget is back.
	if got := b.Remaining(last + minute); got != 9 {
		t.Errorf("Remaining a minute on = %d, want 9 (the digest's send still counts)", got)
	}
	if got := b.Remaining(free + minute); got != 10 {
		t.Errorf("Remaining = %d, want 10", got)
	}
}

func TestPlanBatchAndTenants(t *testing.T) {
	a, b := notify.NewBudget(10), notify.NewBudget(3) // per-tenant override
	sendA, heldA := notify.Plan(groupsOf(25, 2, 1), &a, 0)
	sendB, heldB := notify.Plan(groupsOf(5, 2, 2), &b, 0)
	if len(sendA) != 10 || len(heldA) != 15 || len(sendB) != 3 || len(heldB) != 2 {
		t.Fatalf("A %d/%d, B %d/%d", len(sendA), len(heldA), len(sendB), len(heldB))
	}
	// Exhausting A leaves B's budget alone, and vice versa.
	c := notify.NewBudget(10)
	notify.Plan(groupsOf(50, 1, 1), &a, 1)
	if s, h := notify.Plan(groupsOf(4, 1, 2), &c, 1); len(s) != 4 || len(h) != 0 {
		t.Errorf("tenant 2 after tenant 1's storm: %d sent, %d held", len(s), len(h))
	}
	// Sends keep input order; after a minute the budget refills.
	for i, g := range sendA {
		if g.Items[0].OutboxID != int64(i+1) {
			t.Fatalf("send[%d] is group %d", i, g.Items[0].OutboxID)
		}
	}
	if s, h := notify.Plan(heldA, &a, minute); len(s) != 10 || len(h) != 5 {
		t.Errorf("after a minute: %d sent, %d held; want 10, 5", len(s), len(h))
	}
	// No budget: everything sent; no groups: nothing.
	if s, h := notify.Plan(groupsOf(20, 1, 1), nil, 0); len(s) != 20 || h != nil {
		t.Errorf("nil budget: %d sent, %d held", len(s), len(h))
	}
	if s, h := notify.Plan(nil, &a, 0); s != nil || h != nil {
		t.Errorf("nil groups: %v, %v", s, h)
	}
}

func TestFold(t *testing.T) {
	tests := []struct {
		name string
		in   []notify.Held
		want notify.Digest
	}{
		{"empty", nil, notify.Digest{}},
		{"count desc then name then id",
			[]notify.Held{
				{RuleID: 3, Rule: "zeta", At: 500, Count: 2},
				{RuleID: 1, Rule: "B", At: 100, Count: 5},
				{RuleID: 2, Rule: "A", At: 900, Count: 9},
				{RuleID: 4, Rule: "alpha", At: 300, Count: 2},
				{RuleID: 5, Rule: "alpha", At: 200, Count: 2},
				{RuleID: 1, Rule: "B", At: 50},
			},
			notify.Digest{Count: 21, Since: 50, Until: 900, ByRule: []notify.RuleCount{
				{RuleID: 2, Rule: "A", N: 9}, {RuleID: 1, Rule: "B", N: 6},
				{RuleID: 4, Rule: "alpha", N: 2}, {RuleID: 5, Rule: "alpha", N: 2}, {RuleID: 3, Rule: "zeta", N: 2},
			}}},
		{"name filled from a later row", []notify.Held{{RuleID: 7, At: 10, Count: 1}, {RuleID: 7, Rule: "late", At: 5, Count: 3}},
			notify.Digest{Count: 4, Since: 5, Until: 10, ByRule: []notify.RuleCount{{RuleID: 7, Rule: "late", N: 4}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := notify.Fold(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Fold = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDigestText(t *testing.T) {
	d := notify.Digest{Count: 14, Since: 0, Until: 3 * minute, ByRule: []notify.RuleCount{
		{RuleID: 1, Rule: "rule A", N: 9}, {RuleID: 2, Rule: "rule B", N: 4}, {RuleID: 3, N: 1}}}
	tests := []struct {
		d    notify.Digest
		max  int
		want string
	}{
		{d, 0, "14 more alerts fired in the last 3 minutes: rule A ×9, rule B ×4, rule 3 ×1"},
		{d, 2, "14 more alerts fired in the last 3 minutes: rule A ×9, rule B ×4 …"},
		{notify.Digest{Count: 1, Since: 5, Until: 5, ByRule: []notify.RuleCount{{RuleID: 1, Rule: "x", N: 1}}}, 0,
			"1 more alert fired in the last minute: x ×1"},
	}
	for _, tt := range tests {
		if got := tt.d.Text(tt.max); got != tt.want {
			t.Errorf("Text(%d) = %q, want %q", tt.max, got, tt.want)
		}
	}
}
