package notification_test

import (
	"context"
	"errors"
	"testing"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

func TestListMessagesRefusesABadFilter(t *testing.T) {
	f := newFixture(t) // no store call
	for _, bad := range []notification.MessageFilter{{Status: "lost"}, {Status: "SENT"}, {Cursor: -1}} {
		if _, _, err := f.svc.ListMessages(context.Background(), viewer, bad); !errors.Is(err, notification.ErrInvalid) {
			t.Errorf("%+v: err = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestListMessagesBoundsTheLimit(t *testing.T) {
	for limit, want := range map[int]int{0: 100, -5: 100, 1: 1, 50: 50, notification.MaxPage: notification.MaxPage, notification.MaxPage + 1: 100} {
		f := newFixture(t)
		in := notification.MessageFilter{Status: notification.StatusDead, ChannelID: 3, RuleID: 1, Cursor: 77, Limit: limit}
		out := in
		out.Limit = want
		f.store.EXPECT().ListMessages(gomock.Any(), int64(7), out).Return([]notification.MessageRow{{ID: 76}}, int64(76), nil)
		rows, next, err := f.svc.ListMessages(context.Background(), viewer, in)
		if err != nil || len(rows) != 1 || next != 76 {
			t.Errorf("limit %d: %v, %d, %v", limit, rows, next, err)
		}
	}
}

func TestMessageNotifications(t *testing.T) {
	f := newFixture(t)
	f.store.EXPECT().MessageItems(gomock.Any(), int64(7), int64(1)).Return(nil, nil)
	if _, err := f.svc.MessageNotifications(context.Background(), viewer, 1); !errors.Is(err, notify.ErrMessageNotFound) {
		t.Errorf("no items: %v, want not found", err)
	}
	f.store.EXPECT().MessageItems(gomock.Any(), int64(7), int64(2)).Return([]notification.Item{
		{RuleID: 1, Kind: "firing", Payload: payload(1, alert.NotifyFiring, "a", f.now)},
		{RuleID: 4, Kind: "resolved", Payload: []byte("not json")}}, nil)
	ns, err := f.svc.MessageNotifications(context.Background(), viewer, 2)
	if err != nil || len(ns) != 2 || ns[0].Instance != "host=a" || ns[1].Rule != "rule 4" || ns[1].Kind != alert.NotifyResolved {
		t.Errorf("notifications = %+v, %v", ns, err)
	}
}

func TestRetryNeedsAnAdmin(t *testing.T) {
	f := newFixture(t)
	if err := f.svc.Retry(context.Background(), viewer, 9); !errors.Is(err, token.ErrForbidden) {
		t.Errorf("viewer: %v", err)
	}
	f.store.EXPECT().Requeue(gomock.Any(), int64(7), int64(9), f.nowMS()).Return(nil)
	if err := f.svc.Retry(context.Background(), admin, 9); err != nil {
		t.Errorf("admin: %v", err)
	}
}

func TestSetPerMinuteBounds(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.svc.SetPerMinute(ctx, viewer, 20); !errors.Is(err, token.ErrForbidden) {
		t.Errorf("viewer: %v", err)
	}
	for _, bad := range []int{-1, notification.MaxPerMinute + 1} {
		if err := f.svc.SetPerMinute(ctx, admin, bad); !errors.Is(err, notification.ErrInvalid) {
			t.Errorf("%d: %v, want ErrInvalid", bad, err)
		}
	}
	for _, ok := range []int{0, 1, notification.MaxPerMinute} {
		f.store.EXPECT().SetPerMinute(gomock.Any(), int64(7), ok).Return(nil)
		if err := f.svc.SetPerMinute(ctx, admin, ok); err != nil {
			t.Errorf("%d: %v", ok, err)
		}
	}
}

func TestPerMinuteIsTheOverrideOrTheDefault(t *testing.T) {
	f := newFixture(t)
	f.store.EXPECT().PerMinute(gomock.Any(), []int64{7}).Return(map[int64]int{}, nil)
	if n, err := f.svc.PerMinute(context.Background(), viewer); n != notify.DefaultPerMinute || err != nil {
		t.Errorf("no override: %d, %v", n, err)
	}
	f.store.EXPECT().PerMinute(gomock.Any(), []int64{7}).Return(map[int64]int{7: 30}, nil)
	if n, err := f.svc.PerMinute(context.Background(), viewer); n != 30 || err != nil {
		t.Errorf("override: %d, %v", n, err)
	}
}
