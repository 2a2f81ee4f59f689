package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/http/api"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/export"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

const otherTenant = 8

func newExportEnv(t *testing.T, mod ...func(*api.Deps)) (*env, *fakeExports) {
	fx := newFakeExports(t, func() time.Time { return testNow })
	fx.add(export.Export{ID: 1, TenantID: tenantID, Status: export.StatusDone, Request: export.Request{Name: "cpu:load", Start: testNow.UnixMilli()}},
		"timestamp,unix_ms,name,value\r\n")
	fx.add(export.Export{ID: 2, TenantID: otherTenant, Status: export.StatusDone, Request: export.Request{Name: "other"}}, "theirs\r\n")
	fx.add(export.Export{ID: 3, TenantID: tenantID, Status: export.StatusRunning, Rows: 10, Progress: 0.5}, "")
	fx.add(export.Export{ID: 4, TenantID: tenantID, Status: export.StatusDone, Request: export.Request{Name: "m", Gzip: true}}, "\x1f\x8b...")
	fx.add(export.Export{ID: 5, TenantID: tenantID, Status: export.StatusFailed, Error: "the export has more than 5 rows"}, "")
	e := newEnv(t, append([]func(*api.Deps){func(d *api.Deps) { d.Exports = fx }}, mod...)...)
	return e, fx
}

func TestCreateExport(t *testing.T) {
	e, fx := newExportEnv(t)
	a := e.do(http.MethodPost, "/api/exports", readToken, strings.NewReader(
		`{"name":"cpu.load","tags":{"host":"a"},"start":"2026-11-25T09:00:00Z","end":1764064800,"interval":"5m","agg":"max","gzip":true}`))
	if a.status != http.StatusAccepted {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	if m := a.json(t); m["id"] != float64(101) || m["status"] != "queued" || len(m) != 2 {
		t.Errorf("answer %v, want {id, status: queued}", m)
	}
	if loc := a.header.Get("Location"); loc != "/api/exports/101" {
		t.Errorf("Location %q", loc)
	}
	want := export.Request{Name: "cpu.load", Tags: map[string]string{"host": "a"}, Start: testNow.Add(-time.Hour).UnixMilli(),
		End: time.Unix(1764064800, 0).UnixMilli(), Interval: "5m", Agg: "max", Gzip: true}
	if got := fx.created[0]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("request %+v, want %+v", got, want)
	}
	// Absent start and end: the last hour, as the query API.
	if a := e.do(http.MethodPost, "/api/exports", readToken, strings.NewReader(`{"name":"m","start":null}`)); a.status != http.StatusAccepted {
		t.Fatalf("defaults: status %d: %s", a.status, a.body)
	}
	if got := fx.created[1]; got.End != testNow.UnixMilli() || got.Start != testNow.Add(-time.Hour).UnixMilli() {
		t.Errorf("default range %d..%d", got.Start, got.End)
	}
}

func TestCreateExportRefusals(t *testing.T) {
	e, _ := newExportEnv(t)
	cases := []struct {
		name, tok, body string
		status          int
		msg             string
	}{
		{"no name", readToken, `{"start":"2026-11-25T09:00:00Z"}`, 422, "name is required"},
		{"bad start", readToken, `{"name":"m","start":"yesterday"}`, 422, "start must be an RFC 3339 time"},
		{"bad end type", readToken, `{"name":"m","end":true}`, 422, "end must be an RFC 3339 time"},
		{"unknown field", readToken, `{"name":"m","format":"xlsx"}`, 422, "documented fields"},
		{"no token", "", `{"name":"m"}`, 401, ""},
		{"wrong scope", ingestToken, `{"name":"m"}`, 403, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := e.do(http.MethodPost, "/api/exports", c.tok, strings.NewReader(c.body))
			if a.status != c.status {
				t.Fatalf("status %d, want %d: %s", a.status, c.status, a.body)
			}
			if msg, _ := a.json(t)["error"].(string); !strings.Contains(msg, c.msg) {
				t.Errorf("error %q, want it to say %q", msg, c.msg)
			}
		})
	}
}

var downloadURL = regexp.MustCompile(`^/exports/1\.csv\?exp=[0-9]+&sig=[A-Za-z0-9_-]+$`)

func TestGetExport(t *testing.T) {
	e, _ := newExportEnv(t)
	a := e.do(http.MethodGet, "/api/exports/1", readToken, nil)
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	m := a.json(t)
	if m["status"] != "done" || !downloadURL.MatchString(fmt.Sprint(m["download_url"])) || m["expires_at"] != "2026-11-25T11:00:00.000Z" {
		t.Errorf("done export %v", m)
	}
	if _, ok := m["error"]; ok {
		t.Errorf("a done export has an error field: %v", m)
	}
	running := e.do(http.MethodGet, "/api/exports/3", readToken, nil).json(t)
	if running["status"] != "running" || running["progress"] != 0.5 || running["rows"] != float64(10) || running["download_url"] != nil || running["expires_at"] != nil {
		t.Errorf("running export %v", running)
	}
	if failed := e.do(http.MethodGet, "/api/exports/5", readToken, nil).json(t); failed["error"] != "the export has more than 5 rows" {
		t.Errorf("failed export %v", failed)
	}
	for _, path := range []string{"/api/exports/2", "/api/exports/999"} { // another tenant's, and none
		if a := e.do(http.MethodGet, path, readToken, nil); a.status != http.StatusNotFound || !strings.Contains(string(a.body), "export not found") {
			t.Errorf("%s: status %d %s, want 404", path, a.status, a.body)
		}
	}
}

func TestDownloadExport(t *testing.T) {
	e, fx := newExportEnv(t)
	a := e.do(http.MethodGet, fx.link(1, tenantID, testNow.Add(time.Hour)), "", nil) // no token: the link is the credential
	if a.status != http.StatusOK || string(a.body) != "timestamp,unix_ms,name,value\r\n" {
		t.Fatalf("status %d: %q", a.status, a.body)
	}
	for k, want := range map[string]string{
		"Content-Type": "text/csv; charset=utf-8", "Content-Disposition": `attachment; filename="cpu_load-20261125T100000Z.csv"`,
		"Cache-Control": "no-store", "Content-Length": "30",
	} {
		if got := a.header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	gz := e.do(http.MethodGet, fx.link(4, tenantID, testNow.Add(time.Hour)), "", nil)
	if gz.status != http.StatusOK || gz.header.Get("Content-Type") != "application/gzip" ||
		gz.header.Get("Content-Disposition") != `attachment; filename="m-19700101T000000Z.csv.gz"` {
		t.Errorf("gzip download: %d %v", gz.status, gz.header)
	}
}

func TestDownloadRefusals(t *testing.T) {
	e, fx := newExportEnv(t)
	valid, _ := url.Parse(fx.link(1, tenantID, testNow.Add(time.Hour)))
	cases := []struct {
		name, path string
		status     int
	}{
		{"forged signature", "/exports/1.csv?exp=" + valid.Query().Get("exp") + "&sig=AAAA", http.StatusForbidden},
		{"no signature", "/exports/1.csv", http.StatusForbidden},
		{"a later expiry", "/exports/1.csv?exp=9999999999&sig=" + valid.Query().Get("sig"), http.StatusForbidden},
		{"expired", fx.link(1, tenantID, testNow.Add(-time.Second)), http.StatusForbidden},
		{"another tenant's export with a link of mine", "/exports/2.csv?" + valid.RawQuery, http.StatusForbidden},
		{"my export with a link signed for another tenant", fx.link(1, otherTenant, testNow.Add(time.Hour)), http.StatusForbidden},
		{"unknown id", fx.link(999, tenantID, testNow.Add(time.Hour)), http.StatusNotFound},
		{"not done", fx.link(3, tenantID, testNow.Add(time.Hour)), http.StatusConflict},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := e.do(http.MethodGet, c.path, readToken, nil)
			if a.status != c.status {
				t.Fatalf("status %d, want %d: %s", a.status, c.status, a.body)
			}
			if strings.Contains(string(a.body), "theirs") || strings.Contains(string(a.body), "timestamp") {
				t.Errorf("a refused download carries the file: %s", a.body)
			}
		})
	}
}

// The download outlasts the request timeout: the deadlines middleware
// leaves it alone (longLived).
func TestDownloadIsNotCutByTheRequestTimeout(t *testing.T) {
	e, fx := newExportEnv(t, func(d *api.Deps) { d.Limits.RequestTimeout = 50 * time.Millisecond })
	fx.copyDelay = 300 * time.Millisecond
	a := e.do(http.MethodGet, fx.link(1, tenantID, testNow.Add(time.Hour)), "", nil)
	if a.status != http.StatusOK || string(a.body) != "timestamp,unix_ms,name,value\r\n" {
		t.Fatalf("status %d: %q", a.status, a.body)
	}
}

// /exports/… is outside /api/, where the WebUI serves what no route
// matches: the download route is matched first.
func TestDownloadRouteBeatsTheWebUI(t *testing.T) {
	ui := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	e, fx := newExportEnv(t, func(d *api.Deps) { d.WebUI = ui })
	if a := e.do(http.MethodGet, fx.link(1, tenantID, testNow.Add(time.Hour)), "", nil); a.status != http.StatusOK {
		t.Fatalf("status %d, want the download", a.status)
	}
	if a := e.do(http.MethodGet, "/exports", "", nil); a.status != http.StatusTeapot {
		t.Errorf("/exports: status %d, want the WebUI's", a.status)
	}
}

func TestExportSessionHandlers(t *testing.T) {
	fx := newFakeExports(t, func() time.Time { return testNow })
	fx.add(export.Export{ID: 1, TenantID: tenantID, Status: export.StatusDone}, "x")
	fx.add(export.Export{ID: 2, TenantID: otherTenant, Status: export.StatusDone}, "y")
	h := api.NewExportHandlers(api.ExportDeps{Exports: fx, Principal: func(r *http.Request) (tenancy.Principal, error) {
		if r.Header.Get("X-Test-User") == "" {
			return tenancy.Principal{}, token.ErrUnauthenticated
		}
		return tenancy.Principal{TenantID: tenantID, Scopes: []token.Scope{token.ScopeRead}}, nil
	}})
	do := func(method, path, body string, user bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if user {
			req.Header.Set("X-Test-User", "ann")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := do(http.MethodPost, "/ui/api/exports", `{"name":"cpu.load"}`, true); rec.Code != http.StatusAccepted || fx.created[0].Name != "cpu.load" {
		t.Errorf("session create: %d %s", rec.Code, rec.Body)
	}
	if rec := do(http.MethodGet, "/ui/api/exports/1", "", true); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"download_url":"/exports/1.csv?exp=`) {
		t.Errorf("session get: %d %s", rec.Code, rec.Body)
	}
	if rec := do(http.MethodGet, "/ui/api/exports/2", "", true); rec.Code != http.StatusNotFound {
		t.Errorf("another tenant's export through the session: %d", rec.Code)
	}
	if rec := do(http.MethodGet, "/ui/api/exports/1", "", false); rec.Code != http.StatusUnauthorized {
		t.Errorf("logged out: %d", rec.Code)
	}
}
