package httpbackend

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
)

func TestParseExposition(t *testing.T) {
	got := parseExposition([]byte(`# HELP pulse_queue_waiting Queue entries.
# TYPE pulse_queue_waiting gauge
pulse_queue_waiting 3
pulse_http_requests_total{route="/api/metrics",code="202"} 5
pulse_http_requests_total{route="/a b}{",code="429"} 2 1700000000000
pulse_flush_lag_seconds_sum 1.5
pulse_flush_lag_seconds_count 4
weird{unterminated="x 1
nan_one NaN
`))
	want := map[string]float64{"pulse_queue_waiting": 3, "pulse_http_requests_total": 7, "pulse_flush_lag_seconds_sum": 1.5, "pulse_flush_lag_seconds_count": 4}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestNewChecksTheURL(t *testing.T) {
	for _, bad := range []string{"", "localhost:8080", "ftp://x", "http://"} {
		if _, err := New(bad, "t", nil); err == nil || !strings.Contains(err.Error(), "PULSE_URL") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	c, err := New("http://localhost:8080/", "t", nil)
	if err != nil || c.URL() != "http://localhost:8080" {
		t.Errorf("%v %v", c, err)
	}
}

// Ingest sends the token and the samples as Pulse takes them, waits out
// a 429's Retry-After, splits a batch Pulse finds too large, and names
// the field errors of a 422.
func TestIngest(t *testing.T) {
	var mu sync.Mutex
	var calls []int // samples per request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var got []wireSample
		_ = json.Unmarshal(body, &got)
		mu.Lock()
		calls = append(calls, len(got))
		n := len(calls)
		mu.Unlock()
		switch {
		case r.Header.Get("X-API-Token") != "tok":
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"missing token"}`))
		case got[0].Name == "bad":
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write([]byte(`{"error":"invalid samples","errors":[{"index":0,"field":"name","message":"must match"}]}`))
		case n == 1:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"error":"quota exceeded"}`))
		case len(got) > 2:
			w.WriteHeader(http.StatusRequestEntityTooLarge)
		default:
			if got[0].TS != 1_700_000_000_000 || got[0].Tags["host"] != "a" {
				t.Errorf("sample sent as %+v", got[0])
			}
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte(`{"request_id":"r","accepted":` + strconv.Itoa(len(got)) + `}`))
		}
	}))
	defer srv.Close()
	c, _ := New(srv.URL, "tok", nil)
	in := make([]metric.Input, 4)
	for i := range in {
		in[i] = metric.Input{Name: "x", Value: float64(i), HasValue: true, Tags: map[string]string{"host": "a"}, TS: time.UnixMilli(1_700_000_000_000), HasTS: true}
	}
	n, err := c.Ingest(context.Background(), in)
	if err != nil || n != 4 {
		t.Fatalf("Ingest = %d, %v", n, err)
	}
	if want := []int{4, 4, 2, 2}; !slices.Equal(calls, want) {
		t.Errorf("requests of %v samples, want %v (429, 413, two halves)", calls, want)
	}
	in[0].Name = "bad"
	if _, err := c.Ingest(context.Background(), in[:1]); err == nil || !strings.Contains(err.Error(), "422") || !strings.Contains(err.Error(), "[0] name: must match") {
		t.Errorf("422: %v", err)
	}
	c.token = "other"
	if _, err := c.Ingest(context.Background(), in[1:2]); err == nil || !strings.Contains(err.Error(), "PULSE_TOKEN") {
		t.Errorf("401: %v", err)
	}
}

// A 503 from /readyz is an answer; /metrics is read without the token;
// an unreachable Pulse says where it looked.
func TestReadinessFiguresAndUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"unavailable","checks":{"database":"failed"},"failing":["database"]}`))
		case "/metrics":
			if r.Header.Get("X-API-Token") != "" {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			_, _ = w.Write([]byte("pulse_queue_waiting 2\n"))
		}
	}))
	c, _ := New(srv.URL, "tok", nil)
	r, err := c.Readiness(context.Background())
	if err != nil || r.Status != "unavailable" || r.Failing[0] != "database" {
		t.Errorf("Readiness = %+v, %v", r, err)
	}
	f, err := c.Figures(context.Background())
	if err != nil || f["pulse_queue_waiting"] != 2 {
		t.Errorf("Figures = %v, %v", f, err)
	}
	srv.Close()
	if _, err := c.Readiness(context.Background()); err == nil || !strings.Contains(err.Error(), "cannot reach Pulse at "+srv.URL) {
		t.Errorf("unreachable: %v", err)
	}
}
