package webui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/pulsemetrics/pulse/adapter/http/webui"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/accounts"
	"github.com/pulsemetrics/pulse/usecase/dashboards"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

const password = "correct horse battery"

// world is a web UI over a real SQLite store: tenants A and B, each with
// an admin and a viewer, a super-admin without tenant, and one dashboard
// with one widget per tenant.
type world struct {
	t       *testing.T
	h       *webui.Handler
	store   *sqldbtest.Stores
	clock   *clock
	dashA   int64
	widgetA int64
	dashB   int64
	widgetB int64
	// tenant ids by slug, and what the FiringCount stub answers for them
	tenantIDs map[string]int64
	firingMu  sync.Mutex
	firing    map[int64]int
	firingErr error
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var testDist = fstest.MapFS{
	"dist/app/.vite/manifest.json": {Data: []byte(`{"src/main.ts":{"file":"assets/main-abc.js","isEntry":true,"css":["assets/main-abc.css"],"imports":["_shared.js"]},
		"_shared.js":{"file":"assets/shared.js","css":["assets/shared.css"]}}`)},
	"dist/app/assets/main-abc.js": {Data: []byte("console.log('pulse')")},
}

func newWorld(t *testing.T) *world { t.Helper(); return newWorldWith(t, nil) }

// newWorldWith builds the world, letting edit change the web UI's Deps.
func newWorldWith(t *testing.T, edit func(*webui.Deps)) *world {
	t.Helper()
	ctx := context.Background()
	st := sqldbtest.SQLite(t).Store // migrated, closed when t ends
	c := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	hasher := accounts.Argon2id{Params: &argon2id.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}}
	acc := accounts.NewService(st, st, st, st, tenancy.AuditFunc(st.RecordAudit), hasher, nil, c.now)
	dash := dashboards.NewService(st, st, c.now)
	w := &world{t: t, store: st, clock: c, tenantIDs: map[string]int64{}, firing: map[int64]int{}}
	for _, slug := range []string{"alpha", "bravo"} {
		tn, _ := tenant.New(slug, strings.ToUpper(slug), 0, c.now())
		created, err := st.CreateTenant(ctx, tn)
		if err != nil {
			t.Fatal(err)
		}
		w.tenantIDs[slug] = created.ID
		for _, role := range []string{"admin", "viewer"} {
			if _, err := acc.CreateUser(ctx, audit.CLI(), accounts.NewUserSpec{Email: role + "@" + slug + ".test", Password: password, TenantSlug: slug, Role: role}); err != nil {
				t.Fatal(err)
			}
		}
		d, err := st.CreateDashboard(ctx, created.ID, "secret board of "+slug, c.now())
		if err != nil {
			t.Fatal(err)
		}
		wd, err := st.AddWidget(ctx, created.ID, d.ID, widgetOf("secret.metric."+slug), c.now())
		if err != nil {
			t.Fatal(err)
		}
		if slug == "alpha" {
			w.dashA, w.widgetA = d.ID, wd.ID
		} else {
			w.dashB, w.widgetB = d.ID, wd.ID
		}
	}
	if _, err := acc.CreateUser(ctx, audit.CLI(), accounts.NewUserSpec{Email: "root@platform.test", Password: password, SuperAdmin: true}); err != nil {
		t.Fatal(err)
	}
	echo := func(kind string) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			p, err := webui.PrincipalFrom(r)
			if errors.Is(err, token.ErrForbidden) {
				http.Error(rw, err.Error(), http.StatusForbidden)
				return
			}
			if err != nil {
				http.Error(rw, err.Error(), http.StatusUnauthorized)
				return
			}
			scopes := make([]string, len(p.Scopes))
			for i, sc := range p.Scopes {
				scopes[i] = string(sc)
			}
			_ = json.NewEncoder(rw).Encode(map[string]any{"kind": kind, "tenant": p.TenantSlug, "tenant_id": p.TenantID,
				"method": r.Method, "path": r.URL.Path, "scopes": scopes})
		})
	}
	d := webui.Deps{Accounts: acc, Dashboards: dash, Dist: testDist, MetricsQuery: echo("query"), MetricsNames: echo("names"), MetricsStream: echo("stream"),
		Alerts: echo("alerts"), Notifications: echo("notifications"), Exports: echo("exports"), FiringCount: w.countFiring, HealthQuery: echoHealth, HealthStream: echoHealth}
	if edit != nil {
		edit(&d)
	}
	w.h = webui.New(d)
	return w
}

// countFiring is the FiringCount stub: w.firing per tenant, or w.firingErr.
func (w *world) countFiring(_ context.Context, tenantID int64) (int, error) {
	w.firingMu.Lock()
	defer w.firingMu.Unlock()
	if w.firingErr != nil {
		return 0, w.firingErr
	}
	return w.firing[tenantID], nil
}

// browser keeps cookies like a browser and sends X-XSRF-TOKEN like axios.
type browser struct {
	w       *world
	cookies map[string]*http.Cookie
	addr    string
	noXSRF  bool
}

func (w *world) browser() *browser {
	return &browser{w: w, cookies: map[string]*http.Cookie{}, addr: "192.0.2.10:5555"}
}

// answer is one response.
type answer struct {
	status int
	header http.Header
	body   string
}

func (a answer) location() string { return a.header.Get("Location") }

func (b *browser) do(method, target string, body any, headers ...string) answer {
	b.w.t.Helper()
	var rd *bytes.Reader
	ctype := ""
	switch v := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(v))
	case url.Values:
		rd = bytes.NewReader([]byte(v.Encode()))
		ctype = "application/x-www-form-urlencoded"
	default:
		raw, _ := json.Marshal(v)
		rd = bytes.NewReader(raw)
		ctype = "application/json"
	}
	r := httptest.NewRequest(method, target, rd)
	r.RemoteAddr = b.addr
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	if c, ok := b.cookies["XSRF-TOKEN"]; ok && !b.noXSRF {
		r.Header.Set("X-XSRF-TOKEN", c.Value)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	b.w.h.ServeHTTP(rec, r)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return answer{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
}

// inertia does an Inertia visit (X-Inertia with the current version).
func (b *browser) inertia(method, target string, body any) answer {
	return b.do(method, target, body, "X-Inertia", "true", "X-Inertia-Version", b.version())
}

func (b *browser) version() string {
	r := httptest.NewRequest(http.MethodGet, "/login", nil)
	rec := httptest.NewRecorder()
	b.w.h.ServeHTTP(rec, r)
	i := strings.Index(rec.Body.String(), `"version":"`)
	if i < 0 {
		b.w.t.Fatalf("no version in the login page:\n%s", rec.Body.String())
	}
	rest := rec.Body.String()[i+len(`"version":"`):]
	return rest[:strings.Index(rest, `"`)]
}

// login logs the browser in as email and fails the test otherwise.
func (b *browser) login(email string) {
	b.w.t.Helper()
	b.do(http.MethodGet, "/login", nil)
	a := b.do(http.MethodPost, "/login", map[string]string{"email": email, "password": password})
	want := "/dashboards"
	if email == "root@platform.test" { // a super-admin of no tenant starts on the Health page
		want = "/health"
	}
	if a.status != http.StatusSeeOther || a.location() != want {
		b.w.t.Fatalf("login %s: %d %s\n%s", email, a.status, a.location(), a.body)
	}
}

// page decodes an Inertia JSON answer.
func page(t *testing.T, a answer) map[string]any {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal([]byte(a.body), &p); err != nil {
		t.Fatalf("not a page (%d): %v\n%s", a.status, err, a.body)
	}
	return p
}

func props(t *testing.T, a answer) map[string]any {
	t.Helper()
	p, _ := page(t, a)["props"].(map[string]any)
	return p
}

func errorsOf(t *testing.T, a answer) map[string]any {
	t.Helper()
	e, _ := props(t, a)["errors"].(map[string]any)
	return e
}

func path(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func newRequest(method, target string) *http.Request { return httptest.NewRequest(method, target, nil) }
