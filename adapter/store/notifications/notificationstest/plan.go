package notificationstest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// A plan's commit: messages with their deliveries, repeats as new
// deliveries, states, and the repeat schedule upserted and forgotten.
func testCommitPlan(t *testing.T, f fx) {
	c := sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, f.st, "commit")
	old := f.outbox(t, tn, 5, "firing", base-60_000, "k1")
	f.expand(t, base-60_000, notification.DeliveryWaiting, old) // sent long ago: no delivery left to plan
	fired := f.outbox(t, tn, 5, "firing", base-1000, "k1", "k2")
	resolved := f.outbox(t, tn, 5, "resolved", base-500, "k3")
	held := f.outbox(t, tn, 5, "firing", base-400, "k4")
	f.expand(t, base, notification.DeliveryWaiting, slices.Concat(fired, resolved, held), 21)
	d1, d2, d3, d4 := f.delivery(t, fired[0].ID, 21), f.delivery(t, fired[1].ID, 21), f.delivery(t, resolved[0].ID, 21), f.delivery(t, held[0].ID, 21)
	// The schedule before: k1 sent long ago, k3 firing until now.
	err := f.s.Commit(c, notification.Plan{Now: base - 60_000, Fired: []notification.Firing{
		{TenantID: tn, ChannelID: 21, RuleID: 5, InstanceKey: "k1", OutboxID: old[0].ID, LastSentAt: base - 60_000},
		{TenantID: tn, ChannelID: 21, RuleID: 5, InstanceKey: "k3", OutboxID: old[0].ID, LastSentAt: base - 60_000}}})
	if err != nil {
		t.Fatalf("first Commit: %v", err)
	}
	p := notification.Plan{Now: base,
		Messages: []notification.NewMessage{
			{TenantID: tn, ChannelID: 21, RuleID: 5, Kind: notification.MessageAlerts, Deliveries: []int64{d1, d2, d3}, NotBefore: base + 1000},
			{TenantID: tn, ChannelID: 22, RuleID: 5, Kind: notification.MessageRepeat, Repeats: []int64{old[0].ID}, NotBefore: base},
		},
		States: map[int64]string{d4: notification.DeliveryHeld},
		Fired: []notification.Firing{
			{TenantID: tn, ChannelID: 21, RuleID: 5, InstanceKey: "k1", OutboxID: fired[0].ID, LastSentAt: base},
			{TenantID: tn, ChannelID: 21, RuleID: 5, InstanceKey: "k2", OutboxID: fired[1].ID, LastSentAt: base},
			{TenantID: tn, ChannelID: 22, RuleID: 5, InstanceKey: "k1", OutboxID: old[0].ID, LastSentAt: base}},
		Resolved: []notification.FiringKey{{ChannelID: 21, RuleID: 5, InstanceKey: "k3"}, {ChannelID: 21, RuleID: 5, InstanceKey: "never"}},
	}
	if err := f.s.Commit(c, p); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	rows, next, err := f.s.ListMessages(c, tn, notification.MessageFilter{})
	if err != nil || next != 0 || len(rows) != 2 {
		t.Fatalf("ListMessages: %+v, %d, %v", rows, next, err)
	}
	alerts, repeat := rows[1], rows[0]
	want := notification.MessageRow{ID: alerts.ID, TenantID: tn, ChannelID: 21, RuleID: 5, Kind: notification.MessageAlerts,
		Status: notification.StatusQueued, Items: 3, NextAttemptAt: base + 1000, CreatedAt: base}
	if !reflect.DeepEqual(alerts, want) {
		t.Errorf("alerts message:\n got  %+v\n want %+v", alerts, want)
	}
	want = notification.MessageRow{ID: repeat.ID, TenantID: tn, ChannelID: 22, RuleID: 5, Kind: notification.MessageRepeat,
		Status: notification.StatusQueued, Items: 1, NextAttemptAt: base, CreatedAt: base}
	if !reflect.DeepEqual(repeat, want) || repeat.ID <= alerts.ID {
		t.Errorf("repeat message:\n got  %+v\n want %+v", repeat, want)
	}
	items, err := f.s.MessageItems(c, tn, alerts.ID)
	wantItems := []notification.Item{{DeliveryID: d1, OutboxID: fired[0].ID, RuleID: 5, Kind: "firing", Payload: fired[0].Payload},
		{DeliveryID: d2, OutboxID: fired[1].ID, RuleID: 5, Kind: "firing", Payload: fired[1].Payload},
		{DeliveryID: d3, OutboxID: resolved[0].ID, RuleID: 5, Kind: "resolved", Payload: resolved[0].Payload}}
	if err != nil || !reflect.DeepEqual(items, wantItems) {
		t.Errorf("alerts items: %v\n got  %+v\n want %+v", err, items, wantItems)
	}
	items, err = f.s.MessageItems(c, tn, repeat.ID)
	if err != nil || len(items) != 1 || items[0].OutboxID != old[0].ID || items[0].Kind != "firing" || items[0].RuleID != 5 ||
		string(items[0].Payload) != string(old[0].Payload) || items[0].DeliveryID <= d4 {
		t.Errorf("repeat items: %+v, %v; want a new delivery of the old outbox row", items, err)
	}
	if n := sqldbtest.Count(t, f.db, "notification_deliveries WHERE outbox_id = "+itoa(old[0].ID)+" AND channel_id = 22 AND state = 'planned' "+
		"AND created_at = "+itoa(base)+" AND instance_key = 'k1' AND tenant_id = "+itoa(tn)); n != 1 {
		t.Errorf("%d planned repeat deliveries, want 1", n)
	}
	for _, d := range []int64{d1, d2, d3} {
		if st, msg := f.state(t, d); st != notification.DeliveryPlanned || msg != alerts.ID {
			t.Errorf("delivery %d: %s in message %d, want planned in %d", d, st, msg, alerts.ID)
		}
	}
	if st, msg := f.state(t, d4); st != notification.DeliveryHeld || msg != 0 {
		t.Errorf("delivery %d: %s in message %d, want held in none", d4, st, msg)
	}
	if got, err := f.s.Unplanned(c, 10, 10); err != nil || !reflect.DeepEqual(deliveryIDs(got), []int64{d4}) {
		t.Errorf("Unplanned: %v, %v; want the held one", deliveryIDs(got), err)
	}
	if n := sqldbtest.Count(t, f.db, "notification_firing"); n != 3 {
		t.Errorf("%d firing records, want 3 (k3 forgotten)", n)
	}
	if n := sqldbtest.Count(t, f.db, "notification_firing WHERE channel_id = 21 AND instance_key = 'k1' AND outbox_id = "+itoa(fired[0].ID)+
		" AND last_sent_at = "+itoa(base)); n != 1 {
		t.Errorf("k1 on channel 21 not upserted")
	}
	if err := f.s.Commit(c, notification.Plan{Now: base}); err != nil {
		t.Errorf("empty Commit: %v", err)
	}
}

// DueRepeats honours each channel's repeat_interval, oldest first, and
// forgets records of deleted channels.
func testRepeats(t *testing.T, f fx) {
	c := sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, f.st, "repeat")
	mk := func(name string, every time.Duration) int64 {
		ch, err := f.st.CreateChannel(c, notify.Channel{TenantID: tn, Name: name, Kind: notify.KindSlack, Slack: &notify.SlackSettings{},
			SendResolved: true, GroupWait: 10 * time.Second, RepeatInterval: every}, "sealed", base)
		if err != nil {
			t.Fatalf("CreateChannel: %v", err)
		}
		return ch.ID
	}
	hourly, twoHourly := mk("hourly", time.Hour), mk("two-hourly", 2*time.Hour)
	const h = int64(3600_000)
	os := f.outbox(t, tn, 5, "firing", base, "k1", "k2", "k1")
	f.expand(t, base, notification.DeliveryWaiting, os)
	rec := func(ch int64, o notification.OutboxItem, at int64) notification.Firing {
		return notification.Firing{TenantID: tn, ChannelID: ch, RuleID: 5, InstanceKey: o.InstanceKey, OutboxID: o.ID, LastSentAt: at, Payload: o.Payload}
	}
	a1, a2, b1 := rec(hourly, os[0], base), rec(hourly, os[1], base+1000), rec(twoHourly, os[0], base)
	gone := rec(hourly+twoHourly+1000, os[0], base-10*h) // no such channel
	if err := f.s.Commit(c, notification.Plan{Now: base, Fired: []notification.Firing{a2, b1, gone, a1}}); err != nil {
		t.Fatal(err)
	}
	due := func(now int64, limit int, want ...notification.Firing) {
		t.Helper()
		got, err := f.s.DueRepeats(c, now, limit)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("DueRepeats(now+%dms, %d): %v\n got  %+v\n want %+v", now-base, limit, err, got, want)
		}
	}
	due(base+h-1, 10)
	due(base+h, 10, a1)
	due(base+h+1000, 10, a1, a2)
	due(base+2*h, 10, a1, b1, a2)
	due(base+2*h, 2, a1, b1)
	due(base+2*h, 0)
	// A repeat sent moves the record; a resolved one drops it.
	a1 = rec(hourly, os[2], base+h) // a later firing notification of k1
	if err := f.s.Commit(c, notification.Plan{Now: base + h, Fired: []notification.Firing{a1},
		Resolved: []notification.FiringKey{{ChannelID: twoHourly, RuleID: 5, InstanceKey: "k1"}}}); err != nil {
		t.Fatal(err)
	}
	due(base+2*h, 10, a2, a1)
	if err := f.st.DeleteChannel(c, tn, hourly); err != nil {
		t.Fatal(err)
	}
	due(base+5*h, 10)
}

// SentSince answers each channel's messages' first-attempt times, of
// every status, unmoved by retries.
func testSentSince(t *testing.T, f fx) {
	c := sqldbtest.Ctx(t)
	a, b := sqldbtest.MkTenant(t, f.st, "sent-a"), sqldbtest.MkTenant(t, f.st, "sent-b")
	msg := func(tn, ch, at int64) notification.NewMessage {
		return notification.NewMessage{TenantID: tn, ChannelID: ch, Kind: notification.MessageDigest, NotBefore: at}
	}
	err := f.s.Commit(c, notification.Plan{Now: base, Messages: []notification.NewMessage{
		msg(a, 1, base+3000), msg(a, 1, base-5000), msg(b, 3, base-1), msg(a, 2, base), msg(a, 1, base)}})
	if err != nil {
		t.Fatal(err)
	}
	want := []notification.Sent{{TenantID: a, ChannelID: 1, At: []int64{base, base + 3000}}, {TenantID: a, ChannelID: 2, At: []int64{base}},
		{TenantID: b, ChannelID: 3, At: []int64{base - 1}}}
	check := func(what string) {
		t.Helper()
		if got, err := f.s.SentSince(c, base-1); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("SentSince %s: %v\n got  %+v\n want %+v", what, err, got, want)
		}
	}
	check("after the plan")
	cl, err := f.s.ClaimMessages(c, base, 10, 10, "h", time.Minute)
	if err != nil || len(cl) != 4 {
		t.Fatalf("claim: %d, %v", len(cl), err)
	}
	var out []notification.Outcome
	for i, m := range cl {
		o := notification.Outcome{MessageID: m.ID, Holder: "h", Status: notification.StatusQueued, Attempts: 1, FirstAttempt: base,
			NextAttemptAt: base + 600_000, At: base, LastStatus: 503}
		if i%2 == 1 {
			o.Status = notification.StatusDead
		}
		out = append(out, o)
	}
	if err := f.s.Finish(c, out); err != nil {
		t.Fatal(err)
	}
	check("after retries")
	if got, err := f.s.SentSince(c, base+3001); err != nil || len(got) != 0 {
		t.Errorf("SentSince after the last: %+v, %v", got, err)
	}
}
