package notification_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

func (f *fixture) lease(held bool) {
	f.leases.EXPECT().AcquireLease(gomock.Any(), "notification-planner", "test", 10*time.Second).Return(held, nil)
}

func TestPlanOnceWithoutTheLeaseDoesNothing(t *testing.T) {
	f := newFixture(t) // any store call fails the test
	f.lease(false)
	rep, ran, err := f.svc.PlanOnce(context.Background())
	if ran || err != nil || rep != (notification.PassReport{}) {
		t.Errorf("PlanOnce = %+v, %v, %v; want nothing done", rep, ran, err)
	}
	f.leases.EXPECT().AcquireLease(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(false, errDown)
	if _, ran, err := f.svc.PlanOnce(context.Background()); ran || err == nil {
		t.Errorf("a lease that fails: ran %v, err %v", ran, err)
	}
}

func TestPlanOnceExpandsTheOutbox(t *testing.T) {
	f := newFixture(t)
	now := f.nowMS()
	at := f.now.Add(-time.Second)
	items := []notification.OutboxItem{
		{ID: 1, TenantID: 7, RuleID: 1, Kind: "firing", InstanceKey: "host=a", Payload: payload(1, alert.NotifyFiring, "a", at, 3, 4, 3, 9)},
		{ID: 2, TenantID: 7, RuleID: 1, Kind: "resolved", InstanceKey: "host=b", Payload: payload(1, alert.NotifyResolved, "b", at, 4, 3)},
		{ID: 3, TenantID: 7, RuleID: 2, Kind: "firing", InstanceKey: "host=c", Payload: []byte(`{"channels": [3`)},
		{ID: 4, TenantID: 8, RuleID: 5, Kind: "firing", InstanceKey: "host=d", Payload: payload(5, alert.NotifyFiring, "d", at, 20)},
	}
	quiet := emailChannel(4)
	quiet.SendResolved = false
	theirs := webhookChannel(20)
	theirs.TenantID = 8
	f.lease(true)
	f.store.EXPECT().PendingOutbox(gomock.Any(), 2000, 500).Return(items, nil)
	f.channels.EXPECT().ChannelsByID(gomock.Any(), int64(7), []int64{3, 4, 9}).
		Return(map[int64]notify.Channel{3: webhookChannel(3), 4: quiet}, nil) // 9 was deleted
	f.channels.EXPECT().ChannelsByID(gomock.Any(), int64(8), []int64{20}).Return(map[int64]notify.Channel{20: theirs}, nil)
	f.store.EXPECT().Expand(gomock.Any(), now, gomock.Any()).DoAndReturn(func(_ context.Context, _ int64, es []notification.Expansion) error {
		want := map[int64][]notification.NewDelivery{
			1: {{ChannelID: 3, State: notification.DeliveryWaiting}, {ChannelID: 4, State: notification.DeliveryWaiting}},
			2: {{ChannelID: 3, State: notification.DeliveryWaiting}, {ChannelID: 4, State: notification.DeliverySkipped}},
			3: nil, // not stuck: expanded without deliveries
			4: {{ChannelID: 20, State: notification.DeliveryWaiting}},
		}
		if len(es) != len(want) {
			t.Fatalf("%d expansions, want %d", len(es), len(want))
		}
		for i, e := range es {
			if e.Outbox.ID != items[i].ID || !slices.Equal(e.Deliveries, want[e.Outbox.ID]) {
				t.Errorf("expansion of outbox %d = %+v, want %+v", items[i].ID, e, want[items[i].ID])
			}
		}
		return nil
	})
	f.store.EXPECT().Unplanned(gomock.Any(), 2000, 500).Return(nil, nil)
	f.store.EXPECT().DueRepeats(gomock.Any(), now, 2000).Return(nil, nil)
	// Nothing to plan: no Commit.
	rep, ran, err := f.svc.PlanOnce(context.Background())
	if !ran || err != nil {
		t.Fatalf("PlanOnce: ran %v, %v", ran, err)
	}
	want := notification.PassReport{Expanded: 4, Deliveries: 5, Skipped: 1, Dropped: 2}
	if rep != want {
		t.Errorf("report = %+v, want %+v", rep, want)
	}
}

func TestPlanOnceCommitsThePlan(t *testing.T) {
	f := newFixture(t)
	now := f.nowMS()
	created := now - time.Minute.Milliseconds()
	d := func(id, rule int64, host, state string) notification.Delivery {
		return notification.Delivery{ID: id, OutboxID: 100 + id, TenantID: 7, RuleID: rule, ChannelID: 3, Kind: "firing",
			InstanceKey: "host=" + host, State: state, CreatedAt: created, Payload: payload(rule, alert.NotifyFiring, host, f.now, 3)}
	}
	ds := []notification.Delivery{d(1, 1, "a", notification.DeliveryWaiting), d(2, 1, "b", notification.DeliveryWaiting),
		d(3, 2, "a", notification.DeliverySilenced), d(4, 3, "a", notification.DeliveryWaiting)}
	f.lease(true)
	f.store.EXPECT().PendingOutbox(gomock.Any(), 2000, 500).Return(nil, nil) // no Expand
	f.store.EXPECT().Unplanned(gomock.Any(), 2000, 500).Return(ds, nil)
	f.store.EXPECT().DueRepeats(gomock.Any(), now, 2000).Return(nil, nil)
	f.channels.EXPECT().ChannelsByID(gomock.Any(), int64(7), []int64{3}).Return(map[int64]notify.Channel{3: webhookChannel(3)}, nil)
	f.store.EXPECT().ActiveSilences(gomock.Any(), []int64{7}, now).Return(nil, nil)
	f.store.EXPECT().PerMinute(gomock.Any(), []int64{7}).Return(map[int64]int{7: 2}, nil) // the tenant's override
	f.store.EXPECT().SentSince(gomock.Any(), now-60_000).Return(nil, nil)
	f.store.EXPECT().QueuedGroups(gomock.Any(), gomock.Any()).Return(nil, nil)
	f.store.EXPECT().Commit(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, p notification.Plan) error {
		if p.Now != now {
			t.Errorf("plan at %d, want %d", p.Now, now)
		}
		want := []notification.NewMessage{
			{TenantID: 7, ChannelID: 3, RuleID: 1, Kind: notification.MessageAlerts, Deliveries: []int64{1, 2}, NotBefore: now},
			{TenantID: 7, ChannelID: 3, RuleID: 2, Kind: notification.MessageAlerts, Deliveries: []int64{3}, NotBefore: now},
		}
		if !slices.EqualFunc(p.Messages, want, func(a, b notification.NewMessage) bool {
			return a.TenantID == b.TenantID && a.ChannelID == b.ChannelID && a.RuleID == b.RuleID && a.Kind == b.Kind &&
				slices.Equal(a.Deliveries, b.Deliveries) && len(a.Repeats) == 0 && a.NotBefore == b.NotBefore
		}) {
			t.Errorf("messages = %+v, want %+v", p.Messages, want)
		}
		if len(p.States) != 1 || p.States[4] != notification.DeliveryHeld {
			t.Errorf("states = %v, want 4 held (over the budget of 2)", p.States)
		}
		if len(p.Fired) != 3 {
			t.Errorf("fired = %+v, want the 3 instances told", p.Fired)
		}
		return nil
	})
	rep, _, err := f.svc.PlanOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Messages != 2 || rep.Held != 1 || rep.Released != 1 {
		t.Errorf("report = %+v", rep)
	}
}

func TestPlanOnceWithNothingDecidedCommitsNothing(t *testing.T) {
	f := newFixture(t)
	now := f.nowMS()
	waiting := notification.Delivery{ID: 1, TenantID: 7, RuleID: 1, ChannelID: 3, Kind: "firing", State: notification.DeliveryWaiting,
		CreatedAt: now - 1000, Payload: payload(1, alert.NotifyFiring, "a", f.now, 3)} // in its 10 s group_wait
	f.lease(true)
	f.store.EXPECT().PendingOutbox(gomock.Any(), 2000, 500).Return(nil, nil)
	f.store.EXPECT().Unplanned(gomock.Any(), 2000, 500).Return([]notification.Delivery{waiting}, nil)
	f.store.EXPECT().DueRepeats(gomock.Any(), now, 2000).Return(nil, nil)
	f.channels.EXPECT().ChannelsByID(gomock.Any(), int64(7), []int64{3}).Return(map[int64]notify.Channel{3: webhookChannel(3)}, nil)
	f.store.EXPECT().ActiveSilences(gomock.Any(), []int64{7}, now).Return(nil, nil)
	f.store.EXPECT().PerMinute(gomock.Any(), []int64{7}).Return(nil, nil)
	f.store.EXPECT().SentSince(gomock.Any(), now-60_000).Return(nil, nil)
	f.store.EXPECT().QueuedGroups(gomock.Any(), gomock.Any()).Return(nil, nil)
	if _, _, err := f.svc.PlanOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
}
