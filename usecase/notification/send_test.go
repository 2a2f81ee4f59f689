package notification_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

func (f *fixture) item(delivery, rule int64, kind alert.Notify, host string) notification.Item {
	return notification.Item{DeliveryID: delivery, OutboxID: 100 + delivery, RuleID: rule, Kind: string(kind),
		Payload: payload(rule, kind, host, f.now.Add(-time.Minute))}
}

func (f *fixture) claim(ms ...notification.Claimed) {
	f.store.EXPECT().ClaimMessages(gomock.Any(), f.nowMS(), claimBatch, gomock.Any(), "test", time.Minute).DoAndReturn(
		func(_ context.Context, _ int64, limit, perTenant int, _ string, _ time.Duration) ([]notification.Claimed, error) {
			if perTenant < 1 || perTenant > limit {
				f.t.Errorf("claim of %d takes %d per tenant", limit, perTenant)
			}
			return ms, nil
		})
}

func TestSendOnceDeliversUnderTheMessagesID(t *testing.T) {
	f := newFixture(t)
	ch := webhookChannel(3)
	m := notification.Claimed{ID: 42, TenantID: 7, ChannelID: 3, RuleID: 1, Kind: notification.MessageAlerts,
		Items: []notification.Item{f.item(1, 1, alert.NotifyFiring, "a"), f.item(2, 1, alert.NotifyResolved, "b")}}
	var ids []string
	for attempt := range 2 {
		f.claim(m)
		f.channels.EXPECT().GetChannel(gomock.Any(), int64(7), int64(3)).Return(ch, "sealed:whsec_x", nil)
		f.sealer.EXPECT().Open("sealed:whsec_x", aad).Return([]byte("whsec_x"), nil)
		f.deliver.EXPECT().Deliver(gomock.Any(), ch, "whsec_x", gomock.Any()).DoAndReturn(
			func(_ context.Context, _ notify.Channel, _ string, o notification.Outgoing) (notification.Result, error) {
				ids = append(ids, o.ID)
				if o.Kind != notification.MessageAlerts || o.Status != notify.NoticeFiring || o.TenantID != 7 ||
					o.ExternalURL != "https://pulse.example.com" || o.Digest != nil {
					t.Errorf("outgoing = %+v", o)
				}
				if len(o.Notifications) != 2 || o.Notifications[0].Instance != "host=a" || o.Notifications[1].Kind != alert.NotifyResolved {
					t.Errorf("notifications not decoded: %+v", o.Notifications)
				}
				return notification.Result{Delivered: true, Status: 200}, nil
			})
		f.store.EXPECT().Finish(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, out []notification.Outcome) error {
			want := notification.Outcome{MessageID: 42, Holder: "test", Status: notification.StatusSent, Attempts: attempt + 1,
				FirstAttempt: f.nowMS(), At: f.nowMS(), LastStatus: 200}
			if attempt == 1 {
				want.FirstAttempt = m.FirstAttemptAt
			}
			if !slices.Equal(out, []notification.Outcome{want}) {
				t.Errorf("outcomes = %+v, want %+v", out, want)
			}
			return nil
		})
		if n, err := f.svc.SendOnce(context.Background()); n != 1 || err != nil {
			t.Fatalf("SendOnce = %d, %v", n, err)
		}
		// A second attempt of the same message (its outcome was lost).
		m.Attempts, m.FirstAttemptAt = 1, f.nowMS()-5000
	}
	if !slices.Equal(ids, []string{"msg_42", "msg_42"}) {
		t.Errorf("ids = %v, want msg_42 on each attempt", ids)
	}
	if !slices.Equal(f.obs.delivered, []string{"webhook/sent", "webhook/sent"}) || len(f.obs.latency) != 2 || f.obs.latency[0] != time.Minute {
		t.Errorf("observed %v, latency %v", f.obs.delivered, f.obs.latency)
	}
}

func TestSendOnceRecordsEachOutcome(t *testing.T) {
	f := newFixture(t)
	now := f.nowMS()
	hour := time.Hour.Milliseconds()
	retry := func(attempts int, first int64, after time.Duration) int64 {
		at, dead := notify.NextAttempt(attempts, first, now, after, jitter)
		if dead {
			t.Fatalf("the test's retry is past the window")
		}
		return at
	}
	type answer struct {
		res notification.Result
		err error
	}
	cases := []struct {
		name    string
		m       notification.Claimed
		answer  answer
		want    notification.Outcome // MessageID, Holder and At are filled in
		errText string               // in LastError
	}{
		{name: "delivered: sent", m: notification.Claimed{Attempts: 0},
			answer: answer{res: notification.Result{Delivered: true, Status: 204}},
			want:   notification.Outcome{Status: notification.StatusSent, Attempts: 1, FirstAttempt: now, LastStatus: 204}},
		{name: "a 500: queued with backoff, the first attempt kept", m: notification.Claimed{Attempts: 2, FirstAttemptAt: now - hour},
			answer: answer{res: notification.Result{Retryable: true, Status: 500}},
			want: notification.Outcome{Status: notification.StatusQueued, Attempts: 3, FirstAttempt: now - hour,
				NextAttemptAt: now + 20_000, LastStatus: 500}, errText: "answered 500"},
		{name: "Retry-After is honoured", m: notification.Claimed{},
			answer: answer{res: notification.Result{Retryable: true, RetryAfter: 10 * time.Minute, Status: 429}},
			want: notification.Outcome{Status: notification.StatusQueued, Attempts: 1, FirstAttempt: now,
				NextAttemptAt: now + 600_000, LastStatus: 429}}, // not the 5 s backoff
		{name: "a 410 is final", m: notification.Claimed{Attempts: 1, FirstAttemptAt: now - 5000},
			answer:  answer{res: notification.Result{Status: 410, Answer: "gone: this hook was removed"}},
			want:    notification.Outcome{Status: notification.StatusDead, Attempts: 2, FirstAttempt: now - 5000, LastStatus: 410},
			errText: "gone: this hook was removed"},
		{name: "a refused URL is final", answer: answer{err: errors.New("egress: address refused")},
			want:    notification.Outcome{Status: notification.StatusDead, Attempts: 1, FirstAttempt: now},
			errText: "address refused"},
		{name: "a timeout is retried", answer: answer{res: notification.Result{Retryable: true}, err: errors.New("i/o timeout")},
			want: notification.Outcome{Status: notification.StatusQueued, Attempts: 1, FirstAttempt: now,
				NextAttemptAt: retry(1, now, 0)}, errText: "i/o timeout"},
		{name: "past the 24 h window: dead", m: notification.Claimed{Attempts: 40, FirstAttemptAt: now - 24*hour + 1000},
			answer: answer{res: notification.Result{Retryable: true, Status: 503}},
			want: notification.Outcome{Status: notification.StatusDead, Attempts: 41, FirstAttempt: now - 24*hour + 1000,
				LastStatus: 503}, errText: "gave up after 24h0m0s of retries: answered 503"},
		{name: "a deleted channel: dead", m: notification.Claimed{ChannelID: 4},
			want: notification.Outcome{Status: notification.StatusDead, Attempts: 1, FirstAttempt: now}, errText: "not found"},
		{name: "the channel store failing: queued", m: notification.Claimed{ChannelID: 5},
			want: notification.Outcome{Status: notification.StatusQueued, Attempts: 1, FirstAttempt: now,
				NextAttemptAt: retry(1, now, 0)}, errText: "connection refused"},
		{name: "a secret that does not open: dead", m: notification.Claimed{ChannelID: 6},
			want: notification.Outcome{Status: notification.StatusDead, Attempts: 1, FirstAttempt: now}, errText: "PULSE_SECRET_KEY"},
	}
	claimed := make([]notification.Claimed, len(cases))
	answers := map[string]answer{}
	for i, tc := range cases {
		m := tc.m
		m.ID, m.TenantID, m.RuleID, m.Kind = int64(i+1), 7, 1, notification.MessageAlerts
		m.ChannelID = max(m.ChannelID, 3)
		m.Items = []notification.Item{f.item(int64(i+1), 1, alert.NotifyFiring, "a")}
		claimed[i] = m
		answers[fmt.Sprint("msg_", m.ID)] = tc.answer
	}
	f.claim(claimed...)
	f.channels.EXPECT().GetChannel(gomock.Any(), int64(7), int64(3)).Return(webhookChannel(3), "", nil).AnyTimes()
	f.channels.EXPECT().GetChannel(gomock.Any(), int64(7), int64(4)).Return(notify.Channel{}, "", fmt.Errorf("channel: %w", notify.ErrNotFound))
	f.channels.EXPECT().GetChannel(gomock.Any(), int64(7), int64(5)).Return(notify.Channel{}, "", errDown)
	f.channels.EXPECT().GetChannel(gomock.Any(), int64(7), int64(6)).Return(webhookChannel(6), "v0:old key", nil)
	f.fakeSeal()
	f.deliver.EXPECT().Deliver(gomock.Any(), gomock.Any(), "", gomock.Any()).DoAndReturn(
		func(_ context.Context, _ notify.Channel, _ string, o notification.Outgoing) (notification.Result, error) {
			a := answers[o.ID]
			return a.res, a.err
		}).Times(7)
	f.store.EXPECT().Finish(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, out []notification.Outcome) error {
		if len(out) != len(cases) {
			t.Fatalf("%d outcomes for %d messages", len(out), len(cases))
		}
		for i, tc := range cases {
			got, want := out[i], tc.want
			want.MessageID, want.Holder, want.At, want.LastError = int64(i+1), "test", now, got.LastError
			if got != want {
				t.Errorf("%s: outcome\n got %+v\nwant %+v", tc.name, got, want)
			}
			if !strings.Contains(got.LastError, tc.errText) {
				t.Errorf("%s: last error %q, want it to contain %q", tc.name, got.LastError, tc.errText)
			}
		}
		return nil
	})
	if n, err := f.svc.SendOnce(context.Background()); n != len(cases) || err != nil {
		t.Fatalf("SendOnce = %d, %v", n, err)
	}
	got := slices.Clone(f.obs.delivered)
	slices.Sort(got)
	want := []string{"/dead", "/retry", "webhook/dead", "webhook/dead", "webhook/dead", "webhook/dead", "webhook/retry",
		"webhook/retry", "webhook/retry", "webhook/sent"}
	if !slices.Equal(got, want) {
		t.Errorf("observed %v, want one per attempt: %v", got, want)
	}
}

func TestSendOnceFoldsADigestAndTellsTheGroupsStatus(t *testing.T) {
	f := newFixture(t)
	digest := notification.Claimed{ID: 1, TenantID: 7, ChannelID: 3, Kind: notification.MessageDigest, Items: []notification.Item{
		f.item(1, 1, alert.NotifyFiring, "a"), f.item(2, 2, alert.NotifyFiring, "a"), f.item(3, 1, alert.NotifyFiring, "b"),
		{DeliveryID: 4, RuleID: 5, Kind: "firing", Payload: []byte("{")}}} // undecodable: still counted, by its rule
	resolved := notification.Claimed{ID: 2, TenantID: 7, ChannelID: 3, RuleID: 1, Kind: notification.MessageAlerts,
		Items: []notification.Item{f.item(5, 1, alert.NotifyResolved, "a"), f.item(6, 1, alert.NotifyResolved, "b")}}
	f.claim(digest, resolved)
	f.channels.EXPECT().GetChannel(gomock.Any(), int64(7), int64(3)).Return(webhookChannel(3), "", nil).MinTimes(1) // once per batch, or per message
	var mu sync.Mutex
	got := map[string]notification.Outgoing{}
	f.deliver.EXPECT().Deliver(gomock.Any(), gomock.Any(), "", gomock.Any()).DoAndReturn(
		func(_ context.Context, _ notify.Channel, _ string, o notification.Outgoing) (notification.Result, error) {
			mu.Lock()
			defer mu.Unlock()
			got[o.ID] = o
			return notification.Result{Delivered: true}, nil
		}).Times(2)
	f.store.EXPECT().Finish(gomock.Any(), gomock.Len(2)).Return(nil)
	if _, err := f.svc.SendOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := got["msg_1"]
	if d.Kind != notification.MessageDigest || d.Digest == nil || len(d.Notifications) != 4 || d.Status != notify.NoticeFiring {
		t.Fatalf("digest = %+v", d)
	}
	want := []notify.RuleCount{{RuleID: 1, Rule: "rule 1", N: 2}, {RuleID: 2, Rule: "rule 2", N: 1}, {RuleID: 5, Rule: "rule 5", N: 1}}
	if d.Digest.Count != 4 || !slices.Equal(d.Digest.ByRule, want) {
		t.Errorf("digest counts = %+v, want 4: %+v", d.Digest, want)
	}
	if r := got["msg_2"]; r.Status != notify.NoticeResolved || r.Digest != nil {
		t.Errorf("a group of resolved notices = %+v, want status resolved", r)
	}
}

func TestSendOnceWithNothingDueRecordsNothing(t *testing.T) {
	f := newFixture(t)
	f.claim()
	if n, err := f.svc.SendOnce(context.Background()); n != 0 || err != nil {
		t.Errorf("SendOnce = %d, %v", n, err)
	}
}
