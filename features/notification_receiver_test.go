package features_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulsemetrics/pulse/adapter/notify/webhook"
)

// A webhook receiver of notifications.feature: an HTTP server on
// 127.0.0.1 that records every request (headers and body) and answers as
// its script says ("500 once, then 200").

// receivedRequest is one request a receiver got.
type receivedRequest struct {
	path   string
	header http.Header
	body   []byte
}

// scripted is one answer of a receiver's script.
type scripted struct {
	status     int
	retryAfter string // the Retry-After header, "" none
	location   string // the Location header, "" none
}

type webhookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []receivedRequest
	script []scripted // answered in order; the last one again and again
}

// startReceiver starts a receiver answering 200 until told otherwise.
func startReceiver() *webhookReceiver {
	r := &webhookReceiver{script: []scripted{{status: http.StatusOK}}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve)) // 127.0.0.1:0
	return r
}

func (r *webhookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.got = append(r.got, receivedRequest{path: req.URL.Path, header: req.Header.Clone(), body: body})
	a := r.script[0]
	if len(r.script) > 1 {
		r.script = r.script[1:]
	}
	r.mu.Unlock()
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	if a.location != "" {
		w.Header().Set("Location", a.location)
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, http.StatusText(a.status))
}

// hostPort is what PULSE_NOTIFY_ALLOW_HOSTS names to allow this receiver.
func (r *webhookReceiver) hostPort() string { return strings.TrimPrefix(r.srv.URL, "http://") }

func (r *webhookReceiver) requests() []receivedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedRequest(nil), r.got...)
}

func (r *webhookReceiver) answer(script []scripted) {
	r.mu.Lock()
	r.script = script
	r.mu.Unlock()
}

func (r *webhookReceiver) close() { r.srv.Close() }

// answerRE is one answer of a script: a status, maybe a Retry-After, maybe
// a redirect to another receiver, maybe "once".
var answerRE = regexp.MustCompile(`^(\d{3})(?: with Retry-After: (\d+))?(?: to the receiver "([^"]*)")?(?: once)?$`)

// parseScript reads "500 once, then 200", "410",
// "503 with Retry-After: 120 once, then 200" or
// `302 to the receiver "other"`; redirects point to /other of the named
// receiver.
func (n *notifySteps) parseScript(text string) ([]scripted, error) {
	var out []scripted
	for part := range strings.SplitSeq(text, ", then ") {
		m := answerRE.FindStringSubmatch(strings.TrimSpace(part))
		if m == nil {
			return nil, fmt.Errorf(`answer %q: want "<status>[ with Retry-After: <seconds>][ to the receiver "<name>"][ once]"`, part)
		}
		status, _ := strconv.Atoi(m[1])
		a := scripted{status: status, retryAfter: m[2]}
		if m[3] != "" {
			to, err := n.receiver(m[3])
			if err != nil {
				return nil, err
			}
			a.location = to.srv.URL + "/other"
		}
		out = append(out, a)
	}
	return out, nil
}

// ---- what a receiver got ----

// amMessage is the Alertmanager-style webhook body, as a receiver reads it.
type amMessage struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	TruncatedAlerts   *int              `json:"truncatedAlerts"`
	Alerts            []struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     string            `json:"startsAt"`
		EndsAt       string            `json:"endsAt"`
		GeneratorURL string            `json:"generatorURL"`
		Fingerprint  string            `json:"fingerprint"`
	} `json:"alerts"`
}

// signedMessage is a request read as a message, its signature checked.
type signedMessage struct {
	id  string // webhook-id
	msg amMessage
}

// messages reads every request of the receiver as a webhook message of one
// of the scenario's channels (its "receiver" field names it) and checks
// each signature with that channel's secret: a request that is not one is
// an error.
func (n *notifySteps) messages(r *webhookReceiver) ([]signedMessage, error) {
	var out []signedMessage
	for i, req := range r.requests() {
		var m amMessage
		if err := json.Unmarshal(req.body, &m); err != nil {
			return nil, fmt.Errorf("request %d to %s is not JSON: %v: %s", i+1, req.path, err, truncate(req.body))
		}
		ch, ok := n.channels[m.Receiver]
		if !ok {
			return nil, fmt.Errorf("request %d names the receiver %q, no channel of this scenario: %s", i+1, m.Receiver, truncate(req.body))
		}
		if err := webhook.Verify(ch.secret, req.header, req.body, time.Now(), 5*time.Minute); err != nil {
			return nil, fmt.Errorf("request %d (channel %q): the signature does not verify with the channel's secret: %w; headers %v", i+1, m.Receiver, err, req.header)
		}
		if ct := req.header.Get("Content-Type"); ct != "application/json" {
			return nil, fmt.Errorf("request %d (channel %q): Content-Type %q, want application/json", i+1, m.Receiver, ct)
		}
		if err := checkAlertmanager(m); err != nil {
			return nil, fmt.Errorf("request %d (channel %q): %w: %s", i+1, m.Receiver, err, truncate(req.body))
		}
		out = append(out, signedMessage{id: req.header.Get("webhook-id"), msg: m})
	}
	return out, nil
}

// checkAlertmanager checks the fields an Alertmanager webhook receiver
// reads.
func checkAlertmanager(m amMessage) error {
	switch {
	case m.Version != "4":
		return fmt.Errorf("version %q, want \"4\"", m.Version)
	case m.Status != "firing" && m.Status != "resolved":
		return fmt.Errorf("status %q is neither firing nor resolved", m.Status)
	case m.GroupKey == "":
		return fmt.Errorf("no groupKey")
	case len(m.Alerts) == 0:
		return fmt.Errorf("no alerts")
	case m.TruncatedAlerts == nil || m.GroupLabels == nil || m.CommonLabels == nil || m.CommonAnnotations == nil:
		return fmt.Errorf("truncatedAlerts, groupLabels, commonLabels or commonAnnotations missing")
	}
	for i, a := range m.Alerts {
		if a.Status != "firing" && a.Status != "resolved" {
			return fmt.Errorf("alerts[%d].status %q", i, a.Status)
		}
		if a.Labels["alertname"] == "" || a.Fingerprint == "" {
			return fmt.Errorf("alerts[%d] has no alertname label or no fingerprint", i)
		}
		if _, err := time.Parse(time.RFC3339, a.StartsAt); err != nil {
			return fmt.Errorf("alerts[%d].startsAt %q: %w", i, a.StartsAt, err)
		}
		if a.Status == "resolved" {
			if _, err := time.Parse(time.RFC3339, a.EndsAt); err != nil || strings.HasPrefix(a.EndsAt, "0001-") {
				return fmt.Errorf("resolved alerts[%d].endsAt %q is not a time", i, a.EndsAt)
			}
		}
	}
	return nil
}
