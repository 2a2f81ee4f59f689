package features_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// TestEmailRetriedThroughMailpitChaos delivers one alert over an email
// channel to a Mailpit whose chaos mode refuses the recipients with a
// transient 451: the dispatcher records the failed attempt, retries after
// its backoff once the server accepts again, and the recipients get
// exactly one message, with the rule's name in the subject and both a
// text and an HTML part.
func TestEmailRetriedThroughMailpitChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("email test: starts Mailpit and waits for a retry's backoff")
	}
	const rule = "disk almost full on db-1"
	to := []string{"oncall@pulse.test", "ops@pulse.test"}
	mp := testservice.Mailpit(t, "--enable-chaos")
	// Every RCPT is refused until the first attempt is seen failed.
	mp.SetChaos(t, testservice.MailpitChaos{Recipient: testservice.MailpitChaosTrigger{ErrorCode: 451, Probability: 100}})

	env := embeddedEnv(t)
	env["PULSE_NOTIFY_ALLOW_HOSTS"] = mp.SMTPAddr()
	p := startNotifyPipeline(t, env)
	ctx := context.Background()
	a := notifyTenant(t, p, "mail")
	c := notify.Defaults()
	c.Name, c.Kind, c.GroupWait = "oncall mail", notify.KindEmail, 0
	c.Email = &notify.EmailSettings{Host: mp.SMTPHost, Port: mp.SMTPPort, Security: "plain", To: to, From: "Pulse <alerts@pulse.test>"}
	ch, _, err := p.Notify.CreateChannel(ctx, a, notification.ChannelInput{Channel: c})
	if err != nil {
		t.Fatalf("create the email channel: %v", err)
	}

	queued := time.Now()
	notifyQueueOutbox(t, p, queued, []notifyOutboxRow{{tenantID: a.TenantID, ruleID: 4242, kind: alert.NotifyFiring, name: rule, channels: []int64{ch.ID}}})

	message := func() (notification.MessageRow, bool) {
		rows, _, err := p.Notify.ListMessages(ctx, a, notification.MessageFilter{ChannelID: ch.ID, Limit: notification.MaxPage})
		if err != nil {
			t.Fatalf("list messages: %v", err)
		}
		switch len(rows) {
		case 0:
			return notification.MessageRow{}, false
		case 1:
			return rows[0], true
		}
		t.Fatalf("%d messages for one alert on one channel, want 1: %+v", len(rows), rows)
		return notification.MessageRow{}, false
	}
	var failed notification.MessageRow
	notifyWaitCond(t, "the first attempt to fail", 20*time.Second, func() bool {
		m, ok := message()
		failed = m
		return ok && m.Attempts >= 1
	})
	if failed.Status != notification.StatusQueued || failed.Attempts != 1 || failed.LastStatus != 451 {
		t.Fatalf("after the refused attempt the message is %+v; want queued for a retry after 1 attempt, last status 451", failed)
	}
	retryIn := time.Until(time.UnixMilli(failed.NextAttemptAt))
	t.Logf("first attempt refused %s after queueing (%q); retry due in %s", time.Since(queued).Round(time.Millisecond), failed.LastError, retryIn.Round(time.Millisecond))
	if retryIn < 2*time.Second {
		t.Fatalf("retry due in %s: want the backoff (about %s)", retryIn, notify.FirstRetry)
	}
	if n := len(mp.Messages(t)); n != 0 {
		t.Fatalf("Mailpit holds %d messages after the refused RCPT, want 0", n)
	}
	mp.SetChaos(t, testservice.MailpitChaos{})

	var sent notification.MessageRow
	notifyWaitCond(t, "the retry to deliver", 30*time.Second, func() bool {
		m, _ := message()
		sent = m
		return m.Status == notification.StatusSent || m.Status == notification.StatusDead
	})
	if sent.Status != notification.StatusSent || sent.Attempts != 2 {
		t.Fatalf("after the retry the message is %+v; want sent after 2 attempts", sent)
	}
	t.Logf("delivered on attempt %d, %s after queueing", sent.Attempts, time.Since(queued).Round(time.Millisecond))

	time.Sleep(2 * time.Second) // a second delivery would show by now
	msgs := mp.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("Mailpit holds %d messages, want exactly one: %+v", len(msgs), msgs)
	}
	if !slices.Equal(msgs[0].To, to) {
		t.Errorf("delivered to %v, want %v", msgs[0].To, to)
	}
	got := mp.Message(t, msgs[0].ID)
	t.Logf("subject %q from %q to %v", got.Subject, got.From, got.To)
	if !strings.Contains(got.Subject, rule) {
		t.Errorf("subject %q lacks the rule's name %q", got.Subject, rule)
	}
	if got.From != "alerts@pulse.test" {
		t.Errorf("from %q, want alerts@pulse.test", got.From)
	}
	if !strings.Contains(got.Text, rule) {
		t.Errorf("text part lacks the rule's name:\n%s", got.Text)
	}
	if !strings.Contains(got.HTML, "</") || !strings.Contains(got.HTML, rule) {
		t.Errorf("HTML part missing, or it lacks the rule's name:\n%s", got.HTML)
	}
	if again, _ := message(); again.Status != notification.StatusSent || again.Attempts != 2 {
		t.Errorf("the message moved on after it was sent: %+v", again)
	}
}

// notifyWaitCond polls cond every 20 ms until it holds, failing t after bound.
func notifyWaitCond(t *testing.T, what string, bound time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, bound)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
