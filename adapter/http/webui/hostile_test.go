package webui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pulsemetrics/pulse/adapter/http/webui"
)

func TestHostileInputs(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	b.login("admin@alpha.test")
	dash := fmt.Sprintf("/dashboards/%d", w.dashA)
	cases := []struct {
		name, method, target string
		body                 any
		headers              []string
		status               int
		errorField           string // a 303 back with this field in the error bag
	}{
		{"huge name", "POST", "/dashboards", map[string]string{"name": strings.Repeat("x", 5000)}, nil, 303, "name"},
		{"empty name", "POST", "/dashboards", map[string]string{"name": ""}, nil, 303, "name"},
		{"missing name", "POST", "/dashboards", map[string]string{}, nil, 303, "name"},
		{"control characters", "PATCH", dash, map[string]string{"name": "a\x00b"}, nil, 303, "name"},
		{"huge metric", "POST", dash + "/widgets", map[string]any{"metric": strings.Repeat("m", 10000)}, nil, 303, "metric"},
		{"bad agg", "POST", dash + "/widgets", map[string]any{"metric": "m", "agg": "median"}, nil, 303, "agg"},
		{"33 tags", "POST", dash + "/widgets", map[string]any{"metric": "m", "tags": manyTags(33)}, nil, 303, "tags"},
		{"bad JSON", "POST", "/dashboards", `{"name":`, []string{"Content-Type", "application/json"}, 400, ""},
		{"JSON array", "POST", "/dashboards", `["x"]`, []string{"Content-Type", "application/json"}, 400, ""},
		{"name not a string", "POST", "/dashboards", map[string]any{"name": 42}, nil, 400, ""},
		{"tags not strings", "POST", dash + "/widgets", map[string]any{"metric": "m", "tags": map[string]any{"a": 1}}, nil, 400, ""},
		{"wrong content type", "POST", "/dashboards", "name=x", []string{"Content-Type", "text/plain"}, 400, ""},
		{"broken content type", "POST", "/dashboards", "name=x", []string{"Content-Type", ";;;"}, 400, ""},
		{"body over 64 KiB", "POST", "/dashboards", map[string]string{"name": strings.Repeat("x", 70<<10)}, nil, 413, ""},
		{"form-encoded works", "POST", "/dashboards", url.Values{"name": {"Form"}}, nil, 303, ""},
		{"negative page", "GET", "/dashboards?page=-1", nil, nil, 422, ""},
		{"zero page", "GET", "/dashboards?page=0", nil, nil, 422, ""},
		{"huge page", "GET", "/dashboards?page=99999999999999999999", nil, nil, 422, ""},
		{"page not a number", "GET", "/dashboards?page=abc", nil, nil, 422, ""},
		{"page past the last", "GET", "/dashboards?page=500", nil, nil, 200, ""},
		{"id past int64", "GET", "/dashboards/99999999999999999999", nil, nil, 404, ""},
		{"id zero", "DELETE", "/dashboards/0", nil, nil, 404, ""},
		{"id not a number", "GET", "/dashboards/abc", nil, nil, 404, ""},
		{"unknown widget", "PATCH", dash + "/widgets/424242", map[string]any{"metric": "m"}, nil, 404, ""},
		{"method not allowed", "PUT", "/dashboards", nil, nil, 405, ""},
		// An asset path that is not UTF-8 names no file (it was a 500).
		{"asset path 0xff", "GET", "/build/%ff", nil, nil, 404, ""},
		{"asset path overlong slash", "GET", "/build/%c0%af", nil, nil, 404, ""},
		{"asset path encoded surrogate", "GET", "/build/assets/%ed%a0%80.js", nil, nil, 404, ""},
		{"asset path truncated sequence", "GET", "/build/assets/main-abc.js%e2%82", nil, nil, 404, ""},
		{"asset path not UTF-8, HEAD", "HEAD", "/build/assets/%ff", nil, nil, 404, ""},
	}
	for _, c := range cases {
		a := b.do(c.method, c.target, c.body, append([]string{"X-Inertia", "true", "X-Inertia-Version", b.version()}, c.headers...)...)
		if a.status != c.status {
			t.Errorf("%s: %d, want %d\n%.300s", c.name, a.status, c.status, a.body)
			continue
		}
		if c.status >= 400 && !strings.Contains(a.body, `"error":"`) {
			t.Errorf("%s: no error message: %.300s", c.name, a.body)
		}
		if c.errorField != "" {
			next := b.inertia(http.MethodGet, "/dashboards", nil)
			if msg, _ := errorsOf(t, next)[c.errorField].(string); msg == "" {
				t.Errorf("%s: no errors.%s on the next page: %v", c.name, c.errorField, errorsOf(t, next))
			}
		}
	}
}

func manyTags(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprintf("k%d", i)] = "v"
	}
	return m
}

func TestWidgetAndDashboardLifecycle(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	b.login("admin@alpha.test")
	a := b.inertia(http.MethodPost, "/dashboards", map[string]string{"name": "Hosts"})
	if a.status != 303 || !strings.HasPrefix(a.location(), "/dashboards/") {
		t.Fatalf("create: %d %q", a.status, a.location())
	}
	d := a.location()
	if a := b.inertia(http.MethodGet, d, nil); props(t, a)["flash"].(map[string]any)["success"] != "Dashboard created" {
		t.Errorf("flash %v", props(t, a)["flash"])
	}
	if a := b.inertia(http.MethodPost, d+"/widgets", widgetBody); a.status != 303 || a.location() != d {
		t.Fatalf("add widget: %d %q", a.status, a.location())
	}
	show := props(t, b.inertia(http.MethodGet, d, nil))["dashboard"].(map[string]any)
	wd := show["widgets"].([]any)[0].(map[string]any)
	if show["name"] != "Hosts" || wd["metric"] != "cpu.load" || wd["agg"] != "max" || wd["chart"] != "bar" || wd["position"] != 0.0 ||
		wd["tags"].(map[string]any)["host"] != "a" || show["updated_at"] == "" {
		t.Errorf("dashboard %v", show)
	}
	wid := fmt.Sprintf("%s/widgets/%.0f", d, wd["id"])
	if a := b.inertia(http.MethodPatch, wid, map[string]any{"metric": "mem.used", "chart": "area"}); a.status != 303 || a.location() != d {
		t.Errorf("update widget: %d %q", a.status, a.location())
	}
	if a := b.inertia(http.MethodDelete, wid, nil); a.status != 303 || a.location() != d {
		t.Errorf("delete widget: %d %q", a.status, a.location())
	}
	if a := b.inertia(http.MethodPatch, d, map[string]string{"name": "Renamed"}); a.status != 303 || a.location() != d {
		t.Errorf("rename: %d %q", a.status, a.location())
	}
	if a := b.inertia(http.MethodDelete, d, nil); a.status != 303 || a.location() != "/dashboards" {
		t.Errorf("delete: %d %q", a.status, a.location())
	}
	if a := b.inertia(http.MethodGet, d, nil); a.status != 404 {
		t.Errorf("deleted dashboard: %d", a.status)
	}
}

func TestAssetsNotBuiltAndDevMode(t *testing.T) {
	w := newWorld(t)
	for name, dist := range map[string]fstest.MapFS{"no build": {"dist/README.txt": {Data: []byte("x")}}, "broken manifest": {"dist/app/.vite/manifest.json": {Data: []byte("{")}}} {
		h := webui.New(webui.Deps{Accounts: nil, Dashboards: nil, Dist: dist})
		rec := serve(h, http.MethodGet, "/login")
		if rec.status != http.StatusServiceUnavailable || !strings.Contains(rec.body, "the UI is not built: run make frontend") {
			t.Errorf("%s: %d\n%s", name, rec.status, rec.body)
		}
	}
	dev := webui.New(webui.Deps{Dist: testDist, DevURL: "http://localhost:5173"})
	rec := serve(dev, http.MethodGet, "/login")
	if !strings.Contains(rec.body, `src="http://localhost:5173/build/@vite/client"`) || !strings.Contains(rec.body, `src="http://localhost:5173/build/src/main.ts"`) {
		t.Errorf("dev mode page:\n%s", rec.body)
	}
	csp := rec.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self' http://localhost:5173") || !strings.Contains(csp, "ws://localhost:5173") {
		t.Errorf("dev CSP %q", csp)
	}
	if csp := serve(w.h, http.MethodGet, "/login").header.Get("Content-Security-Policy"); strings.Contains(csp, "5173") {
		t.Errorf("production CSP allows the dev server: %q", csp)
	}
}

func serve(h http.Handler, method, target string) answer {
	rec := newRecorder()
	h.ServeHTTP(rec, newRequest(method, target))
	return answer{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
}
