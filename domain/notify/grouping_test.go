package notify_test

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/notify"
)

func TestGroupPending(t *testing.T) {
	p := func(id, tenant, rule, ch, at int64) notify.Pending {
		return notify.Pending{OutboxID: id, TenantID: tenant, RuleID: rule, ChannelID: ch, Kind: notify.NoticeFiring, At: at}
	}
	tests := []struct {
		name string
		in   []notify.Pending
		want []notify.Group
	}{
		{"empty", nil, nil},
		{"one", []notify.Pending{p(1, 1, 1, 1, 100)},
			[]notify.Group{{TenantID: 1, RuleID: 1, ChannelID: 1, FirstAt: 100, Items: []notify.Pending{p(1, 1, 1, 1, 100)}}}},
		{"same key merged, order of first appearance, FirstAt is min",
			[]notify.Pending{p(1, 1, 2, 1, 300), p(2, 1, 1, 1, 200), p(3, 1, 2, 1, 100), p(4, 2, 2, 1, 50), p(5, 1, 2, 9, 10)},
			[]notify.Group{
				{TenantID: 1, RuleID: 2, ChannelID: 1, FirstAt: 100, Items: []notify.Pending{p(1, 1, 2, 1, 300), p(3, 1, 2, 1, 100)}},
				{TenantID: 1, RuleID: 1, ChannelID: 1, FirstAt: 200, Items: []notify.Pending{p(2, 1, 1, 1, 200)}},
				{TenantID: 2, RuleID: 2, ChannelID: 1, FirstAt: 50, Items: []notify.Pending{p(4, 2, 2, 1, 50)}},
				{TenantID: 1, RuleID: 2, ChannelID: 9, FirstAt: 10, Items: []notify.Pending{p(5, 1, 2, 9, 10)}},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := notify.GroupPending(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("GroupPending = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// Property: every item lands in exactly one group, whose key is its own,
// in input order; keys are unique; FirstAt is the min; grouping is
// deterministic.
func TestGroupPendingProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		n := r.IntN(300)
		items := make([]notify.Pending, n)
		for i := range items {
			items[i] = notify.Pending{OutboxID: int64(i + 1), TenantID: r.Int64N(3), RuleID: r.Int64N(5),
				ChannelID: r.Int64N(3), At: r.Int64N(1_000_000), Kind: notify.NoticeFiring}
		}
		groups := notify.GroupPending(items)
		if !reflect.DeepEqual(groups, notify.GroupPending(items)) {
			t.Fatalf("round %d: not deterministic", round)
		}
		seen := map[int64]int{}
		keys := map[[3]int64]bool{}
		total := 0
		for _, g := range groups {
			k := [3]int64{g.TenantID, g.RuleID, g.ChannelID}
			if keys[k] {
				t.Fatalf("round %d: key %v twice", round, k)
			}
			keys[k] = true
			minAt := g.Items[0].At
			for j, it := range g.Items {
				if it.TenantID != g.TenantID || it.RuleID != g.RuleID || it.ChannelID != g.ChannelID {
					t.Fatalf("round %d: item %+v in group %v", round, it, k)
				}
				if j > 0 && it.OutboxID <= g.Items[j-1].OutboxID {
					t.Fatalf("round %d: group %v out of input order", round, k)
				}
				minAt = min(minAt, it.At)
				seen[it.OutboxID]++
				total++
			}
			if g.FirstAt != minAt {
				t.Fatalf("round %d: FirstAt %d, min %d", round, g.FirstAt, minAt)
			}
		}
		if total != n || len(seen) != n {
			t.Fatalf("round %d: %d items in groups (%d distinct), want %d", round, total, len(seen), n)
		}
		for id, c := range seen {
			if c != 1 {
				t.Fatalf("round %d: item %d in %d groups", round, id, c)
			}
		}
	}
}

func TestGroupReady(t *testing.T) {
	g := notify.Group{FirstAt: 1_000}
	tests := []struct {
		now  int64
		wait time.Duration
		want bool
	}{
		{1_000, 0, true},
		{500, 0, true},
		{1_000, -time.Second, true},
		{1_000, notify.DefaultGroupWait, false},
		{10_999, notify.DefaultGroupWait, false},
		{11_000, notify.DefaultGroupWait, true},
		{60_000, notify.DefaultGroupWait, true},
	}
	for _, tt := range tests {
		if got := g.Ready(tt.now, tt.wait); got != tt.want {
			t.Errorf("Ready(%d, %v) = %v, want %v", tt.now, tt.wait, got, tt.want)
		}
	}
}

func TestFilterResolved(t *testing.T) {
	items := []notify.Pending{
		{OutboxID: 1, Kind: notify.NoticeFiring},
		{OutboxID: 2, Kind: notify.NoticeResolved},
		{OutboxID: 3, Kind: notify.NoticeNoData},
		{OutboxID: 4, Kind: notify.NoticeResolved},
	}
	tests := []struct {
		send           bool
		wantSend, skip []int64
	}{
		{true, []int64{1, 2, 3, 4}, nil},
		{false, []int64{1, 3}, []int64{2, 4}},
	}
	ids := func(ps []notify.Pending) []int64 {
		var out []int64
		for _, p := range ps {
			out = append(out, p.OutboxID)
		}
		return out
	}
	for _, tt := range tests {
		send, skip := notify.FilterResolved(items, tt.send)
		if !reflect.DeepEqual(ids(send), tt.wantSend) || !reflect.DeepEqual(ids(skip), tt.skip) {
			t.Errorf("FilterResolved(%v) = %v, %v; want %v, %v", tt.send, ids(send), ids(skip), tt.wantSend, tt.skip)
		}
	}
	if send, skip := notify.FilterResolved(nil, false); send != nil || skip != nil {
		t.Errorf("FilterResolved(nil) = %v, %v", send, skip)
	}
}

func TestRepeatDue(t *testing.T) {
	h := time.Hour.Milliseconds()
	tests := []struct {
		last, now int64
		repeat    time.Duration
		want      bool
	}{
		{0, 4*h - 1, notify.DefaultRepeatInterval, false},
		{0, 4 * h, notify.DefaultRepeatInterval, true},
		{h, 5 * h, 4 * time.Hour, true},
		{h, 2 * h, time.Hour, true},
		{h, 2*h - 1, time.Hour, false},
		{0, 4*h - 1, 0, false}, // 0 is the default, 4h
		{0, 4 * h, 0, true},
	}
	for _, tt := range tests {
		if got := notify.RepeatDue(tt.last, tt.now, tt.repeat); got != tt.want {
			t.Errorf("RepeatDue(%d, %d, %v) = %v, want %v", tt.last, tt.now, tt.repeat, got, tt.want)
		}
	}
}
