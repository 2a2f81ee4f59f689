package notification_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/alerting"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

func TestCreateSilenceDefaults(t *testing.T) {
	hour := time.Hour.Milliseconds()
	cases := []struct {
		name                 string
		start, end           int64 // given, past now; 0 none
		wantStart, wantEnded int64 // past now
	}{
		{"from now, for an hour", 0, 0, 0, hour},
		{"an hour from its start", 2 * hour, 0, 2 * hour, 3 * hour},
		{"as given", 2 * hour, 5 * hour, 2 * hour, 5 * hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			now := f.nowMS()
			in := notify.Silence{ID: 5, TenantID: 99, RuleID: 1, CreatedBy: "mallory", CreatedAt: 1} // the use case sets these
			if tc.start != 0 {
				in.StartsAt = now + tc.start
			}
			if tc.end != 0 {
				in.EndsAt = now + tc.end
			}
			f.store.EXPECT().CreateSilence(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, s notify.Silence) (notify.Silence, error) {
				if s.ID != 0 || s.TenantID != 7 || s.CreatedBy != "ana" || s.CreatedAt != now ||
					s.StartsAt != now+tc.wantStart || s.EndsAt != now+tc.wantEnded {
					t.Errorf("stored %+v; want tenant 7 by ana at %d, from now+%d to now+%d", s, now, tc.wantStart, tc.wantEnded)
				}
				s.ID = 1
				return s, nil
			})
			if s, err := f.svc.CreateSilence(context.Background(), admin, in); err != nil || s.ID != 1 {
				t.Errorf("CreateSilence = %+v, %v", s, err)
			}
		})
	}
}

func TestCreateSilenceValidates(t *testing.T) {
	cases := []struct {
		name  string
		in    notify.Silence
		field string
	}{
		{"neither a rule nor a matcher", notify.Silence{}, "matchers"},
		{"a regex that does not compile", notify.Silence{Matchers: alert.Matchers{{Tag: "host", Op: alert.MatchRegexp, Value: "(a"}}}, "matchers[0]"},
		{"an end before the start", notify.Silence{RuleID: 1, StartsAt: 2000, EndsAt: 1000}, "ends_at"},
		{"longer than a year", notify.Silence{RuleID: 1, StartsAt: 1000, EndsAt: 1000 + 367*24*3600e3}, "ends_at"},
		{"a negative rule", notify.Silence{RuleID: -1}, "rule_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t) // nothing stored
			_, err := f.svc.CreateSilence(context.Background(), admin, tc.in)
			var ie *notify.InvalidSilenceError
			if !errors.As(err, &ie) || ie.Fields[tc.field] == "" {
				t.Errorf("err = %v, want %s invalid", err, tc.field)
			}
		})
	}
}

func TestSilenceWritesNeedAnAdmin(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.svc.CreateSilence(ctx, viewer, notify.Silence{RuleID: 1}); !errors.Is(err, token.ErrForbidden) {
		t.Errorf("create: %v", err)
	}
	if err := f.svc.EndSilence(ctx, viewer, 1); !errors.Is(err, token.ErrForbidden) {
		t.Errorf("end: %v", err)
	}
	// Reading is anyone's; ending is now.
	f.store.EXPECT().ListSilences(gomock.Any(), int64(7), true, f.nowMS()).Return(nil, nil)
	if _, err := f.svc.ListSilences(ctx, viewer, true); err != nil {
		t.Error(err)
	}
	f.store.EXPECT().EndSilence(gomock.Any(), int64(7), int64(1), f.nowMS()).Return(nil)
	if err := f.svc.EndSilence(ctx, admin, 1); err != nil {
		t.Error(err)
	}
}

// A silence may name only its own tenant's rules: another tenant's rule id
// (or none at all) is a 422 on rule_id, and nothing is stored.
func TestCreateSilenceNeedsTheTenantsRule(t *testing.T) {
	ctrl := gomock.NewController(t)
	store := NewMockStore(ctrl) // no CreateSilence expected for the refusals
	var asked []int64
	svc := notification.New(store, NewMockChannels(ctrl), NewMockSealer(ctrl), NewMockLeases(ctrl), NewMockDeliverer(ctrl),
		func() time.Time { return time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC) },
		notification.Options{RuleExists: func(_ context.Context, tenantID, ruleID int64) error {
			asked = append(asked, tenantID, ruleID)
			switch ruleID {
			case 1:
				return nil
			case 2:
				return fmt.Errorf("rule %d: %w", ruleID, alerting.ErrNotFound)
			}
			return errors.New("database down")
		}})
	var bad *notify.InvalidSilenceError
	if _, err := svc.CreateSilence(context.Background(), admin, notify.Silence{RuleID: 2}); !errors.As(err, &bad) || bad.Fields["rule_id"] == "" {
		t.Errorf("another tenant's rule: %v", err)
	}
	if _, err := svc.CreateSilence(context.Background(), admin, notify.Silence{RuleID: 3}); err == nil || errors.As(err, &bad) {
		t.Errorf("a failing lookup: %v, want the store's error, not a 422", err)
	}
	store.EXPECT().CreateSilence(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, s notify.Silence) (notify.Silence, error) { return s, nil })
	if _, err := svc.CreateSilence(context.Background(), admin, notify.Silence{RuleID: 1}); err != nil {
		t.Errorf("its own rule: %v", err)
	}
	if want := []int64{7, 2, 7, 3, 7, 1}; !slices.Equal(asked, want) {
		t.Errorf("looked up (tenant, rule) %v, want %v", asked, want)
	}
}
