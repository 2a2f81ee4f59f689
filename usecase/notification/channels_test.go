package notification_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/adapter/notify/secretbox"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

func TestCreateWebhookChannelSealsANewSecretShownOnce(t *testing.T) {
	f := newFixture(t)
	in := webhookChannel(0)
	in.TenantID, in.ID, in.Name, in.Kind = 99, 5, "  Ops hook ", "Webhook" // the actor's tenant wins; normalized
	f.deliver.EXPECT().Check(gomock.Any(), webhookSecret).DoAndReturn(func(c notify.Channel, _ string) error {
		if c.TenantID != 7 || c.ID != 0 || c.Kind != notify.KindWebhook || c.Name != "Ops hook" {
			t.Errorf("checked %+v", c)
		}
		return nil
	})
	f.sealer.EXPECT().Seal([]byte(webhookSecret), aad).Return("v1:sealed-by-the-box", nil)
	f.channels.EXPECT().CreateChannel(gomock.Any(), gomock.Any(), "v1:sealed-by-the-box", f.nowMS()).DoAndReturn(
		func(_ context.Context, c notify.Channel, _ string, _ int64) (notify.Channel, error) {
			if c.TenantID != 7 || c.ID != 0 {
				t.Errorf("stored for tenant %d id %d, want 7, 0", c.TenantID, c.ID)
			}
			c.ID = 3
			return c, nil
		})
	f.sealer.EXPECT().Open("v1:sealed-by-the-box", aad).Return([]byte(webhookSecret), nil)
	v, shownOnce, err := f.svc.CreateChannel(context.Background(), admin, notification.ChannelInput{Channel: in})
	if err != nil {
		t.Fatal(err)
	}
	if shownOnce != webhookSecret || v.ID != 3 || !v.SecretSet || v.SecretHint != secretbox.Mask(webhookSecret) {
		t.Errorf("view %+v, shown once %q", v, shownOnce)
	}
	if s := fmt.Sprintf("%+v %#v", v, v); strings.Contains(s, webhookSecret) || strings.Contains(s, "0123456789ab") {
		t.Errorf("the view shows the secret: %s", s)
	}
}

func TestCreateChannelWithARealBoxBindsTheSecretToTheTenant(t *testing.T) {
	ctrl := gomock.NewController(t)
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	channels, deliver := NewMockChannels(ctrl), NewMockDeliverer(ctrl)
	svc := notification.New(NewMockStore(ctrl), channels, box, NewMockLeases(ctrl), deliver,
		func() time.Time { return time.UnixMilli(1000) }, notification.Options{Mask: secretbox.Mask})
	var sealed string
	deliver.EXPECT().Check(gomock.Any(), "smtp-password-1").Return(nil)
	channels.EXPECT().CreateChannel(gomock.Any(), gomock.Any(), gomock.Any(), int64(1000)).DoAndReturn(
		func(_ context.Context, c notify.Channel, s string, _ int64) (notify.Channel, error) {
			sealed = s
			return c, nil
		})
	secret := "smtp-password-1"
	v, shownOnce, err := svc.CreateChannel(context.Background(), admin, notification.ChannelInput{Channel: emailChannel(0), Secret: &secret})
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := box.Open(sealed, aad); err != nil || string(plain) != secret || strings.Contains(sealed, secret) {
		t.Errorf("stored %q opens with tenant 7's aad to %q, %v", sealed, plain, err)
	}
	if _, err := box.Open(sealed, []byte("pulse/notification-channel/8")); err == nil {
		t.Error("the sealed secret opens for another tenant")
	}
	if shownOnce != "" || v.SecretHint != "••••rd-1" {
		t.Errorf("view %+v, shown once %q", v, shownOnce)
	}
}

func TestCreateSlackChannelNeedsItsURL(t *testing.T) {
	f := newFixture(t)
	c := notify.Defaults()
	c.Name, c.Kind, c.Slack = "slack", notify.KindSlack, &notify.SlackSettings{}
	_, _, err := f.svc.CreateChannel(context.Background(), admin, notification.ChannelInput{Channel: c})
	var ie *notify.InvalidChannelError
	if !errors.As(err, &ie) || ie.Fields["slack.url"] == "" {
		t.Errorf("err = %v, want an invalid slack.url", err)
	}
}

func TestCreateChannelRefusedByTheDelivererIsNotStored(t *testing.T) {
	f := newFixture(t) // no Seal, no CreateChannel
	refused := &notify.InvalidChannelError{Fields: notify.FieldErrors{"email.host": "plain SMTP to this host is not allowed"}}
	f.deliver.EXPECT().Check(gomock.Any(), "pw").Return(refused)
	secret := "pw"
	_, _, err := f.svc.CreateChannel(context.Background(), admin, notification.ChannelInput{Channel: emailChannel(0), Secret: &secret})
	if !errors.Is(err, refused) {
		t.Errorf("err = %v, want the deliverer's refusal", err)
	}
}

func TestChannelWritesNeedAnAdmin(t *testing.T) {
	f := newFixture(t) // no port call expected
	ctx := context.Background()
	in := notification.ChannelInput{Channel: webhookChannel(0)}
	_, _, errCreate := f.svc.CreateChannel(ctx, viewer, in)
	_, _, errUpdate := f.svc.UpdateChannel(ctx, viewer, 3, in)
	_, errTest := f.svc.TestChannel(ctx, viewer, 3)
	for name, err := range map[string]error{"create": errCreate, "update": errUpdate, "test": errTest,
		"delete": f.svc.DeleteChannel(ctx, viewer, 3)} {
		if !errors.Is(err, token.ErrForbidden) {
			t.Errorf("%s: %v, want forbidden", name, err)
		}
	}
}

func TestUpdateChannelSecrets(t *testing.T) {
	str := func(s string) *string { return &s }
	cases := []struct {
		name      string
		old       notify.Channel
		oldSealed string
		in        notification.ChannelInput
		stored    string // sealed
		shownOnce string
	}{
		{"no secret given: the stored one stays", emailChannel(3), "sealed:pw-old",
			notification.ChannelInput{Channel: emailChannel(3)}, "sealed:pw-old", ""},
		{"a secret given replaces it", emailChannel(3), "sealed:pw-old",
			notification.ChannelInput{Channel: emailChannel(3), Secret: str("pw-new")}, "sealed:pw-new", ""},
		{"a secret given replaces one that no longer opens", emailChannel(3), "v0:sealed under another key",
			notification.ChannelInput{Channel: emailChannel(3), Secret: str("pw-new")}, "sealed:pw-new", ""},
		{"a webhook keeps its signing secret", webhookChannel(3), "sealed:whsec_old",
			notification.ChannelInput{Channel: webhookChannel(3), Secret: str("ignored")}, "sealed:whsec_old", ""},
		{"RotateSecret makes a new webhook secret", webhookChannel(3), "sealed:whsec_old",
			notification.ChannelInput{Channel: webhookChannel(3), RotateSecret: true}, "sealed:" + webhookSecret, webhookSecret},
		{"RotateSecret replaces one that no longer opens", webhookChannel(3), "v0:sealed under another key",
			notification.ChannelInput{Channel: webhookChannel(3), RotateSecret: true}, "sealed:" + webhookSecret, webhookSecret},
		{"a channel becoming a webhook gets a new secret", emailChannel(3), "sealed:pw-old",
			notification.ChannelInput{Channel: webhookChannel(3)}, "sealed:" + webhookSecret, webhookSecret},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.fakeSeal()
			tc.old.CreatedAt = 1234
			f.channels.EXPECT().GetChannel(gomock.Any(), int64(7), int64(3)).Return(tc.old, tc.oldSealed, nil)
			plain := strings.TrimPrefix(tc.stored, "sealed:")
			f.deliver.EXPECT().Check(gomock.Any(), plain).Return(nil)
			f.channels.EXPECT().UpdateChannel(gomock.Any(), gomock.Any(), tc.stored, f.nowMS()).DoAndReturn(
				func(_ context.Context, c notify.Channel, _ string, _ int64) error {
					if c.ID != 3 || c.TenantID != 7 || c.CreatedAt != 1234 || c.Kind != tc.in.Channel.Kind {
						t.Errorf("updated %+v", c)
					}
					return nil
				})
			v, shownOnce, err := f.svc.UpdateChannel(context.Background(), admin, 3, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if shownOnce != tc.shownOnce || v.SecretHint != secretbox.Mask(plain) || v.UpdatedAt != f.nowMS() {
				t.Errorf("view %+v, shown once %q; want %q", v, shownOnce, tc.shownOnce)
			}
		})
	}
}

func TestUpdateChannelKeepingASecretThatDoesNotOpenFails(t *testing.T) {
	f := newFixture(t) // nothing stored
	f.fakeSeal()
	f.channels.EXPECT().GetChannel(gomock.Any(), int64(7), int64(3)).Return(emailChannel(3), "v0:sealed under another key", nil)
	_, _, err := f.svc.UpdateChannel(context.Background(), admin, 3, notification.ChannelInput{Channel: emailChannel(3)})
	if !errors.Is(err, secretbox.ErrOpen) {
		t.Errorf("err = %v, want the secret that does not open", err)
	}
}

func TestTestChannelSendsATestMessage(t *testing.T) {
	f := newFixture(t)
	f.fakeSeal()
	ch := emailChannel(3)
	f.channels.EXPECT().GetChannel(gomock.Any(), int64(7), int64(3)).Return(ch, "sealed:pw", nil).Times(2)
	answer := notification.Result{Delivered: true, Status: 250, Answer: "250 2.0.0 queued"}
	f.deliver.EXPECT().Deliver(gomock.Any(), ch, "pw", gomock.Any()).DoAndReturn(
		func(_ context.Context, _ notify.Channel, _ string, o notification.Outgoing) (notification.Result, error) {
			if o.Kind != "test" || o.Status != notify.NoticeFiring || o.TenantID != 7 || len(o.Notifications) != 1 ||
				!strings.Contains(o.Notifications[0].Annotations["summary"], ch.Name) {
				t.Errorf("test message = %+v", o)
			}
			f.now = f.now.Add(1500 * time.Millisecond)
			return answer, nil
		})
	got, err := f.svc.TestChannel(context.Background(), admin, 3)
	if err != nil || got.Result != answer || got.Error != "" || got.Took != 1500*time.Millisecond {
		t.Errorf("TestChannel = %+v, %v", got, err)
	}
	f.deliver.EXPECT().Deliver(gomock.Any(), ch, "pw", gomock.Any()).Return(notification.Result{Retryable: true}, errors.New("dial tcp: i/o timeout"))
	got, err = f.svc.TestChannel(context.Background(), admin, 3)
	if err != nil || got.Error != "dial tcp: i/o timeout" || !got.Retryable {
		t.Errorf("a failed test = %+v, %v; want the failure told, no error", got, err)
	}
}

// A Slack channel is stored with the key of its URL (Slack's limit is per
// URL), never the URL: the URL is only sealed.
func TestCreateSlackChannelKeysItsURL(t *testing.T) {
	f := newFixture(t)
	url := "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"
	c := notify.Defaults()
	c.Name, c.Kind, c.Slack = "slack", notify.KindSlack, &notify.SlackSettings{}
	f.deliver.EXPECT().Check(gomock.Any(), url).Return(nil)
	f.sealer.EXPECT().Seal([]byte(url), gomock.Any()).Return("v1:sealed-url", nil)
	f.channels.EXPECT().CreateChannel(gomock.Any(), gomock.Any(), "v1:sealed-url", f.nowMS()).DoAndReturn(
		func(_ context.Context, got notify.Channel, _ string, _ int64) (notify.Channel, error) {
			if got.Slack == nil || got.Slack.URLKey != notify.SlackURLKey(url) || strings.Contains(fmt.Sprintf("%+v", *got.Slack), "hooks.slack") {
				t.Errorf("stored Slack settings %+v, want only the URL's key", got.Slack)
			}
			got.ID = 5
			return got, nil
		})
	f.sealer.EXPECT().Open("v1:sealed-url", gomock.Any()).Return([]byte(url), nil).AnyTimes()
	if _, _, err := f.svc.CreateChannel(context.Background(), admin, notification.ChannelInput{Channel: c, Secret: &url}); err != nil {
		t.Fatal(err)
	}
	if c.Slack.URLKey != "" {
		t.Errorf("the caller's settings were changed: %+v", c.Slack)
	}
}
