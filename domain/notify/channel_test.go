package notify_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/notify"
)

func emailChannel() notify.Channel {
	c := notify.Defaults()
	c.Name, c.Kind = "ops mail", notify.KindEmail
	c.Email = &notify.EmailSettings{Host: "smtp.example.com", Port: 587, Username: "pulse",
		To: []string{"ops@example.com", "On Call <oncall@example.com>"}, From: "pulse@example.com"}
	return c
}

func webhookChannel() notify.Channel {
	c := notify.Defaults()
	c.Name, c.Kind = "hook", notify.KindWebhook
	c.Webhook = &notify.WebhookSettings{URL: "https://hooks.example.com/pulse?x=1"}
	return c
}

func slackChannel() notify.Channel {
	c := notify.Defaults()
	c.Name, c.Kind = "slack", notify.KindSlack
	c.Slack = &notify.SlackSettings{}
	return c
}

func TestDefaults(t *testing.T) {
	c := notify.Defaults()
	if !c.SendResolved || c.GroupWait != 10*time.Second || c.RepeatInterval != 4*time.Hour {
		t.Fatalf("Defaults() = %+v", c)
	}
}

func TestNormalize(t *testing.T) {
	in := notify.Channel{Name: "  ops  ", Kind: " Email ",
		Email: &notify.EmailSettings{Host: " smtp.example.com ", Port: 25, To: []string{" a@example.com "}, From: " b@example.com "}}
	got := in.Normalize()
	if got.Name != "ops" || got.Kind != notify.KindEmail || got.RepeatInterval != notify.DefaultRepeatInterval {
		t.Errorf("Normalize: %+v", got)
	}
	want := notify.EmailSettings{Host: "smtp.example.com", Port: 25, Security: notify.SecuritySTARTTLS, Auth: notify.AuthPlain, To: []string{"a@example.com"}, From: "b@example.com"}
	if !reflect.DeepEqual(*got.Email, want) {
		t.Errorf("Normalize email = %+v, want %+v", *got.Email, want)
	}
	if in.Email.Host != " smtp.example.com " || in.Email.To[0] != " a@example.com " {
		t.Errorf("Normalize changed its input's settings: %+v", *in.Email)
	}
	if got.Validate() != nil {
		t.Errorf("normalized channel invalid: %v", got.Validate())
	}
	// A group_wait of 0 is a value, not "unset"; security keeps what is given.
	c := emailChannel()
	c.GroupWait, c.Email.Security = 0, "TLS"
	if n := c.Normalize(); n.GroupWait != 0 || n.Email.Security != notify.SecurityTLS {
		t.Errorf("Normalize: group_wait %s security %q", n.GroupWait, n.Email.Security)
	}
	w := notify.Channel{Kind: "webhook", Webhook: &notify.WebhookSettings{URL: " http://h/ "}}.Normalize()
	if w.Webhook.URL != "http://h/" {
		t.Errorf("webhook url %q", w.Webhook.URL)
	}
	if e := (notify.Channel{Email: &notify.EmailSettings{}}).Normalize(); e.Email.To == nil {
		t.Error("Normalize left To nil")
	}
}

func TestValidateValid(t *testing.T) {
	for name, c := range map[string]notify.Channel{
		"email": emailChannel(), "webhook": webhookChannel(), "slack": slackChannel(),
	} {
		c = c.Normalize()
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidateFields(t *testing.T) {
	long := strings.Repeat("é", notify.MaxNameLen) // characters, not bytes
	tos := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "a@example.com"
		}
		return out
	}
	cases := []struct {
		name  string
		base  func() notify.Channel
		edit  func(c *notify.Channel)
		field string // "" when valid
	}{
		{"name empty", emailChannel, func(c *notify.Channel) { c.Name = "" }, "name"},
		{"name 200 characters", emailChannel, func(c *notify.Channel) { c.Name = long }, ""},
		{"name 201 characters", emailChannel, func(c *notify.Channel) { c.Name = long + "x" }, "name"},
		{"name invalid utf-8", emailChannel, func(c *notify.Channel) { c.Name = "a\xff" }, "name"},
		{"kind empty", emailChannel, func(c *notify.Channel) { c.Kind = "" }, "kind"},
		{"kind unknown", emailChannel, func(c *notify.Channel) { c.Kind = "pager" }, "kind"},
		{"email settings missing", emailChannel, func(c *notify.Channel) { c.Email = nil }, "email"},
		{"webhook settings on email", emailChannel, func(c *notify.Channel) { c.Webhook = &notify.WebhookSettings{URL: "https://h/"} }, "webhook"},
		{"slack settings on email", emailChannel, func(c *notify.Channel) { c.Slack = &notify.SlackSettings{} }, "slack"},
		{"webhook settings missing", webhookChannel, func(c *notify.Channel) { c.Webhook = nil }, "webhook"},
		{"email settings on webhook", webhookChannel, func(c *notify.Channel) { c.Email = emailChannel().Normalize().Email }, "email"},
		{"slack settings missing", slackChannel, func(c *notify.Channel) { c.Slack = nil }, "slack"},
		{"webhook settings on slack", slackChannel, func(c *notify.Channel) { c.Webhook = &notify.WebhookSettings{URL: "https://h/"} }, "webhook"},
		{"host empty", emailChannel, func(c *notify.Channel) { c.Email.Host = "" }, "email.host"},
		{"host with a space", emailChannel, func(c *notify.Channel) { c.Email.Host = "smtp example.com" }, "email.host"},
		{"host too long", emailChannel, func(c *notify.Channel) { c.Email.Host = strings.Repeat("h", 256) }, "email.host"},
		{"host ip", emailChannel, func(c *notify.Channel) { c.Email.Host = "192.0.2.1" }, ""},
		{"port 0", emailChannel, func(c *notify.Channel) { c.Email.Port = 0 }, "email.port"},
		{"port 1", emailChannel, func(c *notify.Channel) { c.Email.Port = 1 }, ""},
		{"port 65535", emailChannel, func(c *notify.Channel) { c.Email.Port = 65535 }, ""},
		{"port 65536", emailChannel, func(c *notify.Channel) { c.Email.Port = 65536 }, "email.port"},
		{"port negative", emailChannel, func(c *notify.Channel) { c.Email.Port = -1 }, "email.port"},
		{"security tls", emailChannel, func(c *notify.Channel) { c.Email.Security = "tls" }, ""},
		{"security plain", emailChannel, func(c *notify.Channel) { c.Email.Security = "plain" }, ""},
		{"security unknown", emailChannel, func(c *notify.Channel) { c.Email.Security = "ssl" }, "email.security"},
		{"username empty", emailChannel, func(c *notify.Channel) { c.Email.Username = "" }, ""},
		{"username newline", emailChannel, func(c *notify.Channel) { c.Email.Username = "a\nb" }, "email.username"},
		{"username too long", emailChannel, func(c *notify.Channel) { c.Email.Username = strings.Repeat("u", 256) }, "email.username"},
		{"to empty", emailChannel, func(c *notify.Channel) { c.Email.To = nil }, "email.to"},
		{"to 50", emailChannel, func(c *notify.Channel) { c.Email.To = tos(50) }, ""},
		{"to 51", emailChannel, func(c *notify.Channel) { c.Email.To = tos(51) }, "email.to"},
		{"to not an address", emailChannel, func(c *notify.Channel) { c.Email.To[1] = "oncall" }, "email.to[1]"},
		{"to blank", emailChannel, func(c *notify.Channel) { c.Email.To[0] = "" }, "email.to[0]"},
		{"to two addresses", emailChannel, func(c *notify.Channel) { c.Email.To[0] = "a@example.com, b@example.com" }, "email.to[0]"},
		{"to header injection", emailChannel, func(c *notify.Channel) { c.Email.To[0] = "a@example.com\r\nBcc: x@example.com" }, "email.to[0]"},
		{"from empty", emailChannel, func(c *notify.Channel) { c.Email.From = "" }, "email.from"},
		{"from display name", emailChannel, func(c *notify.Channel) { c.Email.From = "Pulse <pulse@example.com>" }, ""},
		{"from not an address", emailChannel, func(c *notify.Channel) { c.Email.From = "pulse@" }, "email.from"},
		{"url http", webhookChannel, func(c *notify.Channel) { c.Webhook.URL = "http://10.0.0.1:8080/x" }, ""},
		{"url empty", webhookChannel, func(c *notify.Channel) { c.Webhook.URL = "" }, "webhook.url"},
		{"url relative", webhookChannel, func(c *notify.Channel) { c.Webhook.URL = "/hook" }, "webhook.url"},
		{"url no host", webhookChannel, func(c *notify.Channel) { c.Webhook.URL = "https:///hook" }, "webhook.url"},
		{"url ftp", webhookChannel, func(c *notify.Channel) { c.Webhook.URL = "ftp://h/hook" }, "webhook.url"},
		{"url opaque", webhookChannel, func(c *notify.Channel) { c.Webhook.URL = "https:h" }, "webhook.url"},
		{"url unparsable", webhookChannel, func(c *notify.Channel) { c.Webhook.URL = "https://h/%zz" }, "webhook.url"},
		{"url with credentials", webhookChannel, func(c *notify.Channel) { c.Webhook.URL = "https://u:p@h/hook" }, "webhook.url"},
		{"url too long", webhookChannel, func(c *notify.Channel) { c.Webhook.URL = "https://h/" + strings.Repeat("a", 2048) }, "webhook.url"},
		{"group_wait 0", emailChannel, func(c *notify.Channel) { c.GroupWait = 0 }, ""},
		{"group_wait 1h", emailChannel, func(c *notify.Channel) { c.GroupWait = time.Hour }, ""},
		{"group_wait over 1h", emailChannel, func(c *notify.Channel) { c.GroupWait = time.Hour + time.Second }, "group_wait"},
		{"group_wait negative", emailChannel, func(c *notify.Channel) { c.GroupWait = -time.Second }, "group_wait"},
		{"group_wait fraction", emailChannel, func(c *notify.Channel) { c.GroupWait = 1500 * time.Millisecond }, "group_wait"},
		{"repeat_interval 1m", emailChannel, func(c *notify.Channel) { c.RepeatInterval = time.Minute }, ""},
		{"repeat_interval 7d", emailChannel, func(c *notify.Channel) { c.RepeatInterval = 7 * 24 * time.Hour }, ""},
		{"repeat_interval under 1m", emailChannel, func(c *notify.Channel) { c.RepeatInterval = 59 * time.Second }, "repeat_interval"},
		{"repeat_interval over 7d", emailChannel, func(c *notify.Channel) { c.RepeatInterval = 7*24*time.Hour + time.Second }, "repeat_interval"},
		{"repeat_interval fraction", emailChannel, func(c *notify.Channel) { c.RepeatInterval = time.Minute + time.Millisecond }, "repeat_interval"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.base().Normalize()
			tc.edit(&c)
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			var inv *notify.InvalidChannelError
			if !errors.As(err, &inv) {
				t.Fatalf("Validate: %v, want *InvalidChannelError", err)
			}
			if _, ok := inv.Fields[tc.field]; !ok || len(inv.Fields) != 1 {
				t.Errorf("Validate fields %v, want exactly %q", inv.Fields, tc.field)
			}
		})
	}
}

// Validate lists every bad field at once, by JSON name, in a stable message.
func TestValidateListsEveryField(t *testing.T) {
	c := notify.Channel{Kind: notify.KindEmail, GroupWait: -1, RepeatInterval: time.Second,
		Email: &notify.EmailSettings{Port: 70000, Security: "x", To: []string{"nope"}, From: "nope"}}
	err := c.Validate()
	var inv *notify.InvalidChannelError
	if !errors.As(err, &inv) {
		t.Fatalf("Validate: %v", err)
	}
	want := []string{"name", "email.host", "email.port", "email.security", "email.to[0]", "email.from", "group_wait", "repeat_interval"}
	for _, f := range want {
		if _, ok := inv.Fields[f]; !ok {
			t.Errorf("missing field %q in %v", f, inv.Fields)
		}
	}
	if len(inv.Fields) != len(want) {
		t.Errorf("fields %v, want %v", inv.Fields, want)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "invalid notification channel: email.from: ") || msg != inv.Error() {
		t.Errorf("message %q", msg)
	}
}

func TestEmailAuth(t *testing.T) {
	c := notify.Defaults()
	c.Name, c.Kind = "mail", notify.KindEmail
	c.Email = &notify.EmailSettings{Host: "smtp.example.com", Port: 587, Auth: " LOGIN ", To: []string{"a@example.com"}, From: "b@example.com"}
	if err := c.Normalize().Validate(); err != nil || c.Normalize().Email.Auth != notify.AuthLogin {
		t.Fatalf("login: %v %+v", err, c.Normalize().Email)
	}
	c.Email.Auth = "cram-md5"
	var bad *notify.InvalidChannelError
	if err := c.Normalize().Validate(); !errors.As(err, &bad) || bad.Fields["email.auth"] == "" {
		t.Fatalf("cram-md5 accepted: %v", err)
	}
}

// Bytes that are not UTF-8 are refused in every text setting: stored and
// shown as JSON they would come back as U+FFFD, another value.
func TestInvalidUTF8Refused(t *testing.T) {
	mail := func(mut func(*notify.EmailSettings)) notify.Channel {
		c := notify.Defaults()
		c.Name, c.Kind = "m", notify.KindEmail
		c.Email = &notify.EmailSettings{Host: "smtp.example.com", Port: 587, Username: "u", To: []string{"a@example.com"}, From: "b@example.com"}
		mut(c.Email)
		return c.Normalize()
	}
	hook := notify.Defaults()
	hook.Name, hook.Kind, hook.Webhook = "h", notify.KindWebhook, &notify.WebhookSettings{URL: "https://example.com/\xff"}
	cases := map[string]notify.Channel{
		"email.host":     mail(func(e *notify.EmailSettings) { e.Host = "smtp\xff.example.com" }),
		"email.username": mail(func(e *notify.EmailSettings) { e.Username = "u\xff" }),
		"email.from":     mail(func(e *notify.EmailSettings) { e.From = "b\xff@example.com" }),
		"webhook.url":    hook.Normalize(),
	}
	for field, c := range cases {
		var bad *notify.InvalidChannelError
		if err := c.Validate(); !errors.As(err, &bad) || bad.Fields[field] == "" {
			t.Errorf("%s with invalid UTF-8: %v", field, err)
		}
	}
}
