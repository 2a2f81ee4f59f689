package deliverer_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/notify/deliverer"
	"github.com/pulsemetrics/pulse/adapter/notify/egress"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

func emailChannel(host string, port int) notify.Channel {
	c := notify.Defaults()
	c.ID, c.TenantID, c.Name, c.Kind = channelID, tenantID, "ops mail", notify.KindEmail
	c.Email = &notify.EmailSettings{Host: host, Port: port, Security: notify.SecurityPlain, Auth: notify.AuthPlain,
		From: "Pulse <alerts@pulse.test>", To: []string{"ops@pulse.test", "Oncall <oncall@pulse.test>"}}
	return c
}

// mailRig is a real Mailpit on 127.0.0.1, plain SMTP, and a deliverer
// whose policy allows its SMTP address (as PULSE_NOTIFY_ALLOW_HOSTS does).
func mailRig(t *testing.T) (testservice.MailpitInstance, *deliverer.Deliverer, notify.Channel) {
	t.Helper()
	mp := testservice.Mailpit(t)
	d := deliverer.New(egress.Policy{AllowHosts: []string{mp.SMTPAddr()}, Timeout: 10 * time.Second})
	return mp, d, emailChannel(mp.SMTPHost, mp.SMTPPort)
}

func TestEmailDeliversToEveryRecipient(t *testing.T) {
	mp, d, ch := mailRig(t)
	if err := d.Check(ch, ""); err != nil {
		t.Fatalf("Check: %v", err)
	}
	res, err := d.Deliver(t.Context(), ch, "", firing())
	if err != nil || !res.Delivered || res.Retryable {
		t.Fatalf("Deliver = %+v, %v; want delivered", res, err)
	}
	msgs := mp.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("Mailpit holds %d messages, want 1 for both recipients", len(msgs))
	}
	if want := []string{"oncall@pulse.test", "ops@pulse.test"}; !slices.Equal(msgs[0].To, want) {
		t.Errorf("To %v, want %v", msgs[0].To, want)
	}
	got := mp.Message(t, msgs[0].ID)
	if got.Subject != "[FIRING] CPU high (2)" || got.From != "alerts@pulse.test" {
		t.Errorf("subject %q from %q", got.Subject, got.From)
	}
	link := externalURL + "/alerts/42"
	for _, want := range []string{"CPU high", "web-1", "web-2", "93.5", "97.25", "threshold 90", link} {
		if !strings.Contains(got.Text, want) {
			t.Errorf("text part lacks %q:\n%s", want, got.Text)
		}
	}
	for _, want := range []string{"<code>93.5</code>", "<code>97.25</code>", "<code>90</code>", `href="` + link + `"`} {
		if !strings.Contains(got.HTML, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, got.HTML)
		}
	}
}

func TestEmailDigestSubject(t *testing.T) {
	mp, d, ch := mailRig(t)
	m := digest()
	res, err := d.Deliver(t.Context(), ch, "", m)
	if err != nil || !res.Delivered {
		t.Fatalf("Deliver = %+v, %v", res, err)
	}
	msgs := mp.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("Mailpit holds %d messages, want 1", len(msgs))
	}
	got := mp.Message(t, msgs[0].ID)
	want := "[Pulse] " + m.Digest.Text(5)
	if got.Subject != want || !strings.Contains(got.Subject, "3 more alerts fired in the last 2 minutes: CPU high ×2, Disk full ×1") {
		t.Errorf("subject %q, want %q", got.Subject, want)
	}
	if !strings.HasPrefix(got.Text, m.Digest.Text(0)) {
		t.Errorf("text part does not open with the digest:\n%s", got.Text)
	}
	for _, w := range []string{"web-1", "db-1", externalURL + "/alerts/42"} {
		if !strings.Contains(got.Text, w) {
			t.Errorf("digest text lacks %q:\n%s", w, got.Text)
		}
	}
}

// Nothing listens: a network failure, retried.
func TestEmailNoServerRetryable(t *testing.T) {
	ch := emailChannel("127.0.0.1", 1)
	d := deliverer.New(egress.Policy{AllowHosts: []string{"127.0.0.1:1"}, Timeout: 2 * time.Second})
	res, err := d.Deliver(t.Context(), ch, "", firing())
	if err == nil || res.Delivered || !res.Retryable {
		t.Errorf("Deliver = %+v, %v; want a retryable error", res, err)
	}
}
