package notificationstest

import (
	"cmp"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

func rowIDs(rs []notification.MessageRow) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// plainMessages plans messages without deliveries (ch, rule) at base and
// answers their ids in order.
func (f fx) plainMessages(t *testing.T, tenant int64, chRule ...[2]int64) []int64 {
	t.Helper()
	var ms []notification.NewMessage
	for _, cr := range chRule {
		ms = append(ms, notification.NewMessage{TenantID: tenant, ChannelID: cr[0], RuleID: cr[1], Kind: notification.MessageAlerts, NotBefore: base})
	}
	if err := f.s.Commit(sqldbtest.Ctx(t), notification.Plan{Now: base, Messages: ms}); err != nil {
		t.Fatal(err)
	}
	rows, _, err := f.s.ListMessages(sqldbtest.Ctx(t), tenant, notification.MessageFilter{Limit: len(chRule)})
	if err != nil || len(rows) != len(chRule) {
		t.Fatalf("ListMessages: %d rows, %v", len(rows), err)
	}
	ids := rowIDs(rows)
	for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
		ids[i], ids[j] = ids[j], ids[i]
	}
	return ids
}

// kill claims the messages and finishes them dead with the answer.
func (f fx) kill(t *testing.T, answer string, ids ...int64) {
	t.Helper()
	c := sqldbtest.Ctx(t)
	if _, err := f.s.ClaimMessages(c, base, 1000, 1000, "killer", time.Minute); err != nil {
		t.Fatal(err)
	}
	var out []notification.Outcome
	for _, id := range ids {
		out = append(out, notification.Outcome{MessageID: id, Holder: "killer", Status: notification.StatusDead, Attempts: 3, FirstAttempt: base,
			At: base, LastStatus: 500, LastError: answer})
	}
	if err := f.s.Finish(c, out); err != nil {
		t.Fatal(err)
	}
}

func testListMessages(t *testing.T, f fx) {
	c := sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, f.st, "list")
	m := f.plainMessages(t, tn, [2]int64{1, 1}, [2]int64{1, 1}, [2]int64{2, 2}, [2]int64{1, 1}, [2]int64{2, 2})
	f.kill(t, "boom", m[1], m[2])
	list := func(fl notification.MessageFilter, wantNext int64, want ...int64) {
		t.Helper()
		rows, next, err := f.s.ListMessages(c, tn, fl)
		if err != nil || next != wantNext || !reflect.DeepEqual(rowIDs(rows), append([]int64{}, want...)) {
			t.Errorf("ListMessages(%+v): %v next %d, %v; want %v next %d", fl, rowIDs(rows), next, err, want, wantNext)
		}
	}
	list(notification.MessageFilter{Limit: 2}, m[3], m[4], m[3])
	list(notification.MessageFilter{Limit: 2, Cursor: m[3]}, m[1], m[2], m[1])
	list(notification.MessageFilter{Limit: 2, Cursor: m[1]}, 0, m[0])
	list(notification.MessageFilter{Limit: 5}, 0, m[4], m[3], m[2], m[1], m[0])
	list(notification.MessageFilter{}, 0, m[4], m[3], m[2], m[1], m[0])
	list(notification.MessageFilter{Status: notification.StatusDead}, 0, m[2], m[1])
	list(notification.MessageFilter{Status: notification.StatusQueued, Limit: 1}, m[4], m[4])
	list(notification.MessageFilter{ChannelID: 2}, 0, m[4], m[2])
	list(notification.MessageFilter{RuleID: 1, Status: notification.StatusDead}, 0, m[1])
	list(notification.MessageFilter{ChannelID: 3}, 0)
	rows, _, _ := f.s.ListMessages(c, tn, notification.MessageFilter{Status: notification.StatusDead, Limit: 1})
	want := notification.MessageRow{ID: m[2], TenantID: tn, ChannelID: 2, RuleID: 2, Kind: notification.MessageAlerts, Status: notification.StatusDead,
		Attempts: 3, LastStatus: 500, LastError: "boom", CreatedAt: base}
	if len(rows) != 1 || !reflect.DeepEqual(rows[0], want) {
		t.Errorf("dead row:\n got  %+v\n want %+v", rows, want)
	}
}

// Another tenant's messages are neither listed, nor read, nor requeued.
func testMessagesIsolation(t *testing.T, f fx) {
	c := sqldbtest.Ctx(t)
	a, b := sqldbtest.MkTenant(t, f.st, "iso-a"), sqldbtest.MkTenant(t, f.st, "iso-b")
	am, _ := f.message(t, a, 1, 1, base, "a")
	bm, bit := f.message(t, b, 2, 2, base, "b")
	f.kill(t, "boom", am, bm)
	rows, next, err := f.s.ListMessages(c, b, notification.MessageFilter{})
	if err != nil || next != 0 || !reflect.DeepEqual(rowIDs(rows), []int64{bm}) {
		t.Errorf("B's list: %v, %v", rowIDs(rows), err)
	}
	if rows, _, err := f.s.ListMessages(c, b, notification.MessageFilter{ChannelID: 1, RuleID: 1}); err != nil || len(rows) != 0 {
		t.Errorf("B's list of A's channel: %v, %v", rowIDs(rows), err)
	}
	if items, err := f.s.MessageItems(c, b, am); err != nil || len(items) != 0 {
		t.Errorf("B reads A's items: %+v, %v", items, err)
	}
	if items, err := f.s.MessageItems(c, b, bm); err != nil || !reflect.DeepEqual(items, []notification.Item{bit}) {
		t.Errorf("B's items: %+v, %v", items, err)
	}
	if items, err := f.s.MessageItems(c, a, bm+1000); err != nil || items != nil {
		t.Errorf("items of no message: %+v, %v", items, err)
	}
	if err := f.s.Requeue(c, b, am, base); !errors.Is(err, notify.ErrMessageNotFound) {
		t.Errorf("B requeues A's message: %v", err)
	}
	if r := f.row(t, a, am); r.Status != notification.StatusDead {
		t.Errorf("A's message after B's requeue: %+v", r)
	}
}

// Requeue gives a dead message a fresh retry window, only a dead one.
func testRequeue(t *testing.T, f fx) {
	c := sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, f.st, "requeue")
	dead, it := f.message(t, tn, 1, 1, base, "dead")
	sent, _ := f.message(t, tn, 1, 1, base, "sent")
	f.kill(t, "connection refused", dead)
	if err := f.s.Finish(c, []notification.Outcome{{MessageID: sent, Holder: "killer", Status: notification.StatusSent, Attempts: 1, At: base}}); err != nil {
		t.Fatal(err)
	}
	now := base + 3_600_000
	if err := f.s.Requeue(c, tn, dead, now); err != nil {
		t.Fatalf("Requeue: %v", err)
	}
	r := f.row(t, tn, dead)
	if r.Status != notification.StatusQueued || r.Attempts != 0 || r.NextAttemptAt != now || r.LastError != "connection refused" {
		t.Errorf("requeued: %+v", r)
	}
	f.claim(t, now-1, 10, 10, "h")
	got := f.claim(t, now, 10, 10, "h", dead)
	if len(got) == 1 && (got[0].Attempts != 0 || got[0].FirstAttemptAt != 0 || !reflect.DeepEqual(got[0].Items, []notification.Item{it})) {
		t.Errorf("claimed after requeue: %+v", got[0])
	}
	for what, id := range map[string]int64{"queued": dead, "sent": sent, "unknown": sent + 1000} {
		if err := f.s.Requeue(c, tn, id, now); !errors.Is(err, notify.ErrMessageNotFound) {
			t.Errorf("Requeue of a %s message: %v", what, err)
		}
	}
}

func testDepth(t *testing.T, f fx) {
	c := sqldbtest.Ctx(t)
	if d, err := f.s.Depth(c); err != nil || d != (notification.Depth{}) {
		t.Errorf("empty: %+v, %v", d, err)
	}
	tn := sqldbtest.MkTenant(t, f.st, "depth")
	os := f.outbox(t, tn, 1, "firing", base, "a", "b", "c", "d")
	f.expand(t, base, notification.DeliveryWaiting, os[:1], 1, 2)
	f.expand(t, base, notification.DeliverySkipped, os[1:2], 1)
	d := f.delivery(t, os[0].ID, 1)
	if err := f.s.Commit(c, notification.Plan{Now: base, Messages: []notification.NewMessage{{TenantID: tn, ChannelID: 1, RuleID: 1,
		Kind: notification.MessageAlerts, Deliveries: []int64{d}, NotBefore: base}}}); err != nil {
		t.Fatal(err)
	}
	if got, err := f.s.Depth(c); err != nil || got != (notification.Depth{Outbox: 2, Deliveries: 1, Queued: 1}) {
		t.Errorf("Depth: %+v, %v", got, err)
	}
}

// QueuedGroups names the groups of the tenants' queued messages (claimed
// ones included), not sent or dead ones, nor other tenants'.
func testQueuedGroups(t *testing.T, f fx) {
	c := sqldbtest.Ctx(t)
	a, b := sqldbtest.MkTenant(t, f.st, "queued-a"), sqldbtest.MkTenant(t, f.st, "queued-b")
	f.message(t, a, 1, 1, base, "a1")
	f.message(t, a, 1, 1, base, "a1-again")
	f.message(t, a, 2, 5, base, "a2")
	dead, _ := f.message(t, a, 3, 7, base, "a3")
	f.message(t, b, 4, 9, base, "b4")
	f.kill(t, "gone", dead) // claims every message of both tenants, then kills one: the others stay queued and claimed
	got, err := f.s.QueuedGroups(c, []int64{a})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(x, y notification.GroupKey) int { return cmp.Compare(x.ChannelID, y.ChannelID) })
	want := []notification.GroupKey{{TenantID: a, ChannelID: 1, RuleID: 1}, {TenantID: a, ChannelID: 2, RuleID: 5}}
	if !slices.Equal(got, want) {
		t.Errorf("QueuedGroups(a) = %+v, want %+v", got, want)
	}
	if got, err := f.s.QueuedGroups(c, nil); err != nil || len(got) != 0 {
		t.Errorf("QueuedGroups(none) = %+v, %v", got, err)
	}
}
