package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Anonymous GET /metrics serves the process's own figures but no series
// that names a tenant; a platform admin (X-API-Token or Bearer, as
// Prometheus sends it) sees everything; a tenant token is refused.
func TestMetricsHideTenantsFromAnonymousScrapers(t *testing.T) {
	e := newEnv(t)
	perTenant := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pulse_test_per_tenant_total", Help: "x"}, []string{"tenant"})
	perTenant.WithLabelValues("acme").Add(3)
	e.reg.MustRegister(perTenant)
	own := prometheus.NewCounter(prometheus.CounterOpts{Name: "pulse_test_own_total", Help: "x"})
	own.Add(1)
	e.reg.MustRegister(own)

	anon := e.do(http.MethodGet, "/metrics", "", nil)
	if anon.status != http.StatusOK || !strings.Contains(string(anon.body), "pulse_test_own_total 1") {
		t.Fatalf("anonymous: %d %s", anon.status, anon.body)
	}
	if strings.Contains(string(anon.body), "acme") || strings.Contains(string(anon.body), "pulse_test_per_tenant_total") {
		t.Errorf("anonymous /metrics names a tenant:\n%s", anon.body)
	}
	for name, hdr := range map[string][]string{
		"X-API-Token":   nil,
		"Bearer header": {"Authorization", "Bearer " + adminToken},
	} {
		tok := adminToken
		if hdr != nil {
			tok = ""
		}
		a := e.do(http.MethodGet, "/metrics", tok, nil, hdr...)
		if a.status != http.StatusOK || !strings.Contains(string(a.body), `pulse_test_per_tenant_total{tenant="acme"} 3`) {
			t.Errorf("platform admin by %s: %d, want every series:\n%s", name, a.status, a.body)
		}
	}
	if a := e.do(http.MethodGet, "/metrics", readToken, nil); a.status != http.StatusForbidden {
		t.Errorf("tenant token: %d, want 403", a.status)
	}
	if a := e.do(http.MethodGet, "/metrics", "", nil, "Authorization", "Bearer nope"); a.status != http.StatusUnauthorized {
		t.Errorf("unknown bearer: %d, want 401", a.status)
	}
}
