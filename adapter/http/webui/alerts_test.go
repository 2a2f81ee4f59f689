package webui_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/http/webui"
)

func TestAlertPages(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	b.login("viewer@alpha.test")
	cases := []struct {
		target, component string
		props             map[string]any
	}{
		{"/alerts", "Alerts/Index", map[string]any{"page": 1.0}},
		{"/alerts?page=3", "Alerts/Index", map[string]any{"page": 3.0}},
		{"/alerts/new", "Alerts/Edit", map[string]any{"rule_id": nil}},
		{"/alerts/12/edit", "Alerts/Edit", map[string]any{"rule_id": 12.0}},
		{"/alerts/12", "Alerts/Show", map[string]any{"rule_id": 12.0}},
	}
	for _, c := range cases {
		a := b.inertia(http.MethodGet, c.target, nil)
		if a.status != http.StatusOK {
			t.Errorf("%s: %d\n%s", c.target, a.status, a.body)
			continue
		}
		p := page(t, a)
		if p["component"] != c.component {
			t.Errorf("%s: component %v, want %s", c.target, p["component"], c.component)
		}
		got := props(t, a)
		for k, want := range c.props {
			v, ok := got[k]
			if !ok || v != want {
				t.Errorf("%s: props.%s = %v (present %v), want %v", c.target, k, v, ok, want)
			}
		}
	}
	// A full (non-Inertia) load renders the root template with the page.
	if a := b.do(http.MethodGet, "/alerts/12", nil); a.status != http.StatusOK || !strings.Contains(a.body, `"component":"Alerts/Show"`) {
		t.Errorf("full load of /alerts/12: %d\n%.500s", a.status, a.body)
	}
	for target, status := range map[string]int{
		"/alerts?page=0":               422,
		"/alerts?page=abc":             422,
		"/alerts?page=1000001":         422,
		"/alerts/0":                    404,
		"/alerts/99999999999999999999": 404,
		"/alerts/abc":                  404,
		"/alerts/0/edit":               404,
	} {
		if a := b.inertia(http.MethodGet, target, nil); a.status != status || !strings.Contains(a.body, `"error":"`) {
			t.Errorf("%s: %d, want %d with an error\n%.300s", target, a.status, status, a.body)
		}
	}
}

// echoed is what the test's stand-in alert handler saw.
type echoed struct {
	Kind   string   `json:"kind"`
	Tenant string   `json:"tenant"`
	Method string   `json:"method"`
	Path   string   `json:"path"`
	Scopes []string `json:"scopes"`
}

func echoOf(t *testing.T, a answer) echoed {
	t.Helper()
	var e echoed
	if err := json.Unmarshal([]byte(a.body), &e); err != nil {
		t.Fatalf("not the alert handler's answer (%d): %s", a.status, a.body)
	}
	return e
}

func TestAlertDataRoutes(t *testing.T) {
	w := newWorld(t)
	admin := w.browser()
	admin.login("admin@alpha.test")
	rule := map[string]any{"name": "High load", "metric": "cpu.load", "op": ">", "threshold": 0.9, "window": "5m"}
	calls := []struct{ method, target string }{
		{http.MethodGet, "/ui/api/alert-rules?page=2&per_page=25"},
		{http.MethodPost, "/ui/api/alert-rules"},
		{http.MethodGet, "/ui/api/alert-rules/5"},
		{http.MethodPut, "/ui/api/alert-rules/5"},
		{http.MethodDelete, "/ui/api/alert-rules/5"},
		{http.MethodPost, "/ui/api/alert-rules/5/pause"},
		{http.MethodPost, "/ui/api/alert-rules/5/resume"},
		{http.MethodGet, "/ui/api/alert-rules/5/history?cursor=9"},
		{http.MethodGet, "/ui/api/alert-rules/5/episodes"},
		{http.MethodPost, "/ui/api/alert-rules/preview"},
		{http.MethodGet, "/ui/api/alerts?state=firing&rule_id=5&limit=10"},
	}
	for _, c := range calls {
		var body any
		if c.method == http.MethodPost || c.method == http.MethodPut {
			body = rule
		}
		a := admin.do(c.method, c.target, body)
		if a.status != http.StatusOK {
			t.Errorf("%s %s: %d\n%s", c.method, c.target, a.status, a.body)
			continue
		}
		e := echoOf(t, a)
		wantPath := strings.SplitN(c.target, "?", 2)[0]
		if e.Kind != "alerts" || e.Tenant != "alpha" || e.Method != c.method || e.Path != wantPath || strings.Join(e.Scopes, ",") != "read,admin" {
			t.Errorf("%s %s reached the handler as %+v", c.method, c.target, e)
		}
	}

	// A viewer's requests reach the handler with the read scope only (the
	// handler refuses its changes with 403, as for a read-only token).
	viewer := w.browser()
	viewer.login("viewer@alpha.test")
	if e := echoOf(t, viewer.do(http.MethodPost, "/ui/api/alert-rules", rule)); strings.Join(e.Scopes, ",") != "read" || e.Tenant != "alpha" {
		t.Errorf("viewer's principal %+v", e)
	}

	// CSRF applies to every change.
	admin.noXSRF = true
	for _, c := range calls {
		if c.method == http.MethodGet {
			continue
		}
		if a := admin.do(c.method, c.target, rule); a.status != webui.StatusPageExpired || strings.Contains(a.body, `"kind"`) {
			t.Errorf("%s %s without X-XSRF-TOKEN: %d %s", c.method, c.target, a.status, a.body)
		}
	}
	if a := admin.do(http.MethodPost, "/ui/api/alert-rules", rule, "X-XSRF-TOKEN", "forged"); a.status != webui.StatusPageExpired {
		t.Errorf("POST with a wrong token: %d %s", a.status, a.body)
	}
	admin.noXSRF = false

	// Logged out: 401 before the handler, even with a pre-session's token.
	out := w.browser()
	out.do(http.MethodGet, "/login", nil)
	for _, c := range calls {
		if a := out.do(c.method, c.target, rule); a.status != http.StatusUnauthorized || strings.Contains(a.body, `"kind"`) {
			t.Errorf("logged out %s %s: %d %s", c.method, c.target, a.status, a.body)
		}
	}
}

func TestAlertRoutesWithoutHandlerAre501(t *testing.T) {
	w := newWorldWith(t, func(d *webui.Deps) { d.Alerts = nil })
	b := w.browser()
	b.login("admin@alpha.test")
	for _, c := range []struct{ method, target string }{
		{http.MethodGet, "/ui/api/alert-rules"},
		{http.MethodPost, "/ui/api/alert-rules"},
		{http.MethodPost, "/ui/api/alert-rules/preview"},
		{http.MethodGet, "/ui/api/alerts"},
	} {
		a := b.do(c.method, c.target, map[string]any{})
		if a.status != http.StatusNotImplemented || !strings.Contains(a.body, `"error":"`) {
			t.Errorf("%s %s without Alerts: %d %s", c.method, c.target, a.status, a.body)
		}
	}
	// The pages still render: the app shows the API's 501.
	if a := b.inertia(http.MethodGet, "/alerts", nil); a.status != http.StatusOK {
		t.Errorf("GET /alerts without Alerts: %d", a.status)
	}
	out := w.browser()
	if a := out.do(http.MethodGet, "/ui/api/alert-rules", nil); a.status != http.StatusUnauthorized {
		t.Errorf("logged out without Alerts: %d", a.status)
	}
}

func firingOf(t *testing.T, a answer) any {
	t.Helper()
	v, ok := props(t, a)["alerts_firing"]
	if !ok {
		t.Fatalf("no alerts_firing prop (%d): %s", a.status, a.body)
	}
	return v
}

func TestAlertsFiringSharedProp(t *testing.T) {
	var logs bytes.Buffer
	w := newWorldWith(t, func(d *webui.Deps) { d.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	w.firing[w.tenantIDs["alpha"]] = 3

	out := w.browser()
	if v := firingOf(t, out.inertia(http.MethodGet, "/login", nil)); v != 0.0 {
		t.Errorf("logged out: alerts_firing %v", v)
	}
	alpha := w.browser()
	alpha.login("viewer@alpha.test")
	for _, p := range []string{"/dashboards", "/alerts", "/explore"} {
		if v := firingOf(t, alpha.inertia(http.MethodGet, p, nil)); v != 3.0 {
			t.Errorf("alpha on %s: alerts_firing %v, want 3", p, v)
		}
	}
	bravo := w.browser()
	bravo.login("admin@bravo.test")
	if v := firingOf(t, bravo.inertia(http.MethodGet, "/alerts", nil)); v != 0.0 {
		t.Errorf("bravo sees alerts_firing %v, want its own 0", v)
	}

	w.firingMu.Lock()
	w.firingErr = errors.New("database away")
	w.firingMu.Unlock()
	a := alpha.inertia(http.MethodGet, "/alerts", nil)
	if a.status != http.StatusOK {
		t.Fatalf("a failing count fails the page: %d %s", a.status, a.body)
	}
	if v := firingOf(t, a); v != 0.0 {
		t.Errorf("failing count: alerts_firing %v, want 0", v)
	}
	if !strings.Contains(logs.String(), "database away") {
		t.Errorf("the failing count is not logged: %q", logs.String())
	}

	none := newWorldWith(t, func(d *webui.Deps) { d.FiringCount = nil })
	nb := none.browser()
	nb.login("admin@alpha.test")
	if v := firingOf(t, nb.inertia(http.MethodGet, "/alerts", nil)); v != 0.0 {
		t.Errorf("no counter: alerts_firing %v", v)
	}
}
