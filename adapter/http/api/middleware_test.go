package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsemetrics/pulse/adapter/http/api"
)

func TestPanicRecovery(t *testing.T) {
	e := newEnv(t)
	e.querier.panic = true
	a := e.do(http.MethodGet, "/api/metrics/query?name=cpu", readToken, nil)
	if a.status != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500; body %s", a.status, a.body)
	}
	if msg, _ := a.json(t)["error"].(string); msg != "internal server error" {
		t.Errorf("error = %q", msg)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, "querier exploded") || !strings.Contains(logs, "goroutine") {
		t.Errorf("panic not logged with its stack:\n%s", logs)
	}
	// The server keeps serving.
	e.querier.panic = false
	if a := e.do(http.MethodGet, "/api/metrics/query?name=cpu", readToken, nil); a.status != http.StatusOK {
		t.Errorf("after a panic: status = %d", a.status)
	}
	want := `pulse_http_requests_total{code="500",route="/api/metrics/query"} 1`
	if m := e.do(http.MethodGet, "/metrics", "", nil); !strings.Contains(string(m.body), want) {
		t.Errorf("the 500 is not counted as %s", want)
	}
}

func TestHealthAndReady(t *testing.T) {
	ok := func(context.Context) error { return nil }
	failing := func(context.Context) error { return errors.New("dial db: password=hunter2") }
	hanging := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	degraded := func(context.Context) error {
		return fmt.Errorf("%w: 3 entries in the dead-letter store", api.ErrDegraded)
	}
	tests := []struct {
		name       string
		checks     map[string]api.Checker
		status     int
		failing    []any
		wantStatus string
	}{
		{"no checks", nil, 200, nil, "ok"},
		{"all pass", map[string]api.Checker{"db": ok, "queue": ok}, 200, nil, "ok"},
		{"one fails", map[string]api.Checker{"db": failing, "queue": ok}, 503, []any{"db"}, "unavailable"},
		{"one hangs past the timeout", map[string]api.Checker{"broker": hanging, "db": ok}, 503, []any{"broker"}, "unavailable"},
		{"dead letters: serving, but degraded", map[string]api.Checker{"db": ok, "queue": degraded}, 200, nil, "degraded"},
		{"degraded and failing: failing wins", map[string]api.Checker{"db": failing, "queue": degraded}, 503, []any{"db"}, "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(d *api.Deps) { d.Checks = tt.checks })
			if a := e.do(http.MethodGet, "/healthz", "", nil); a.status != 200 || a.json(t)["status"] != "ok" {
				t.Errorf("healthz = %d %s", a.status, a.body)
			}
			begin := time.Now()
			a := e.do(http.MethodGet, "/readyz", "", nil)
			if took := time.Since(begin); took > 3*time.Second {
				t.Errorf("readyz took %s", took)
			}
			if a.status != tt.status {
				t.Fatalf("readyz = %d, want %d; %s", a.status, tt.status, a.body)
			}
			m := a.json(t)
			if f, _ := m["failing"].([]any); len(f) != len(tt.failing) || (len(f) > 0 && f[0] != tt.failing[0]) {
				t.Errorf("failing = %v, want %v", m["failing"], tt.failing)
			}
			if strings.Contains(string(a.body), "hunter2") {
				t.Errorf("check error leaked: %s", a.body)
			}
			if m["status"] != tt.wantStatus {
				t.Errorf("status = %v, want %s", m["status"], tt.wantStatus)
			}
			if tt.wantStatus == "degraded" && !strings.Contains(string(a.body), "dead-letter") {
				t.Errorf("a degraded check does not say why: %s", a.body)
			}
		})
	}
}

func TestMetricsEndpoint(t *testing.T) {
	e := newEnv(t)
	e.post(`[{"name":"a","value":1},{"name":"b","value":2}]`)
	e.post(`{"name":"a","value":"x"}`)
	e.do(http.MethodGet, "/nope", "", nil)
	a := e.do(http.MethodGet, "/metrics", "", nil)
	if a.status != http.StatusOK {
		t.Fatalf("status = %d", a.status)
	}
	body := string(a.body)
	for _, want := range []string{
		`pulse_http_requests_total{code="202",route="/api/metrics"} 1`,
		`pulse_http_requests_total{code="422",route="/api/metrics"} 1`,
		`pulse_http_requests_total{code="404",route="unmatched"} 1`,
		`pulse_http_request_duration_seconds_count{route="/api/metrics"} 2`,
		`pulse_ingest_samples_accepted_total 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	e := newEnv(t)
	if a := e.do(http.MethodGet, "/nope", "", nil); a.status != 404 || a.json(t)["error"] == nil {
		t.Errorf("unknown route = %d %s", a.status, a.body)
	}
	if a := e.do(http.MethodDelete, "/api/metrics", ingestToken, nil); a.status != 405 || a.json(t)["error"] == nil {
		t.Errorf("wrong method = %d %s", a.status, a.body)
	}
}

func TestTwoRoutersShareARegistry(t *testing.T) {
	e := newEnv(t)
	api.NewRouter(api.Deps{Auth: fakeAuth{}, Registerer: e.reg, Gatherer: e.reg})
}

func TestOpsRouter(t *testing.T) {
	e := newEnv(t)
	h := api.NewOpsRouter(api.OpsDeps{
		Checks:     map[string]api.Checker{"queue": func(context.Context) error { return nil }},
		Registerer: prometheus.NewRegistry(), Gatherer: e.reg,
	})
	for target, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/api/metrics/query?name=a": 404} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		if rec.Code != want {
			t.Errorf("%s = %d, want %d", target, rec.Code, want)
		}
	}
}
