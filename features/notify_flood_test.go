package features_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// TestFloodDigestsNeverDrop floods one tenant's webhook channel with 1,000
// firing notifications of distinct rules at once, on the default budget
// (10 messages per channel and minute), while another tenant has one
// notification on its own channel. The other tenant's alert is not queued
// behind the flood; the flooded channel gets at most 10 messages in any
// minute, and what the budget held arrives folded into digests: every one
// of the 1,000 alerts is received, none lost.
func TestFloodDigestsNeverDrop(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test: waits for the one-minute budget to free")
	}
	const (
		flood     = 1000
		perMinute = notify.DefaultPerMinute
		// The budget frees a minute after the first sends, and what it held
		// goes out in digests on the next planner passes (about 61 s in
		// all); a digest a minute later still would miss the bound.
		bound = 90 * time.Second
	)
	rc := newNotifyHookReceiver(t, 0)
	env := distributedEnv(t)
	env["PULSE_SECRET_KEY"] = testSecretKey
	env["PULSE_NOTIFY_ALLOW_HOSTS"] = rc.addr()
	p := startNotifyPipeline(t, env)
	ctx := context.Background()

	a, b := notifyTenant(t, p, "flood-a"), notifyTenant(t, p, "flood-b")
	chA := notifyWebhookChannel(t, p, a, "flooded", rc.url("/a"))
	chB := notifyWebhookChannel(t, p, b, "quiet", rc.url("/b"))
	if n, err := p.Notify.PerMinute(ctx, a); err != nil || n != perMinute {
		t.Fatalf("tenant A's budget is %d (%v), want the default %d", n, err, perMinute)
	}

	rows := make([]notifyOutboxRow, flood)
	want := make([]string, flood)
	for i := range rows {
		name := fmt.Sprintf("flood %04d", i)
		rows[i] = notifyOutboxRow{tenantID: a.TenantID, ruleID: int64(1_000_000 + i), kind: alert.NotifyFiring, name: name, channels: []int64{chA}}
		want[i] = name + "/firing"
	}
	start := time.Now()
	notifyQueueOutbox(t, p, start, rows)
	// Tenant B's one notification is written after the whole flood: oldest
	// first alone would queue it behind 1,000 rows.
	notifyQueueOutbox(t, p, time.Now(), []notifyOutboxRow{{tenantID: b.TenantID, ruleID: 2_000_000, kind: alert.NotifyFiring, name: "quiet one", channels: []int64{chB}}})
	bAt := time.Now()
	t.Logf("queued %d notifications for tenant A in %s, then one for tenant B", flood, bAt.Sub(start).Round(time.Millisecond))

	if !rc.waitUntil(5*time.Second, func() bool { return rc.alertKeys("/b")["quiet one/firing"] > 0 }) {
		t.Fatalf("tenant B's alert was not received within 5s of its insertion (tenant A's flood queued it): %d requests to A so far, %d to B",
			len(rc.requests("/a")), len(rc.requests("/b")))
	}
	bGot := rc.requests("/b")[0].At
	t.Logf("tenant B's alert received %s after its insertion", bGot.Sub(bAt).Round(time.Millisecond))

	ok := rc.waitUntil(bound, func() bool {
		n, _ := notifyMissing(want, rc.alertKeys("/a"))
		return n == 0
	})
	took := time.Since(start)
	reqs := rc.requests("/a")
	floodLog(t, start, reqs)
	got := rc.alertKeys("/a")
	if n, first := notifyMissing(want, got); !ok || n > 0 {
		t.Fatalf("after %s, %d of tenant A's %d alerts were never received (none may be lost), e.g. %q", took.Round(time.Second), n, flood, first)
	}
	t.Logf("all %d of tenant A's alerts received %s after the flood was queued", flood, took.Round(time.Millisecond))

	// Nothing received twice, nothing else received.
	for k, n := range got {
		if n != 1 {
			t.Errorf("alert %s received %d times, want once", k, n)
		}
		if !strings.HasPrefix(k, "flood ") || !strings.HasSuffix(k, "/firing") {
			t.Errorf("unexpected alert %s on tenant A's channel", k)
		}
	}
	// The budget: at most perMinute messages in any minute (arrival times
	// trail the planned times by the send; a second of slack covers it),
	// each message either one rule's alert or a digest.
	for i := 0; i+perMinute < len(reqs); i++ {
		if d := reqs[i+perMinute].At.Sub(reqs[i].At); d < 59*time.Second {
			t.Errorf("messages %d to %d to tenant A's channel arrived within %s: more than %d in a minute", i+1, i+perMinute+1, d.Round(time.Millisecond), perMinute)
			break
		}
	}
	digests := 0
	for i, r := range reqs {
		switch {
		case strings.HasSuffix(r.GroupKey, "/digest"):
			digests++
		case len(r.Alerts) != 1:
			t.Errorf("message %d (group %q) is not a digest yet carries %d alerts", i+1, r.GroupKey, len(r.Alerts))
		}
	}
	if digests == 0 {
		t.Errorf("no digest among the %d messages to tenant A's channel", len(reqs))
	}
	if first := floodFirstMinute(start, reqs); first > perMinute {
		t.Errorf("%d messages to tenant A's channel in the first minute, want at most %d", first, perMinute)
	}
	if len(reqs) > 3*perMinute {
		t.Errorf("%d messages to tenant A's channel for one storm: the budget did not fold them", len(reqs))
	}

	// The store agrees: nothing left to send, nothing dead.
	time.Sleep(time.Second) // the last outcomes are recorded after the answers
	notifyCheckDrained(t, p, a, chA)
	notifyCheckDrained(t, p, b, chB)
}

// notifyWebhookChannel creates a webhook channel with group_wait 0 and answers its id.
func notifyWebhookChannel(t *testing.T, p *wiring.Pipeline, a notification.Actor, name, url string) int64 {
	t.Helper()
	c := notify.Defaults()
	c.Name, c.Kind, c.Webhook, c.GroupWait = name, notify.KindWebhook, &notify.WebhookSettings{URL: url}, 0
	v, _, err := p.Notify.CreateChannel(context.Background(), a, notification.ChannelInput{Channel: c})
	if err != nil {
		t.Fatalf("create channel %s: %v", name, err)
	}
	return v.ID
}

// floodFirstMinute counts the requests that arrived in the minute after start.
func floodFirstMinute(start time.Time, reqs []notifyHookRequest) int {
	n := 0
	for _, r := range reqs {
		if r.At.Sub(start) < time.Minute {
			n++
		}
	}
	return n
}

// floodLog logs each minute's messages and every digest's size.
func floodLog(t *testing.T, start time.Time, reqs []notifyHookRequest) {
	t.Helper()
	perMin := map[int]int{}
	var digests []string
	single := 0
	for _, r := range reqs {
		perMin[int(r.At.Sub(start)/time.Minute)]++
		if strings.HasSuffix(r.GroupKey, "/digest") {
			digests = append(digests, fmt.Sprintf("%d alerts at +%s", len(r.Alerts), r.At.Sub(start).Round(time.Millisecond)))
		} else {
			single++
		}
	}
	minutes := make([]int, 0, len(perMin))
	for m := range perMin {
		minutes = append(minutes, m)
	}
	slices.Sort(minutes)
	var by []string
	for _, m := range minutes {
		by = append(by, fmt.Sprintf("minute %d: %d", m+1, perMin[m]))
	}
	t.Logf("tenant A's channel: %d messages (%d single-alert, %d digests: %s); %s",
		len(reqs), single, len(digests), strings.Join(digests, ", "), strings.Join(by, ", "))
}

// notifyCheckDrained checks that the store holds nothing more to send for the
// tenant's channel and no dead message, and that the outbox is expanded.
func notifyCheckDrained(t *testing.T, p *wiring.Pipeline, a notification.Actor, channel int64) {
	t.Helper()
	ctx := context.Background()
	for _, status := range []string{notification.StatusQueued, notification.StatusDead} {
		rows, _, err := p.Notify.ListMessages(ctx, a, notification.MessageFilter{Status: status, ChannelID: channel, Limit: notification.MaxPage})
		if err != nil {
			t.Fatalf("list %s messages: %v", status, err)
		}
		if len(rows) > 0 {
			t.Errorf("tenant %d's channel %d has %d %s messages, the first %+v", a.TenantID, channel, len(rows), status, rows[0])
		}
	}
	var outbox, open int
	if err := p.DB.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM alert_outbox WHERE tenant_id = ? AND delivered_at IS NULL", a.TenantID).Scan(&outbox); err != nil {
		t.Fatal(err)
	}
	if err := p.DB.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM notification_deliveries WHERE tenant_id = ? AND state IN (?, ?, ?)",
		a.TenantID, notification.DeliveryWaiting, notification.DeliveryHeld, notification.DeliverySilenced).Scan(&open); err != nil {
		t.Fatal(err)
	}
	if outbox != 0 || open != 0 {
		t.Errorf("tenant %d: %d outbox rows not expanded, %d deliveries not planned", a.TenantID, outbox, open)
	}
}
