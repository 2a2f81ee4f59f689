package notificationstest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// An outbox row expands once: its deliveries and its delivered_at in one
// transaction, and a second expansion of it inserts nothing.
func testExpandOnce(t *testing.T, f fx) {
	c := sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, f.st, "expand")
	fired := f.outbox(t, tn, 7, "firing", base-5000, "host=a", "host=b")
	resolved := f.outbox(t, tn, 7, "resolved", base-4000, "host=c")
	got, err := f.s.PendingOutbox(c, 10, 10)
	want := append(slices.Clone(fired), resolved...)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("PendingOutbox: %v\n got  %+v\n want %+v", err, got, want)
	}
	es := []notification.Expansion{
		{Outbox: fired[0], Deliveries: []notification.NewDelivery{{ChannelID: 11, State: notification.DeliveryWaiting}, {ChannelID: 12, State: notification.DeliveryWaiting}}},
		{Outbox: fired[1]}, // a rule without channels: marked, nothing to deliver
		{Outbox: resolved[0], Deliveries: []notification.NewDelivery{{ChannelID: 11, State: notification.DeliverySkipped}}},
	}
	if err := f.s.Expand(c, base, es); err != nil {
		t.Fatalf("Expand: %v", err)
	}
	if n := sqldbtest.Count(t, f.db, "notification_deliveries"); n != 3 {
		t.Errorf("%d deliveries, want 3", n)
	}
	if n := sqldbtest.Count(t, f.db, "alert_outbox WHERE delivered_at = "+itoa(base)); n != 3 {
		t.Errorf("%d outbox rows marked expanded at now, want 3", n)
	}
	if n := sqldbtest.Count(t, f.db, "notification_deliveries WHERE state = 'skipped' AND channel_id = 11 AND kind = 'resolved'"); n != 1 {
		t.Errorf("the skipped resolved delivery: %d rows", n)
	}
	if got, err := f.s.PendingOutbox(c, 10, 10); err != nil || len(got) != 0 {
		t.Errorf("PendingOutbox after Expand: %+v, %v", got, err)
	}
	// Again, later (a planner whose lease lapsed): nothing changes.
	if err := f.s.Expand(c, base+1000, es); err != nil {
		t.Fatalf("second Expand: %v", err)
	}
	if n := sqldbtest.Count(t, f.db, "notification_deliveries"); n != 3 {
		t.Errorf("second Expand: %d deliveries, want 3", n)
	}
	if n := sqldbtest.Count(t, f.db, "alert_outbox WHERE delivered_at = "+itoa(base)); n != 3 {
		t.Errorf("second Expand moved delivered_at: %d rows still at the first", n)
	}
	ds, err := f.s.Unplanned(c, 10, 10)
	if err != nil || len(ds) != 2 {
		t.Fatalf("Unplanned: %+v, %v; want the two waiting deliveries", ds, err)
	}
	wantD := notification.Delivery{ID: ds[0].ID, OutboxID: fired[0].ID, TenantID: tn, RuleID: 7, ChannelID: 11, Kind: "firing",
		InstanceKey: "host=a", At: base - 5000, State: notification.DeliveryWaiting, CreatedAt: base, Payload: fired[0].Payload}
	if !reflect.DeepEqual(ds[0], wantD) {
		t.Errorf("Unplanned[0]:\n got  %+v\n want %+v", ds[0], wantD)
	}
	if ds[1].ChannelID != 12 || ds[1].OutboxID != fired[0].ID || ds[1].ID <= ds[0].ID {
		t.Errorf("Unplanned[1]: %+v", ds[1])
	}
	if err := f.s.Expand(c, base, nil); err != nil {
		t.Errorf("Expand of nothing: %v", err)
	}
}

// One tenant's backlog does not queue ahead of another's row.
func testPendingFair(t *testing.T, f fx) {
	c := sqldbtest.Ctx(t)
	a, b := sqldbtest.MkTenant(t, f.st, "fair-a"), sqldbtest.MkTenant(t, f.st, "fair-b")
	as := f.outbox(t, a, 1, "firing", base, keys("a", 50)...)
	bs := f.outbox(t, b, 2, "firing", base, "host=b")
	got, err := f.s.PendingOutbox(c, 10, 5)
	want := append(outboxIDs(as[:5]), bs[0].ID)
	if err != nil || !reflect.DeepEqual(outboxIDs(got), want) {
		t.Fatalf("PendingOutbox(10, 5): %v, %v; want %v", outboxIDs(got), err, want)
	}
	if !reflect.DeepEqual(got[5], bs[0]) {
		t.Errorf("B's row:\n got  %+v\n want %+v", got[5], bs[0])
	}
	// The limit keeps the oldest.
	if got, err := f.s.PendingOutbox(c, 3, 5); err != nil || !reflect.DeepEqual(outboxIDs(got), outboxIDs(as[:3])) {
		t.Errorf("PendingOutbox(3, 5): %v, %v; want A's 3 oldest", outboxIDs(got), err)
	}
	if got, err := f.s.PendingOutbox(c, 100, 1); err != nil || !reflect.DeepEqual(outboxIDs(got), []int64{as[0].ID, bs[0].ID}) {
		t.Errorf("PendingOutbox(100, 1): %v, %v; want each tenant's oldest", outboxIDs(got), err)
	}
	for _, lim := range [][2]int{{0, 5}, {5, 0}} {
		if got, err := f.s.PendingOutbox(c, lim[0], lim[1]); err != nil || len(got) != 0 {
			t.Errorf("PendingOutbox%v: %v, %v", lim, outboxIDs(got), err)
		}
	}
	// Expanding A's page lets the next one through.
	f.expand(t, base, notification.DeliveryWaiting, as[:5], 1)
	if got, err := f.s.PendingOutbox(c, 10, 5); err != nil || !reflect.DeepEqual(outboxIDs(got), append(outboxIDs(as[5:10]), bs[0].ID)) {
		t.Errorf("next page: %v, %v", outboxIDs(got), err)
	}
}

// 10,000 pending rows of one tenant: another tenant's row still comes in
// the first page, and a page of 2,000 expands in one call.
func testPendingBacklog(t *testing.T, f fx) {
	c := sqldbtest.Ctx(t)
	a, b := sqldbtest.MkTenant(t, f.st, "flood-a"), sqldbtest.MkTenant(t, f.st, "flood-b")
	as := f.outbox(t, a, 1, "firing", base, keys("a", 10_000)...)
	bs := f.outbox(t, b, 2, "firing", base, "host=b")
	start := time.Now()
	got, err := f.s.PendingOutbox(c, 2000, 500)
	took := time.Since(start)
	if err != nil || len(got) != 501 || got[500].ID != bs[0].ID || got[0].ID != as[0].ID {
		t.Fatalf("PendingOutbox(2000, 500): %d rows, %v; want A's 500 oldest and B's", len(got), err)
	}
	if took > 5*time.Second {
		t.Errorf("PendingOutbox over a backlog of 10,000 took %v", took)
	}
	es := make([]notification.Expansion, 2000)
	for i, o := range as[:2000] {
		es[i] = notification.Expansion{Outbox: o, Deliveries: []notification.NewDelivery{{ChannelID: 1, State: notification.DeliveryWaiting}}}
	}
	start = time.Now()
	if err := f.s.Expand(c, base, es); err != nil {
		t.Fatalf("Expand of 2,000: %v", err)
	}
	t.Logf("PendingOutbox %v, Expand of 2,000 %v", took, time.Since(start))
	if n := sqldbtest.Count(t, f.db, "notification_deliveries"); n != 2000 {
		t.Errorf("%d deliveries, want 2000", n)
	}
	if d, err := f.s.Depth(c); err != nil || d.Outbox != 8001 || d.Deliveries != 2000 {
		t.Errorf("Depth: %+v, %v; want 8001 outbox rows, 2000 deliveries", d, err)
	}
}

// Unplanned takes waiting, held and silenced deliveries, oldest first, at
// most perTenant of one tenant's in each state.
func testUnplannedFair(t *testing.T, f fx) {
	c := sqldbtest.Ctx(t)
	a, b := sqldbtest.MkTenant(t, f.st, "plan-a"), sqldbtest.MkTenant(t, f.st, "plan-b")
	as := f.outbox(t, a, 1, "firing", base, keys("a", 50)...)
	f.expand(t, base, notification.DeliveryWaiting, as[:20], 1)
	f.expand(t, base, notification.DeliverySilenced, as[20:40], 1)
	f.expand(t, base, notification.DeliverySkipped, as[40:], 1) // never planned
	bs := f.outbox(t, b, 2, "nodata", base, "host=b")
	f.expand(t, base+1, notification.DeliveryWaiting, bs, 2)
	aIDs := make([]int64, 40)
	for i, o := range as[:40] {
		aIDs[i] = f.delivery(t, o.ID, 1)
	}
	bID := f.delivery(t, bs[0].ID, 2)
	// Some of A's oldest are held, some planned: states mix in one page.
	err := f.s.Commit(c, notification.Plan{Now: base, States: map[int64]string{aIDs[0]: notification.DeliveryHeld, aIDs[1]: notification.DeliveryHeld},
		Messages: []notification.NewMessage{{TenantID: a, ChannelID: 1, RuleID: 1, Kind: notification.MessageAlerts, Deliveries: aIDs[2:4], NotBefore: base}}})
	if err != nil {
		t.Fatal(err)
	}
	// Each state has its own share of 5 of A's: held (2), waiting (the
	// oldest 5 of 16) and silenced (the oldest 5 of 20).
	got, err := f.s.Unplanned(c, 10, 5)
	want := []int64{aIDs[0], aIDs[1], aIDs[4], aIDs[5], aIDs[6], aIDs[7], aIDs[8], aIDs[20], aIDs[21], aIDs[22], aIDs[23], aIDs[24], bID}
	if err != nil || !reflect.DeepEqual(deliveryIDs(got), want) {
		t.Fatalf("Unplanned(10, 5): %v, %v; want %v", deliveryIDs(got), err, want)
	}
	if got[0].State != notification.DeliveryHeld || got[2].State != notification.DeliveryWaiting {
		t.Errorf("states: %q %q", got[0].State, got[2].State)
	}
	wantB := notification.Delivery{ID: bID, OutboxID: bs[0].ID, TenantID: b, RuleID: 2, ChannelID: 2, Kind: "nodata", InstanceKey: "host=b",
		At: base, State: notification.DeliveryWaiting, CreatedAt: base + 1, Payload: bs[0].Payload}
	if !reflect.DeepEqual(got[len(got)-1], wantB) {
		t.Errorf("B's delivery:\n got  %+v\n want %+v", got[len(got)-1], wantB)
	}
	// With room for all: A's 2 held, 16 waiting and 20 silenced, and B's.
	got, err = f.s.Unplanned(c, 100, 30)
	if err != nil || len(got) != 39 || got[29].ID != aIDs[31] || got[20].State != notification.DeliverySilenced {
		t.Errorf("Unplanned(100, 30): %v, %v", deliveryIDs(got), err)
	}
	if d, err := f.s.Depth(c); err != nil || d.Deliveries != 39 || d.Queued != 1 {
		t.Errorf("Depth: %+v, %v; want 39 deliveries to plan, 1 message", d, err)
	}
}
