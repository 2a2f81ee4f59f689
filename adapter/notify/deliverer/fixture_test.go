package deliverer_test

import (
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/notify/webhook"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

const (
	tenantID    = 7
	ruleID      = 42
	otherRuleID = 43
	channelID   = 9
	externalURL = "https://pulse.example.com"
)

var at0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func ptr(v float64) *float64 { return &v }

// note is a notification of rule id as the alerting use case writes it.
func note(id int64, rule, instance string, value float64, at time.Time) notification.Notification {
	return notification.Notification{
		RuleID: id, TenantID: tenantID, Rule: rule, Kind: alert.NotifyFiring, State: alert.Firing,
		Severity: alert.SeverityCritical, Instance: instance,
		Labels:      map[string]string{"alertname": rule, "host": instance, "env": "prod"},
		Annotations: map[string]string{"summary": rule + " on " + instance},
		Value:       ptr(value), Threshold: 90, Condition: "avg(cpu)[5m] > 90",
		At: at.Format(time.RFC3339),
	}
}

// firing is a message of two firing notifications of one rule.
func firing() notification.Outgoing {
	return notification.Outgoing{
		ID: "msg_42", Kind: notification.MessageAlerts, Status: notify.NoticeFiring, TenantID: tenantID, ExternalURL: externalURL,
		Notifications: []notification.Notification{
			note(ruleID, "CPU high", "web-1", 93.5, at0),
			note(ruleID, "CPU high", "web-2", 97.25, at0.Add(time.Second)),
		},
	}
}

// digest folds three notifications of two rules.
func digest() notification.Outgoing {
	return notification.Outgoing{
		ID: "msg_77", Kind: notification.MessageDigest, Status: notify.NoticeFiring, TenantID: tenantID, ExternalURL: externalURL,
		Notifications: []notification.Notification{
			note(ruleID, "CPU high", "web-1", 93.5, at0),
			note(ruleID, "CPU high", "web-2", 97.25, at0.Add(time.Minute)),
			note(otherRuleID, "Disk full", "db-1", 99, at0.Add(2*time.Minute)),
		},
		Digest: &notify.Digest{Count: 3, Since: at0.UnixMilli(), Until: at0.Add(2 * time.Minute).UnixMilli(),
			ByRule: []notify.RuleCount{{RuleID: ruleID, Rule: "CPU high", N: 2}, {RuleID: otherRuleID, Rule: "Disk full", N: 1}}},
	}
}

func webhookChannel(u string) notify.Channel {
	c := notify.Defaults()
	c.ID, c.TenantID, c.Name, c.Kind = channelID, tenantID, "ops hook", notify.KindWebhook
	c.Webhook = &notify.WebhookSettings{URL: u}
	return c
}

func slackChannel() notify.Channel {
	c := notify.Defaults()
	c.ID, c.TenantID, c.Name, c.Kind = channelID, tenantID, "ops slack", notify.KindSlack
	c.Slack = &notify.SlackSettings{}
	return c
}

func newSecret(t *testing.T) string {
	t.Helper()
	s, err := webhook.NewSecret(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// received is one request a receiver got.
type received struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// receiver is a local HTTP server on 127.0.0.1 that records what it is
// sent and answers with answer (200 when nil).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(w http.ResponseWriter)
}

func newReceiver(t *testing.T, answer func(w http.ResponseWriter)) *receiver {
	t.Helper()
	r := &receiver{answer: answer}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Body: body})
		r.mu.Unlock()
		if r.answer == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		r.answer(w)
	}))
	t.Cleanup(r.Close)
	return r
}

// hostPort is what egress.Policy.AllowHosts names to allow r.
func (r *receiver) hostPort(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// status answers code with the headers given as name, value pairs.
func status(code int, header ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, http.StatusText(code))
	}
}
