package deliverer_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pulsemetrics/pulse/adapter/notify/deliverer"
	"github.com/pulsemetrics/pulse/adapter/notify/egress"
	"github.com/pulsemetrics/pulse/adapter/notify/slack"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// blockKit is an incoming webhook's body, as Slack reads it.
type blockKit struct {
	Text   string `json:"text"`
	Blocks []struct {
		Type string `json:"type"`
		Text *struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"text"`
		Elements []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"elements"`
	} `json:"blocks"`
}

// all is every text of the message, the fallback first.
func (b blockKit) all() string {
	parts := []string{b.Text}
	for _, bl := range b.Blocks {
		if bl.Text != nil {
			parts = append(parts, bl.Text.Text)
		}
		for _, e := range bl.Elements {
			parts = append(parts, e.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// slackRig is a local receiver standing for hooks.slack.com, allowed by
// the policy, and the channel's secret URL on it.
type slackRig struct {
	rcv *receiver
	d   *deliverer.Deliverer
	url string
}

func newSlackRig(t *testing.T, answer func(http.ResponseWriter)) slackRig {
	t.Helper()
	rcv := newReceiver(t, answer)
	d := deliverer.New(egress.Policy{AllowHosts: []string{rcv.hostPort(t)}, Timeout: 5 * time.Second})
	return slackRig{rcv: rcv, d: d, url: rcv.URL + "/services/T0000/B0000/XXXXXXXXXXXXXXXX"}
}

func (r slackRig) deliver(t *testing.T, m notification.Outgoing) (notification.Result, error) {
	t.Helper()
	return r.d.Deliver(t.Context(), slackChannel(), r.url, m)
}

// one is the single request the receiver got, decoded and checked against
// Block Kit's limits.
func (r slackRig) one(t *testing.T) blockKit {
	t.Helper()
	reqs := r.rcv.requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	req := reqs[0]
	if req.Method != http.MethodPost || req.Path != "/services/T0000/B0000/XXXXXXXXXXXXXXXX" || req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s content-type %q", req.Method, req.Path, req.Header.Get("Content-Type"))
	}
	if !json.Valid(req.Body) {
		t.Fatalf("body is not JSON:\n%s", req.Body)
	}
	var b blockKit
	if err := json.Unmarshal(req.Body, &b); err != nil {
		t.Fatal(err)
	}
	if b.Text == "" || utf8.RuneCountInString(b.Text) > slack.MaxFallback {
		t.Errorf("fallback text of %d characters", utf8.RuneCountInString(b.Text))
	}
	if len(b.Blocks) < 2 || len(b.Blocks) > slack.MaxBlocks {
		t.Fatalf("%d blocks:\n%s", len(b.Blocks), req.Body)
	}
	for i, bl := range b.Blocks {
		switch bl.Type {
		case "header":
			if i != 0 || bl.Text == nil || bl.Text.Type != "plain_text" || bl.Text.Text == "" || utf8.RuneCountInString(bl.Text.Text) > slack.MaxHeader {
				t.Errorf("block %d: a header %+v (at most %d characters, first)", i, bl.Text, slack.MaxHeader)
			}
		case "section":
			if bl.Text == nil || bl.Text.Text == "" || utf8.RuneCountInString(bl.Text.Text) > slack.MaxSection {
				t.Errorf("block %d: section %+v", i, bl.Text)
			}
		case "context":
			if len(bl.Elements) == 0 || len(bl.Elements) > slack.MaxContextElements {
				t.Errorf("block %d: context of %d elements", i, len(bl.Elements))
			}
		default:
			t.Errorf("block %d: type %q", i, bl.Type)
		}
	}
	if b.Blocks[0].Type != "header" {
		t.Errorf("first block is %q, want header", b.Blocks[0].Type)
	}
	return b
}

func TestSlackDeliversBlockKit(t *testing.T) {
	r := newSlackRig(t, nil)
	res, err := r.deliver(t, firing())
	if err != nil || !res.Delivered || res.Status != http.StatusOK {
		t.Fatalf("Deliver = %+v, %v; want delivered", res, err)
	}
	b := r.one(t)
	if !strings.Contains(b.Text, "CPU high") || !strings.Contains(b.Text, "2 alerts") {
		t.Errorf("fallback text %q does not name the rule and count", b.Text)
	}
	if h := b.Blocks[0].Text.Text; !strings.Contains(h, "FIRING") || !strings.Contains(h, "CPU high") {
		t.Errorf("header %q", h)
	}
	all := b.all()
	// Slack mrkdwn escapes > as &gt;.
	for _, want := range []string{"web-1", "web-2", "93.5", "97.25", "90", "avg(cpu)[5m] &gt; 90", externalURL + "/alerts/42", "CPU high on web-1"} {
		if !strings.Contains(all, want) {
			t.Errorf("message lacks %q:\n%s", want, all)
		}
	}
	// Slack posts are not signed: no Standard Webhooks headers leak there.
	if h := r.rcv.requests()[0].Header; h.Get("webhook-signature") != "" {
		t.Errorf("a Slack post carries a webhook signature")
	}
}

func TestSlackHeaderWithinLimit(t *testing.T) {
	r := newSlackRig(t, nil)
	m := firing()
	long := strings.Repeat("very long rule name ", 30)
	for i := range m.Notifications {
		m.Notifications[i].Rule = long
	}
	if res, err := r.deliver(t, m); err != nil || !res.Delivered {
		t.Fatalf("Deliver = %+v, %v", res, err)
	}
	b := r.one(t) // checks the header is at most 150 characters
	if !strings.HasPrefix(b.Blocks[0].Text.Text, "🔥 FIRING: very long rule name") {
		t.Errorf("header %q", b.Blocks[0].Text.Text)
	}
}

func TestSlackDigest(t *testing.T) {
	r := newSlackRig(t, nil)
	res, err := r.deliver(t, digest())
	if err != nil || !res.Delivered {
		t.Fatalf("Deliver = %+v, %v", res, err)
	}
	b := r.one(t)
	if !strings.Contains(b.Text, "3 more alerts fired in the last 2 minutes") {
		t.Errorf("fallback %q is not the digest's text", b.Text)
	}
	if !strings.Contains(b.Text, "CPU high ×2") || !strings.Contains(b.Text, "Disk full ×1") {
		t.Errorf("fallback %q does not count by rule", b.Text)
	}
	all := b.all()
	for _, want := range []string{"more alerts", externalURL + "/alerts/42", externalURL + "/alerts/43"} {
		if !strings.Contains(all, want) {
			t.Errorf("digest lacks %q:\n%s", want, all)
		}
	}
}

func TestSlackAnswers(t *testing.T) {
	cases := []struct {
		name       string
		answer     func(http.ResponseWriter)
		status     int
		retryable  bool
		retryAfter time.Duration
	}{
		{"429 rate limited", status(429, "Retry-After", "30"), 429, true, 30 * time.Second},
		{"500", status(500), 500, true, 0},
		{"404 no such webhook", status(404), 404, false, 0},
		{"410 channel archived", status(410), 410, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newSlackRig(t, c.answer)
			res, err := r.deliver(t, firing())
			if err != nil {
				t.Fatalf("an answer is no error: %v", err)
			}
			if res.Delivered || res.Status != c.status || res.Retryable != c.retryable || res.RetryAfter != c.retryAfter {
				t.Errorf("Result %+v, want status %d retryable %v retryAfter %s", res, c.status, c.retryable, c.retryAfter)
			}
		})
	}
}

func TestSlackNoAnswerRetryable(t *testing.T) {
	r := newSlackRig(t, nil)
	r.rcv.Close()
	res, err := r.deliver(t, firing())
	if err == nil || !res.Retryable || res.Delivered {
		t.Errorf("Deliver = %+v, %v; want a retryable error", res, err)
	}
	if err != nil && strings.Contains(err.Error(), "XXXXXXXXXXXXXXXX") {
		t.Errorf("error %q shows the secret URL's path", err)
	}
}

// The URL is the secret: one the policy refuses is final, sends nothing,
// and the error does not show its path.
func TestSlackRefusedURL(t *testing.T) {
	r := newSlackRig(t, nil)
	for _, u := range []string{"https://10.0.0.1/services/T0/B0/SECRETPATH", "http://hooks.slack.com/services/T0/B0/SECRETPATH", "::not a url SECRETPATH"} {
		res, err := r.d.Deliver(t.Context(), slackChannel(), u, firing())
		if err == nil || res.Retryable || res.Delivered {
			t.Errorf("%s: Deliver = %+v, %v; want a final error", u, res, err)
		}
		if err != nil && strings.Contains(err.Error(), "SECRETPATH") {
			t.Errorf("%s: error %q shows the path", u, err)
		}
	}
	if n := len(r.rcv.requests()); n != 0 {
		t.Errorf("receiver got %d requests", n)
	}
}
