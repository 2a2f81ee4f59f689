package features_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/notify/webhook"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
	"github.com/pulsemetrics/pulse/usecase/alerting"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// The notification tests' common parts: a webhook receiver that records
// every request, an in-process dispatcher, and outbox rows written as the
// alerting use case writes them.

// notifyHookAlert is one alert of a received webhook body.
type notifyHookAlert struct {
	Status string            `json:"status"`
	Labels map[string]string `json:"labels"`
}

// notifyHookRequest is one request the receiver got.
type notifyHookRequest struct {
	At       time.Time
	Path     string
	ID       string // webhook-id
	GroupKey string
	Status   string
	Alerts   []notifyHookAlert
	Body     []byte
	BadSig   error // the signature check's failure (nil: none, or not checked)
}

// key is an alert's "alertname/status".
func (a notifyHookAlert) key() string { return a.Labels["alertname"] + "/" + a.Status }

// notifyHookReceiver is a webhook endpoint on 127.0.0.1: it records each request
// as it arrives, then answers 200 after delay (so sends are in flight).
type notifyHookReceiver struct {
	srv   *httptest.Server
	delay time.Duration

	mu      sync.Mutex
	secrets map[string]string // path → signing secret to verify with
	reqs    []notifyHookRequest
	changed chan struct{}
}

func newNotifyHookReceiver(t *testing.T, delay time.Duration) *notifyHookReceiver {
	t.Helper()
	rc := &notifyHookReceiver{delay: delay, secrets: map[string]string{}, changed: make(chan struct{}, 1)}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

// addr is host:port, for PULSE_NOTIFY_ALLOW_HOSTS.
func (rc *notifyHookReceiver) addr() string { return strings.TrimPrefix(rc.srv.URL, "http://") }

// url is the receiver's URL for path ("/a").
func (rc *notifyHookReceiver) url(path string) string { return rc.srv.URL + path }

// verify makes the receiver check the signature of what arrives on path.
func (rc *notifyHookReceiver) verify(path, secret string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secrets[path] = secret
}

func (rc *notifyHookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body struct {
		Status   string            `json:"status"`
		GroupKey string            `json:"groupKey"`
		Alerts   []notifyHookAlert `json:"alerts"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	req := notifyHookRequest{At: time.Now(), Path: r.URL.Path, ID: r.Header.Get(webhook.HeaderID), GroupKey: body.GroupKey,
		Status: body.Status, Alerts: body.Alerts, Body: raw}
	rc.mu.Lock()
	if secret, ok := rc.secrets[r.URL.Path]; ok {
		req.BadSig = webhook.Verify(secret, r.Header, raw, time.Now(), webhook.DefaultTolerance)
	}
	rc.reqs = append(rc.reqs, req)
	rc.mu.Unlock()
	select {
	case rc.changed <- struct{}{}:
	default:
	}
	if rc.delay > 0 {
		select {
		case <-time.After(rc.delay):
		case <-r.Context().Done():
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// requests is a copy of what arrived so far (on path, or everywhere for "").
func (rc *notifyHookReceiver) requests(path string) []notifyHookRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]notifyHookRequest, 0, len(rc.reqs))
	for _, r := range rc.reqs {
		if path == "" || r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// alertKeys counts the alerts received on path by "alertname/status",
// across every body (a digest's alerts too).
func (rc *notifyHookReceiver) alertKeys(path string) map[string]int {
	out := map[string]int{}
	for _, r := range rc.requests(path) {
		for _, a := range r.Alerts {
			out[a.key()]++
		}
	}
	return out
}

// waitUntil polls cond (and wakes on each arrival) until it holds or
// bound passes; it answers whether it held.
func (rc *notifyHookReceiver) waitUntil(bound time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-rc.changed:
		case <-time.After(20 * time.Millisecond):
		}
	}
	return true
}

// notifyMissing lists the keys of want that got lacks, sorted, at most 10.
func notifyMissing(want []string, got map[string]int) (n int, first []string) {
	for _, k := range want {
		if got[k] == 0 {
			n++
			if len(first) < 10 {
				first = append(first, k)
			}
		}
	}
	sort.Strings(first)
	return n, first
}

// startNotifyPipeline assembles Pulse on env and runs its dispatcher (planner and
// senders, every PULSE_NOTIFY_TICK) until t ends; the API is not served.
func startNotifyPipeline(t *testing.T, env map[string]string) *wiring.Pipeline {
	t.Helper()
	cfg := loadConfig(t, env)
	ctx, cancel := context.WithCancel(context.Background())
	p, cleanup, err := wiring.AssemblePipeline(ctx, cfg, "features-notify")
	if err != nil {
		cancel()
		t.Fatalf("assemble: %v", err)
	}
	var wg sync.WaitGroup
	for _, loop := range wiring.ProvideNotifyLoops(cfg, p.Notify) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := loop.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("notification loop: %v", err)
			}
		}()
	}
	t.Cleanup(func() { // the loops stop before the store closes
		cancel()
		wg.Wait()
		cleanup()
	})
	return p
}

// notifyTenant creates a tenant and answers its admin actor.
func notifyTenant(t *testing.T, p *wiring.Pipeline, prefix string) notification.Actor {
	t.Helper()
	slug := strings.ReplaceAll(strings.ReplaceAll(notifyUnique(prefix), ":", "-"), "_", "-")
	ten, err := p.Tenancy.CreateTenant(context.Background(), audit.CLI(), slug, slug, 30)
	if err != nil {
		t.Fatalf("create tenant %s: %v", slug, err)
	}
	return notification.Actor{TenantID: ten.ID, Admin: true, Name: "features"}
}

var (
	notifyUniqueMu sync.Mutex
	notifyUniqueN  int
)

// notifyUnique is prefix and a number unique in this test binary, with the
// time, so that names do not collide across runs on one database either.
func notifyUnique(prefix string) string {
	notifyUniqueMu.Lock()
	defer notifyUniqueMu.Unlock()
	notifyUniqueN++
	return fmt.Sprintf("%s%d-%d", prefix, time.Now().UnixNano()%1_000_000_000, notifyUniqueN)
}

// notifyOutboxRow is one notification written into alert_outbox as the alerting
// use case writes it.
type notifyOutboxRow struct {
	tenantID int64
	ruleID   int64
	kind     alert.Notify
	name     string // the rule's name: alertname
	channels []int64
}

// notifyQueueOutbox inserts rows into alert_outbox in one statement per 500,
// all at the same time (now), as cmd/pulse-bench's queueOutbox does.
func notifyQueueOutbox(t *testing.T, p *wiring.Pipeline, now time.Time, rows []notifyOutboxRow) {
	t.Helper()
	const batch = 500
	for start := 0; start < len(rows); start += batch {
		var q bytes.Buffer
		q.WriteString("INSERT INTO alert_outbox (tenant_id, rule_id, kind, instance_key, at, payload, created_at) VALUES ")
		var args []any
		for i, r := range rows[start:min(start+batch, len(rows))] {
			v := 0.97
			state := alert.Firing
			if r.kind == alert.NotifyResolved {
				state, v = alert.Normal, 0.1
			}
			payload, err := json.Marshal(alerting.Notification{RuleID: r.ruleID, TenantID: r.tenantID, Rule: r.name,
				Kind: r.kind, State: state, Severity: alert.SeverityWarning, Instance: "",
				Labels: map[string]string{"alertname": r.name}, Value: &v, Threshold: 0.9, Condition: "last(flood.load) > 0.9",
				At: now.UTC().Format(time.RFC3339Nano), Channels: slices.Clone(r.channels)})
			if err != nil {
				t.Fatal(err)
			}
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, '', ?, ?, ?)")
			args = append(args, r.tenantID, r.ruleID, string(r.kind), now.UnixMilli(), string(payload), now.UnixMilli())
		}
		if _, err := p.DB.Write.ExecContext(context.Background(), q.String(), args...); err != nil {
			t.Fatalf("insert %d outbox rows: %v", len(rows[start:min(start+batch, len(rows))]), err)
		}
	}
}
