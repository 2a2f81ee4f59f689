package deliverer_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/notify/deliverer"
	"github.com/pulsemetrics/pulse/adapter/notify/egress"
	"github.com/pulsemetrics/pulse/adapter/notify/webhook"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// amMessage is the Alertmanager v4 webhook body, as a receiver reads it.
type amMessage struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   *int              `json:"truncatedAlerts"`
	Alerts            []struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     time.Time         `json:"startsAt"`
		EndsAt       time.Time         `json:"endsAt"`
		GeneratorURL string            `json:"generatorURL"`
		Fingerprint  string            `json:"fingerprint"`
		Value        *float64          `json:"value"`
	} `json:"alerts"`
}

// webhookRig is a deliverer allowed to reach one local receiver.
type webhookRig struct {
	rcv    *receiver
	d      *deliverer.Deliverer
	secret string
}

func newWebhookRig(t *testing.T, answer func(http.ResponseWriter), alsoAllow ...string) webhookRig {
	t.Helper()
	rcv := newReceiver(t, answer)
	p := egress.Policy{AllowHosts: append([]string{rcv.hostPort(t)}, alsoAllow...), Timeout: 5 * time.Second}
	return webhookRig{rcv: rcv, d: deliverer.New(p), secret: newSecret(t)}
}

func (r webhookRig) deliver(t *testing.T, m notification.Outgoing) (notification.Result, error) {
	t.Helper()
	return r.d.Deliver(t.Context(), webhookChannel(r.rcv.URL+"/hook?token=x"), r.secret, m)
}

func decodeAM(t *testing.T, body []byte) amMessage {
	t.Helper()
	var m amMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	return m
}

func TestWebhookDeliversSignedAlertmanagerPayload(t *testing.T) {
	r := newWebhookRig(t, nil)
	res, err := r.deliver(t, firing())
	if err != nil || !res.Delivered || res.Retryable || res.Status != http.StatusOK {
		t.Fatalf("Deliver = %+v, %v; want delivered 200", res, err)
	}
	reqs := r.rcv.requests()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(reqs))
	}
	req := reqs[0]
	if req.Method != http.MethodPost || req.Path != "/hook" || req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s content-type %q", req.Method, req.Path, req.Header.Get("Content-Type"))
	}
	if err := webhook.Verify(r.secret, req.Header, req.Body, time.Now(), webhook.DefaultTolerance); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	if err := webhook.Verify(newSecret(t), req.Header, req.Body, time.Now(), webhook.DefaultTolerance); err == nil {
		t.Error("signature verifies under another secret")
	}
	if id := req.Header.Get(webhook.HeaderID); id != "msg_42" {
		t.Errorf("webhook-id = %q, want msg_42", id)
	}

	m := decodeAM(t, req.Body)
	wantKey := fmt.Sprintf("pulse/%d/rule/%d", tenantID, ruleID)
	if m.Version != "4" || m.Status != "firing" || m.GroupKey != wantKey || m.Receiver != "ops hook" || m.ExternalURL != externalURL {
		t.Errorf("message version %q status %q groupKey %q receiver %q externalURL %q", m.Version, m.Status, m.GroupKey, m.Receiver, m.ExternalURL)
	}
	if m.TruncatedAlerts == nil || *m.TruncatedAlerts != 0 {
		t.Errorf("truncatedAlerts = %v, want 0", m.TruncatedAlerts)
	}
	if m.GroupLabels["alertname"] != "CPU high" || m.CommonLabels["env"] != "prod" || m.CommonLabels["severity"] != "critical" {
		t.Errorf("groupLabels %v commonLabels %v", m.GroupLabels, m.CommonLabels)
	}
	if _, ok := m.CommonLabels["host"]; ok {
		t.Errorf("commonLabels %v hold host, which differs between the alerts", m.CommonLabels)
	}
	if len(m.Alerts) != 2 {
		t.Fatalf("%d alerts, want 2: %s", len(m.Alerts), req.Body)
	}
	wantGen := fmt.Sprintf("%s/alerts/%d", externalURL, ruleID)
	for i, want := range []struct {
		host  string
		value float64
		at    time.Time
	}{{"web-1", 93.5, at0}, {"web-2", 97.25, at0.Add(time.Second)}} {
		a := m.Alerts[i]
		if a.Status != "firing" || a.Labels["host"] != want.host || a.Labels["alertname"] != "CPU high" || a.Labels["severity"] != "critical" {
			t.Errorf("alert %d: status %q labels %v", i, a.Status, a.Labels)
		}
		if a.Annotations["summary"] != "CPU high on "+want.host {
			t.Errorf("alert %d: annotations %v", i, a.Annotations)
		}
		if a.Value == nil || *a.Value != want.value {
			t.Errorf("alert %d: value %v, want %v", i, a.Value, want.value)
		}
		if !a.StartsAt.Equal(want.at) || !a.EndsAt.IsZero() {
			t.Errorf("alert %d: startsAt %v endsAt %v, want %v and zero", i, a.StartsAt, a.EndsAt, want.at)
		}
		if a.GeneratorURL != wantGen {
			t.Errorf("alert %d: generatorURL %q, want %q", i, a.GeneratorURL, wantGen)
		}
		if a.Fingerprint == "" {
			t.Errorf("alert %d: no fingerprint", i)
		}
	}
	if m.Alerts[0].Fingerprint == m.Alerts[1].Fingerprint {
		t.Errorf("two instances share fingerprint %q", m.Alerts[0].Fingerprint)
	}
}

// Every attempt of one message carries its id: a receiver dedupes a resend.
func TestWebhookSameMessageSameID(t *testing.T) {
	r := newWebhookRig(t, nil)
	for range 2 {
		if res, err := r.deliver(t, firing()); err != nil || !res.Delivered {
			t.Fatalf("Deliver = %+v, %v", res, err)
		}
	}
	reqs := r.rcv.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	a, b := reqs[0].Header.Get(webhook.HeaderID), reqs[1].Header.Get(webhook.HeaderID)
	if a != "msg_42" || a != b {
		t.Errorf("webhook-ids %q and %q, want msg_42 twice", a, b)
	}
	if string(reqs[0].Body) != string(reqs[1].Body) {
		t.Errorf("the two attempts' bodies differ:\n%s\n%s", reqs[0].Body, reqs[1].Body)
	}
	for i, req := range reqs {
		if err := webhook.Verify(r.secret, req.Header, req.Body, time.Now(), webhook.DefaultTolerance); err != nil {
			t.Errorf("attempt %d: %v", i+1, err)
		}
	}
}

func TestWebhookDigestCarriesEveryNotification(t *testing.T) {
	r := newWebhookRig(t, nil)
	res, err := r.deliver(t, digest())
	if err != nil || !res.Delivered {
		t.Fatalf("Deliver = %+v, %v", res, err)
	}
	reqs := r.rcv.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	if id := reqs[0].Header.Get(webhook.HeaderID); id != "msg_77" {
		t.Errorf("webhook-id %q", id)
	}
	m := decodeAM(t, reqs[0].Body)
	if !strings.HasSuffix(m.GroupKey, "/digest") || !strings.HasPrefix(m.GroupKey, fmt.Sprintf("pulse/%d/", tenantID)) {
		t.Errorf("groupKey %q, want pulse/%d/…/digest", m.GroupKey, tenantID)
	}
	if m.Status != "firing" || len(m.Alerts) != 3 {
		t.Fatalf("status %q, %d alerts; want firing, 3", m.Status, len(m.Alerts))
	}
	for i, want := range []struct {
		rule string
		id   int64
		host string
	}{{"CPU high", ruleID, "web-1"}, {"CPU high", ruleID, "web-2"}, {"Disk full", otherRuleID, "db-1"}} {
		a := m.Alerts[i]
		if a.Labels["alertname"] != want.rule || a.Labels["host"] != want.host {
			t.Errorf("alert %d labels %v, want %s on %s", i, a.Labels, want.rule, want.host)
		}
		if g := fmt.Sprintf("%s/alerts/%d", externalURL, want.id); a.GeneratorURL != g {
			t.Errorf("alert %d generatorURL %q, want %q", i, a.GeneratorURL, g)
		}
	}
	if _, ok := m.GroupLabels["alertname"]; ok {
		t.Errorf("a digest of two rules has groupLabels %v", m.GroupLabels)
	}
}

func TestWebhookAnswers(t *testing.T) {
	cases := []struct {
		name       string
		answer     func(http.ResponseWriter)
		status     int
		retryable  bool
		retryAfter time.Duration
	}{
		{"500 is retried", status(500), 500, true, 0},
		{"410 is final", status(410), 410, false, 0},
		{"404 is final", status(404), 404, false, 0},
		{"503 with Retry-After", status(503, "Retry-After", "7"), 503, true, 7 * time.Second},
		{"429 with Retry-After", status(429, "Retry-After", "3"), 429, true, 3 * time.Second},
		{"408 is retried", status(408), 408, true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newWebhookRig(t, c.answer)
			res, err := r.deliver(t, firing())
			if err != nil {
				t.Fatalf("an answer is no error: %v", err)
			}
			if res.Delivered || res.Status != c.status || res.Retryable != c.retryable || res.RetryAfter != c.retryAfter {
				t.Errorf("Result %+v, want status %d retryable %v retryAfter %s", res, c.status, c.retryable, c.retryAfter)
			}
			if want := http.StatusText(c.status); res.Answer != want {
				t.Errorf("Answer %q, want the receiver's body %q", res.Answer, want)
			}
			if n := len(r.rcv.requests()); n != 1 {
				t.Errorf("receiver got %d requests, want 1", n)
			}
		})
	}
}

// A redirect is the receiver's answer, not a place to go: following it
// would re-post the signed body to whoever the receiver names.
func TestWebhookRedirectNotFollowed(t *testing.T) {
	target := newReceiver(t, nil)
	r := newWebhookRig(t, func(w http.ResponseWriter) {
		w.Header().Set("Location", target.URL+"/stolen")
		w.WriteHeader(http.StatusFound)
	}, target.hostPort(t)) // the target is allowed too: only the redirect policy stops it
	res, err := r.deliver(t, firing())
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if res.Delivered || res.Retryable || res.Status != http.StatusFound {
		t.Errorf("Result %+v, want final 302", res)
	}
	if n := len(r.rcv.requests()); n != 1 {
		t.Errorf("receiver got %d requests, want 1", n)
	}
	if got := target.requests(); len(got) != 0 {
		t.Errorf("redirect target got %d requests: %+v", len(got), got)
	}
}

// Without an answer (nothing listens) the attempt is retried.
func TestWebhookNoAnswerRetryable(t *testing.T) {
	r := newWebhookRig(t, nil)
	u := r.rcv.URL
	r.rcv.Close()
	res, err := r.d.Deliver(t.Context(), webhookChannel(u+"/hook"), r.secret, firing())
	if err == nil || !res.Retryable || res.Delivered || res.Status != 0 {
		t.Errorf("Deliver = %+v, %v; want a retryable error", res, err)
	}
}

// A message the payload cannot carry, or a secret that cannot sign, is a
// final error and sends nothing.
func TestWebhookUnsendable(t *testing.T) {
	r := newWebhookRig(t, nil)
	bad := firing()
	bad.Notifications[1].At = "yesterday"
	if res, err := r.deliver(t, bad); err == nil || res.Retryable || res.Delivered {
		t.Errorf("bad time: Deliver = %+v, %v; want a final error", res, err)
	}
	noID := firing()
	noID.ID = ""
	if res, err := r.deliver(t, noID); err == nil || res.Retryable || res.Delivered {
		t.Errorf("no id: Deliver = %+v, %v; want a final error", res, err)
	}
	if res, err := r.d.Deliver(t.Context(), webhookChannel(r.rcv.URL+"/hook"), "not-base64!", firing()); err == nil || res.Retryable {
		t.Errorf("bad secret: Deliver = %+v, %v; want a final error", res, err)
	}
	if n := len(r.rcv.requests()); n != 0 {
		t.Errorf("receiver got %d requests", n)
	}
}
