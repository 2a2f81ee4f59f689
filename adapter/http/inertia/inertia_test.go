package inertia_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/http/inertia"
)

func newRenderer() *inertia.Renderer {
	return inertia.New(inertia.Config{
		Version: func() string { return "v1" },
		Assets: func() inertia.Assets {
			return inertia.Assets{Styles: []string{"/build/app.css"}, Scripts: []string{"/build/app.js"}}
		},
		Shared: func(*http.Request) (inertia.Props, error) {
			return inertia.Props{"auth": map[string]any{"user": nil}, "app": "pulse"}, nil
		},
		Title: "Pulse",
	})
}

func inertiaRequest(method, target string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.Header.Set(inertia.HeaderInertia, "true")
	r.Header.Set(inertia.HeaderVersion, "v1")
	return r
}

func decodePage(t *testing.T, body []byte) inertia.Page {
	t.Helper()
	var p inertia.Page
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("page JSON: %v\n%s", err, body)
	}
	return p
}

var scriptRe = regexp.MustCompile(`(?s)<script data-page="app" type="application/json">(.*?)</script>`)

func TestFirstVisitRendersRootHTML(t *testing.T) {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/dashboards?page=2", nil)
	if err := newRenderer().Render(rec, r, "Dashboards/Index", inertia.Props{"n": 1}); err != nil {
		t.Fatal(err)
	}
	body := rec.Body.String()
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || rec.Header().Get("Vary") != "X-Inertia" {
		t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
	}
	for _, want := range []string{`<div id="app"></div>`, `<link rel="stylesheet" href="/build/app.css">`, `<script type="module" src="/build/app.js"></script>`, "<title>Pulse</title>"} {
		if !strings.Contains(body, want) {
			t.Errorf("root page lacks %s:\n%s", want, body)
		}
	}
	m := scriptRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no page script:\n%s", body)
	}
	p := decodePage(t, []byte(m[1]))
	if p.Component != "Dashboards/Index" || p.URL != "/dashboards?page=2" || p.Version != "v1" || p.Props["n"] != 1.0 || p.Props["app"] != "pulse" {
		t.Errorf("page %+v", p)
	}
	if _, ok := p.Props["errors"].(map[string]any); !ok {
		t.Errorf("errors prop missing: %+v", p.Props)
	}
}

func TestPageJSONCannotBreakOutOfTheScript(t *testing.T) {
	hostile := `</script><script>alert(1)</script><!-- ]]> ` + "\u2028\u2029" + ` & "quotes" 'single'`
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/x?q=</script><script>alert(2)</script>", nil)
	if err := newRenderer().Render(rec, r, "Explore", inertia.Props{"name": hostile}); err != nil {
		t.Fatal(err)
	}
	body := rec.Body.String()
	if strings.Count(strings.ToLower(body), "</script>") != 2 { // the module script and the page script
		t.Errorf("a prop ended a script element:\n%s", body)
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<!--") {
		t.Errorf("hostile markup in the root page:\n%s", body)
	}
	m := scriptRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no page script:\n%s", body)
	}
	if p := decodePage(t, []byte(m[1])); p.Props["name"] != hostile {
		t.Errorf("prop round trip: %q, want %q", p.Props["name"], hostile)
	}
}

func TestInertiaRequestGetsJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	if err := newRenderer().Render(rec, inertiaRequest(http.MethodGet, "/explore"), "Explore", nil); err != nil {
		t.Fatal(err)
	}
	if rec.Header().Get("X-Inertia") != "true" || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") ||
		rec.Header().Get("Vary") != "X-Inertia" {
		t.Errorf("headers %v", rec.Header())
	}
	if p := decodePage(t, rec.Body.Bytes()); p.Component != "Explore" || p.URL != "/explore" {
		t.Errorf("page %+v", p)
	}
}

func TestVersionMismatch(t *testing.T) {
	rd := newRenderer()
	called := false
	h := rd.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	cases := []struct {
		name    string
		method  string
		version string
		inert   bool
		status  int
		called  bool
	}{
		{"stale GET", http.MethodGet, "v0", true, http.StatusConflict, false},
		{"current GET", http.MethodGet, "v1", true, http.StatusOK, true},
		{"stale POST goes through", http.MethodPost, "v0", true, http.StatusOK, true},
		{"plain browser GET", http.MethodGet, "", false, http.StatusOK, true},
	}
	for _, c := range cases {
		called = false
		r := httptest.NewRequest(c.method, "/dashboards?page=3", nil)
		if c.inert {
			r.Header.Set("X-Inertia", "true")
			r.Header.Set("X-Inertia-Version", c.version)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != c.status || called != c.called {
			t.Errorf("%s: status %d called %v", c.name, rec.Code, called)
		}
		if c.status == http.StatusConflict && rec.Header().Get("X-Inertia-Location") != "/dashboards?page=3" {
			t.Errorf("%s: X-Inertia-Location %q", c.name, rec.Header().Get("X-Inertia-Location"))
		}
		if rec.Header().Get("Vary") != "X-Inertia" {
			t.Errorf("%s: Vary %q", c.name, rec.Header().Get("Vary"))
		}
	}
}

func TestPartialReloadsAndOptionalProps(t *testing.T) {
	evaluated := map[string]int{}
	props := func() inertia.Props {
		return inertia.Props{
			"a": 1, "b": 2,
			"lazy": inertia.Lazy(func(context.Context) (any, error) { evaluated["lazy"]++; return "L", nil }),
			"opt":  inertia.Optional(func(context.Context) (any, error) { evaluated["opt"]++; return "O", nil }),
		}
	}
	cases := []struct {
		name              string
		component, only   string
		except            string
		want              []string
		evalLazy, evalOpt int
	}{
		{"full visit: optional left out", "", "", "", []string{"a", "b", "lazy", "app", "auth", "flash", "errors"}, 1, 0},
		{"only a", "Page", "a", "", []string{"a", "errors"}, 0, 0},
		{"only opt: evaluated", "Page", "opt,lazy", "", []string{"opt", "lazy", "errors"}, 1, 1},
		{"except b and lazy", "Page", "", "b,lazy", []string{"a", "app", "auth", "flash", "errors"}, 0, 0},
		{"only and except", "Page", "a,b", "b", []string{"a", "errors"}, 0, 0},
		{"other component: full props", "Other", "a", "", []string{"a", "b", "lazy", "app", "auth", "flash", "errors"}, 1, 0},
	}
	for _, c := range cases {
		clear(evaluated)
		r := inertiaRequest(http.MethodGet, "/p")
		if c.component != "" {
			r.Header.Set(inertia.HeaderPartialComponent, c.component)
			r.Header.Set(inertia.HeaderPartialData, c.only)
			r.Header.Set(inertia.HeaderPartialExcept, c.except)
		}
		rec := httptest.NewRecorder()
		if err := newRenderer().Render(rec, r, "Page", props()); err != nil {
			t.Fatal(err)
		}
		p := decodePage(t, rec.Body.Bytes())
		if len(p.Props) != len(c.want) {
			t.Errorf("%s: props %v, want %v", c.name, keys(p.Props), c.want)
		}
		for _, k := range c.want {
			if _, ok := p.Props[k]; !ok {
				t.Errorf("%s: prop %s missing from %v", c.name, k, keys(p.Props))
			}
		}
		if evaluated["lazy"] != c.evalLazy || evaluated["opt"] != c.evalOpt {
			t.Errorf("%s: evaluated %v", c.name, evaluated)
		}
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestLazyPropErrorWritesNothing(t *testing.T) {
	rec := httptest.NewRecorder()
	err := newRenderer().Render(rec, inertiaRequest(http.MethodGet, "/p"), "Page",
		inertia.Props{"x": inertia.Lazy(func(context.Context) (any, error) { return nil, errors.New("boom") })})
	if err == nil || rec.Body.Len() != 0 || rec.Code != 200 || rec.Header().Get("X-Inertia") != "" {
		t.Errorf("err %v, body %q", err, rec.Body.String())
	}
}

func TestRedirects(t *testing.T) {
	rd := newRenderer()
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		rec := httptest.NewRecorder()
		rd.Redirect(rec, inertiaRequest(m, "/dashboards/1"), "/dashboards")
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/dashboards" {
			t.Errorf("%s: %d %q, want 303 /dashboards", m, rec.Code, rec.Header().Get("Location"))
		}
	}
	rec := httptest.NewRecorder()
	rd.Location(rec, inertiaRequest(http.MethodGet, "/x"), "/login")
	if rec.Code != http.StatusConflict || rec.Header().Get("X-Inertia-Location") != "/login" {
		t.Errorf("Location for Inertia: %d %v", rec.Code, rec.Header())
	}
	rec = httptest.NewRecorder()
	rd.Location(rec, httptest.NewRequest(http.MethodGet, "/x", nil), "/login")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Errorf("Location for a browser: %d %v", rec.Code, rec.Header())
	}
	for ref, want := range map[string]string{
		"http://example.com/dashboards/3?tab=w": "/dashboards/3?tab=w",
		"http://evil.test/phish":                "/fallback",
		"http://example.com//evil.test/x":       "/fallback",
		"":                                      "/fallback",
	} {
		r := httptest.NewRequest(http.MethodPost, "/dashboards", nil)
		r.Header.Set("Referer", ref)
		rec := httptest.NewRecorder()
		rd.Back(rec, r, "/fallback")
		if rec.Header().Get("Location") != want {
			t.Errorf("Back from %q: %q, want %q", ref, rec.Header().Get("Location"), want)
		}
	}
}

func TestErrorBagIsFlashedOnce(t *testing.T) {
	rd := newRenderer()
	post := httptest.NewRecorder()
	if err := rd.WithErrors(post, httptest.NewRequest(http.MethodPost, "/dashboards", nil), map[string]string{"name": "name is required"}); err != nil {
		t.Fatal(err)
	}
	rd.Redirect(post, httptest.NewRequest(http.MethodPost, "/dashboards", nil), "/dashboards")
	cookies := post.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("flash cookie %+v", cookies)
	}
	get := inertiaRequest(http.MethodGet, "/dashboards")
	get.AddCookie(cookies[0])
	rec := httptest.NewRecorder()
	if err := rd.Render(rec, get, "Dashboards/Index", nil); err != nil {
		t.Fatal(err)
	}
	p := decodePage(t, rec.Body.Bytes())
	if errs, _ := p.Props["errors"].(map[string]any); errs["name"] != "name is required" {
		t.Errorf("errors prop %v", p.Props["errors"])
	}
	cleared := rec.Result().Cookies()
	if len(cleared) != 1 || cleared[0].MaxAge >= 0 {
		t.Errorf("the flash cookie is not cleared after one page: %+v", cleared)
	}
	// A forged, undecodable cookie reads as no flash.
	bad := inertiaRequest(http.MethodGet, "/dashboards")
	bad.AddCookie(&http.Cookie{Name: "inertia_flash", Value: "%%%not-base64"})
	rec = httptest.NewRecorder()
	if err := rd.Render(rec, bad, "Dashboards/Index", nil); err != nil {
		t.Fatal(err)
	}
	if errs, _ := decodePage(t, rec.Body.Bytes()).Props["errors"].(map[string]any); len(errs) != 0 {
		t.Errorf("forged flash read as %v", errs)
	}
}

func TestUnbuiltAssets(t *testing.T) {
	rd := inertia.New(inertia.Config{Assets: func() inertia.Assets {
		return inertia.Assets{Unavailable: "the UI is not built: run make frontend"}
	}})
	rec := httptest.NewRecorder()
	if err := rd.Render(rec, httptest.NewRequest(http.MethodGet, "/login", nil), "Login", nil); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "the UI is not built: run make frontend") {
		t.Errorf("%d\n%s", rec.Code, rec.Body.String())
	}
}

func TestRenderStatusWithOwnErrors(t *testing.T) {
	rec := httptest.NewRecorder()
	err := newRenderer().RenderStatus(rec, inertiaRequest(http.MethodPost, "/login"), http.StatusTooManyRequests, "Login",
		inertia.Props{"errors": map[string]string{"email": "Too many attempts"}})
	if err != nil {
		t.Fatal(err)
	}
	p := decodePage(t, rec.Body.Bytes())
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("X-Inertia") != "true" {
		t.Errorf("status %d headers %v", rec.Code, rec.Header())
	}
	if errs, _ := p.Props["errors"].(map[string]any); errs["email"] != "Too many attempts" {
		t.Errorf("errors %v", p.Props["errors"])
	}
}
