package webui_test

import (
	"net/http"
	"testing"
)

// The export data routes reach the Exports handler with the session's
// principal (a viewer too: exporting is reading), after the CSRF check.
func TestExportDataRoutes(t *testing.T) {
	w := newWorld(t)
	viewer := w.browser()
	viewer.login("viewer@alpha.test")
	for _, c := range []struct{ method, target string }{
		{http.MethodPost, "/ui/api/exports"},
		{http.MethodGet, "/ui/api/exports/7"},
	} {
		var body any
		if c.method == http.MethodPost {
			body = map[string]any{"name": "cpu.load"}
		}
		a := viewer.do(c.method, c.target, body)
		if a.status != http.StatusOK {
			t.Errorf("%s %s: %d\n%s", c.method, c.target, a.status, a.body)
			continue
		}
		if e := echoOf(t, a); e.Kind != "exports" || e.Tenant != "alpha" || e.Method != c.method || e.Path != c.target {
			t.Errorf("%s %s reached the handler as %+v", c.method, c.target, e)
		}
	}
	viewer.noXSRF = true
	if a := viewer.do(http.MethodPost, "/ui/api/exports", map[string]any{"name": "cpu.load"}); a.status != 419 {
		t.Errorf("POST without the CSRF token: %d", a.status)
	}
}
