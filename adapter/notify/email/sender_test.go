package email

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

func mailpitConfig(mp testservice.MailpitInstance) Config {
	return Config{
		Host: mp.SMTPHost, Port: mp.SMTPPort,
		Username: "pulse", Password: "s3cret-pa55",
		From:    "Pulse <alerts@pulse.test>",
		To:      []string{"ops@pulse.test", "Oncall <oncall@pulse.test>"},
		Timeout: 10 * time.Second,
	}
}

func TestSendSTARTTLSAuthPlainTwoRecipients(t *testing.T) {
	mp := testservice.Mailpit(t, testservice.MailpitTLS, "--smtp-auth-accept-any", "--smtp-require-starttls")
	cfg := mailpitConfig(mp)
	cfg.TLSConfig = mp.TLSConfig()
	a := sampleAlerts()[0]
	a.Labels["x"] = "<script>alert(1)</script>"
	m := Render([]Alert{a}, StatusFiring)

	res, err := (&Sender{}).Send(context.Background(), cfg, m)
	if err != nil || !res.Delivered {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	msgs := mp.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages captured, want 1", len(msgs))
	}
	if want := []string{"oncall@pulse.test", "ops@pulse.test"}; !slices.Equal(msgs[0].To, want) {
		t.Errorf("To = %v, want %v", msgs[0].To, want)
	}
	got := mp.Message(t, msgs[0].ID)
	if got.Subject != "[FIRING] CPU high (1)" || got.From != "alerts@pulse.test" {
		t.Errorf("subject %q from %q", got.Subject, got.From)
	}
	for _, want := range []string{"FIRING: CPU high", "Value: 93.5 (threshold 90)", "env=prod", "https://pulse.example.com/rules/42"} {
		if !strings.Contains(got.Text, want) {
			t.Errorf("text part lacks %q:\n%s", want, got.Text)
		}
	}
	for _, want := range []string{`<a href="https://pulse.example.com/rules/42">`, "&lt;script&gt;", "<code>93.5</code>"} {
		if !strings.Contains(got.HTML, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, got.HTML)
		}
	}
	if strings.Contains(got.HTML, "<script>") {
		t.Errorf("HTML part carries a live <script>")
	}
	if text := mp.MessageText(t, msgs[0].ID); text != got.Text {
		t.Errorf("MessageText differs from Message.Text")
	}
}

func TestSendPlainRefusedForRemoteHost(t *testing.T) {
	cfg := validConfig()
	cfg.Security = SecurityPlain
	res, err := (&Sender{}).Send(context.Background(), cfg, Message{Subject: "s", Text: "t"})
	if err == nil || res.Delivered || res.Retryable || !strings.Contains(err.Error(), "security plain is only allowed") {
		t.Fatalf("Send = %+v, %v; want a final validation error", res, err)
	}
}

func TestSendSTARTTLSRequiredButNotOffered(t *testing.T) {
	mp := testservice.Mailpit(t, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
	cfg := mailpitConfig(mp) // Security "" = starttls, required
	res, err := (&Sender{}).Send(context.Background(), cfg, Render(sampleAlerts(), StatusFiring))
	if err == nil || res.Delivered || res.Retryable {
		t.Fatalf("Send = %+v, %v; want a final failure", res, err)
	}
	if !strings.Contains(res.Answer, "STARTTLS") {
		t.Errorf("answer %q does not say STARTTLS is missing", res.Answer)
	}
	if n := len(mp.Messages(t)); n != 0 {
		t.Errorf("%d messages were sent without TLS", n)
	}

	// The same server is fine as an explicitly allowed local relay.
	cfg.Security = SecurityPlain
	if res, err := (&Sender{}).Send(context.Background(), cfg, Message{Subject: "s", Text: "t"}); err != nil || !res.Delivered {
		t.Fatalf("plain to loopback: %+v, %v", res, err)
	}
}

func TestSendChaosTransientFailureRetried(t *testing.T) {
	mp := testservice.Mailpit(t, testservice.MailpitTLS, "--smtp-auth-accept-any", "--enable-chaos")
	cfg := mailpitConfig(mp)
	cfg.TLSConfig = mp.TLSConfig()
	m := Render(sampleAlerts(), StatusFiring)
	s := &Sender{}

	mp.SetChaos(t, testservice.MailpitChaos{Recipient: testservice.MailpitChaosTrigger{ErrorCode: 451, Probability: 100}})
	res, err := s.Send(context.Background(), cfg, m)
	if err == nil || res.Delivered || !res.Retryable || res.Code != 451 {
		t.Fatalf("under chaos: Send = %+v, %v; want retryable 451", res, err)
	}
	if strings.Contains(res.Answer, cfg.Password) {
		t.Errorf("answer holds the password: %q", res.Answer)
	}
	if n := len(mp.Messages(t)); n != 0 {
		t.Fatalf("%d messages after a refused RCPT, want 0", n)
	}

	mp.SetChaos(t, testservice.MailpitChaos{})
	res, err = s.Send(context.Background(), cfg, m)
	if err != nil || !res.Delivered {
		t.Fatalf("retry: Send = %+v, %v", res, err)
	}
	msgs := mp.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages after the retry, want exactly 1", len(msgs))
	}
	if len(msgs[0].To) != 2 {
		t.Errorf("delivered to %v, want both recipients", msgs[0].To)
	}
}

func TestSendAuthRefusedIsFinal(t *testing.T) {
	mp := testservice.Mailpit(t, testservice.MailpitTLS, "--smtp-auth-accept-any", "--enable-chaos")
	cfg := mailpitConfig(mp)
	cfg.TLSConfig = mp.TLSConfig()
	mp.SetChaos(t, testservice.MailpitChaos{Authentication: testservice.MailpitChaosTrigger{ErrorCode: 535, Probability: 100}})
	res, err := (&Sender{}).Send(context.Background(), cfg, Message{Subject: "s", Text: "t"})
	if err == nil || res.Delivered || res.Retryable || res.Code != 535 {
		t.Fatalf("Send = %+v, %v; want final 535", res, err)
	}
	if strings.Contains(res.Answer, cfg.Password) {
		t.Errorf("answer holds the password: %q", res.Answer)
	}
}

func TestSendConnectionRefusedIsRetryable(t *testing.T) {
	cfg := validConfig()
	cfg.Host, cfg.Port, cfg.Timeout = "127.0.0.1", 1, 2*time.Second
	res, err := (&Sender{}).Send(context.Background(), cfg, Message{Subject: "s", Text: "t"})
	if err == nil || res.Delivered || !res.Retryable {
		t.Fatalf("Send = %+v, %v; want retryable", res, err)
	}
}
