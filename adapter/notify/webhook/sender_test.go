package webhook

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/notify/egress"
)

var clock = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// receiver is an httptest server on 127.0.0.1 answering by path, counting
// requests, and a sender whose policy allows exactly its host:port.
type receiver struct {
	srv    *httptest.Server
	hits   atomic.Int32
	sender *Sender
}

func newReceiver(t *testing.T, h http.HandlerFunc) *receiver {
	t.Helper()
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		h(w, req)
	}))
	t.Cleanup(r.srv.Close)
	u, _ := url.Parse(r.srv.URL)
	r.sender = &Sender{Client: egress.NewClient(egress.Policy{AllowHosts: []string{u.Host}}), Now: func() time.Time { return clock }}
	return r
}

func testSecret(t *testing.T) string {
	t.Helper()
	s, err := NewSecret(strings.NewReader(strings.Repeat("k", 24)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSendDelivers(t *testing.T) {
	secret := testSecret(t)
	body, err := Payload(exampleGroup())
	if err != nil {
		t.Fatal(err)
	}
	var verified atomic.Bool
	r := newReceiver(t, func(w http.ResponseWriter, req *http.Request) {
		got, _ := io.ReadAll(req.Body)
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
			t.Errorf("got %s %q", req.Method, req.Header.Get("Content-Type"))
		}
		if req.Header.Get("webhook-id") != "msg_abc" {
			t.Errorf("webhook-id %q", req.Header.Get("webhook-id"))
		}
		if err := Verify(secret, req.Header, got, clock.Add(time.Second), DefaultTolerance); err != nil {
			t.Errorf("receiver cannot verify: %v", err)
		} else {
			verified.Store(true)
		}
		_, _ = io.WriteString(w, "ok")
	})
	res, err := r.sender.Send(t.Context(), r.srv.URL+"/hook", secret, "msg_abc", body)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Delivered || res.Retryable || res.Status != 200 || res.Body != "ok" {
		t.Errorf("result %+v, want delivered", res)
	}
	if !verified.Load() || r.hits.Load() != 1 {
		t.Errorf("verified %v, %d requests", verified.Load(), r.hits.Load())
	}
}

func TestSendClassifiesAnswers(t *testing.T) {
	date := clock.Add(90 * time.Second).Format(http.TimeFormat)
	var elsewhere atomic.Int32
	r := newReceiver(t, func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/204":
			w.WriteHeader(http.StatusNoContent)
		case "/500":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/503":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/429":
			w.Header().Set("Retry-After", date)
			w.WriteHeader(http.StatusTooManyRequests)
		case "/408":
			w.WriteHeader(http.StatusRequestTimeout)
		case "/503-huge":
			w.Header().Set("Retry-After", "99999999999999999999999")
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/502-past":
			w.Header().Set("Retry-After", clock.Add(-time.Hour).Format(http.TimeFormat))
			w.WriteHeader(http.StatusBadGateway)
		case "/410":
			http.Error(w, "gone", http.StatusGone)
		case "/400":
			http.Error(w, "x"+strings.Repeat("é", 2000), http.StatusBadRequest)
		case "/302":
			http.Redirect(w, req, "/elsewhere", http.StatusFound)
		case "/elsewhere":
			elsewhere.Add(1)
		}
	})
	cases := []struct {
		path       string
		status     int
		delivered  bool
		retryable  bool
		retryAfter time.Duration
	}{
		{"/204", 204, true, false, 0},
		{"/500", 500, false, true, 0},
		{"/503", 503, false, true, 7 * time.Second},
		{"/429", 429, false, true, 90 * time.Second},
		{"/408", 408, false, true, 0},
		{"/503-huge", 503, false, true, MaxRetryAfter},
		{"/502-past", 502, false, true, 0},
		{"/410", 410, false, false, 0},
		{"/400", 400, false, false, 0},
		{"/302", 302, false, false, 0},
	}
	for _, c := range cases {
		res, err := r.sender.Send(t.Context(), r.srv.URL+c.path, testSecret(t), "msg_1", []byte("{}"))
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		if res.Status != c.status || res.Delivered != c.delivered || res.Retryable != c.retryable || res.RetryAfter != c.retryAfter {
			t.Errorf("%s: %+v, want status %d delivered %v retryable %v after %v", c.path, res, c.status, c.delivered, c.retryable, c.retryAfter)
		}
	}
	if elsewhere.Load() != 0 {
		t.Errorf("the 302's Location was fetched %d times", elsewhere.Load())
	}
	res, _ := r.sender.Send(t.Context(), r.srv.URL+"/400", testSecret(t), "msg_1", []byte("{}"))
	if len(res.Body) > MaxResultBody || !strings.HasPrefix(res.Body, "xé") || len(res.Body) != MaxResultBody-1 || strings.ContainsRune(res.Body, '\uFFFD') {
		t.Errorf("body of %d bytes, want at most %d of valid UTF-8", len(res.Body), MaxResultBody)
	}
}

// A receiver on loopback that the policy does not allow gets nothing,
// whichever way its URL is written.
func TestSendRefusesLoopbackNotAllowed(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	s := &Sender{Client: egress.NewClient(egress.Policy{AllowHosts: []string{"127.0.0.1:1"}})}
	for _, target := range []string{
		srv.URL + "/hook",                              // https://127.0.0.1:port, a literal
		"http://" + u.Host + "/hook",                   // plain http
		"https://localhost:" + u.Port() + "/hook",      // a name: refused by name
		"https://2130706433:" + u.Port() + "/hook",     // decimal spelling
		"https://[::ffff:127.0.0.1]:" + u.Port() + "/", // IPv4-mapped
	} {
		res, err := s.Send(t.Context(), target, testSecret(t), "msg_1", []byte("{}"))
		var re *egress.RefusedError
		if !errors.As(err, &re) || res.Retryable || res.Delivered {
			t.Errorf("%s: %+v %v, want a final refusal", target, res, err)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the receiver got %d requests", hits.Load())
	}
}

func TestSendNetworkErrorIsRetryable(t *testing.T) {
	r := newReceiver(t, func(http.ResponseWriter, *http.Request) {})
	target := r.srv.URL + "/hook"
	r.srv.Close()
	res, err := r.sender.Send(t.Context(), target, testSecret(t), "msg_1", []byte("{}"))
	if err == nil || !res.Retryable || res.Status != 0 {
		t.Errorf("%+v %v, want a retryable error without a status", res, err)
	}
}

func TestSendRefusesBadInput(t *testing.T) {
	r := newReceiver(t, func(http.ResponseWriter, *http.Request) {})
	for name, c := range map[string][3]string{
		"bad secret": {r.srv.URL, "whsec_!!", "msg_1"},
		"bad id":     {r.srv.URL, testSecret(t), "a.b"},
		"bad URL":    {"http://h\x7f/s3cret", testSecret(t), "msg_1"},
	} {
		res, err := r.sender.Send(t.Context(), c[0], c[1], c[2], []byte("{}"))
		if err == nil || res.Retryable || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: %+v %v, want a final error not quoting the URL", name, res, err)
		}
	}
	if r.hits.Load() != 0 {
		t.Errorf("%d requests sent", r.hits.Load())
	}
	if _, err := (&Sender{}).Send(t.Context(), r.srv.URL, testSecret(t), "msg_1", nil); err == nil {
		t.Error("a sender without a client sent")
	}
}

func TestRetryAfter(t *testing.T) {
	for v, want := range map[string]time.Duration{
		"":      0,
		"0":     0,
		" 120 ": 2 * time.Minute,
		"3600":  time.Hour,
		"3601":  MaxRetryAfter,
		"-5":    0,
		"1.5":   0,
		"soon":  0,
		clock.Add(30 * time.Second).Format(http.TimeFormat): 30 * time.Second,
		clock.Add(30 * time.Second).Format(time.RFC850):     30 * time.Second,
		clock.Add(30 * time.Second).Format(time.ANSIC):      30 * time.Second,
		clock.Add(48 * time.Hour).Format(http.TimeFormat):   MaxRetryAfter,
	} {
		if got := retryAfter(v, clock); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}
