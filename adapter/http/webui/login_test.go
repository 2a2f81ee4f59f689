package webui_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/pulsemetrics/pulse/adapter/http/webui"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/dashboard"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/usecase/accounts"
	"github.com/pulsemetrics/pulse/usecase/dashboards"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

func widgetOf(metric string) dashboard.Widget {
	return dashboard.Widget{Title: metric, Metric: metric, Tags: map[string]string{"host": "a"}, Agg: dashboard.AggAvg, Chart: dashboard.ChartLine}
}

func TestLoginPageAndSession(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	a := b.do(http.MethodGet, "/", nil)
	if a.status != http.StatusSeeOther || a.location() != "/login" {
		t.Fatalf("GET / logged out: %d %q", a.status, a.location())
	}
	a = b.do(http.MethodGet, "/login", nil)
	if a.status != http.StatusOK || !strings.Contains(a.body, `"component":"Login"`) || !strings.Contains(a.body, `<div id="app"></div>`) ||
		!strings.Contains(a.body, `src="/build/assets/main-abc.js"`) || !strings.Contains(a.body, `href="/build/assets/shared.css"`) {
		t.Fatalf("login page %d:\n%s", a.status, a.body)
	}
	if b.cookies["XSRF-TOKEN"] == nil || b.cookies["XSRF-TOKEN"].HttpOnly || b.cookies["pulse_presession"] == nil || !b.cookies["pulse_presession"].HttpOnly {
		t.Fatalf("pre-session cookies %v", b.cookies)
	}
	preToken := b.cookies["XSRF-TOKEN"].Value
	a = b.do(http.MethodPost, "/login", map[string]string{"email": "ADMIN@alpha.test", "password": password})
	if a.status != http.StatusSeeOther || a.location() != "/dashboards" {
		t.Fatalf("login: %d %q %s", a.status, a.location(), a.body)
	}
	s := b.cookies["pulse_session"]
	if s == nil || !s.HttpOnly || s.SameSite != http.SameSiteLaxMode || s.Secure {
		t.Fatalf("session cookie %+v", s)
	}
	if b.cookies["XSRF-TOKEN"].Value == preToken {
		t.Error("the CSRF token is not rebound to the new session")
	}
	a = b.inertia(http.MethodGet, "/dashboards", nil)
	user := props(t, a)["auth"].(map[string]any)["user"].(map[string]any)
	if user["email"] != "admin@alpha.test" || user["role"] != "admin" || user["super_admin"] != false ||
		user["tenant"].(map[string]any)["slug"] != "alpha" || user["tenant"].(map[string]any)["name"] != "ALPHA" {
		t.Errorf("auth.user %v", user)
	}
	list := props(t, a)["dashboards"].(map[string]any)
	if list["total"] != 1.0 || list["page"] != 1.0 || list["per_page"] != 20.0 || list["last_page"] != 1.0 {
		t.Errorf("dashboards %v", list)
	}
	if a := b.do(http.MethodGet, "/", nil); a.status != http.StatusSeeOther || a.location() != "/dashboards" {
		t.Errorf("GET / logged in: %d %q", a.status, a.location())
	}
	// Secure over TLS.
	tb := w.browser()
	tb.do(http.MethodGet, "https://pulse.test/login", nil)
	tb.do(http.MethodPost, "https://pulse.test/login", map[string]string{"email": "admin@alpha.test", "password": password})
	if c := tb.cookies["pulse_session"]; c == nil || !c.Secure {
		t.Errorf("session cookie over TLS %+v", c)
	}
}

func TestWrongPasswordFlashesTheErrorOnce(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	b.do(http.MethodGet, "/login", nil)
	for _, creds := range []map[string]string{
		{"email": "admin@alpha.test", "password": "wrong password"},
		{"email": "nobody@alpha.test", "password": password},
	} {
		a := b.do(http.MethodPost, "/login", creds)
		if a.status != http.StatusSeeOther || a.location() != "/login" || b.cookies["pulse_session"] != nil {
			t.Fatalf("bad credentials: %d %q", a.status, a.location())
		}
		a = b.inertia(http.MethodGet, "/login", nil)
		if msg, _ := errorsOf(t, a)["email"].(string); !strings.Contains(msg, "do not match") {
			t.Errorf("errors.email %q", msg)
		}
		if a = b.inertia(http.MethodGet, "/login", nil); len(errorsOf(t, a)) != 0 {
			t.Errorf("the error bag is shown twice: %v", errorsOf(t, a))
		}
	}
}

func TestLoginThrottling(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	b.do(http.MethodGet, "/login", nil)
	for i := range 5 {
		if a := b.do(http.MethodPost, "/login", map[string]string{"email": "admin@alpha.test", "password": "wrong password"}); a.status != http.StatusSeeOther {
			t.Fatalf("failure %d: %d", i+1, a.status)
		}
		w.clock.add(time.Second)
	}
	a := b.inertia(http.MethodPost, "/login", map[string]string{"email": "admin@alpha.test", "password": password})
	if a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") == "" || a.header.Get("X-Inertia") != "true" {
		t.Fatalf("6th attempt: %d %v\n%s", a.status, a.header, a.body)
	}
	if msg, _ := errorsOf(t, a)["email"].(string); msg != "Too many attempts; try again in 15 minutes" {
		t.Errorf("errors.email %q", msg)
	}
	// Another client address is not throttled for the same email.
	other := w.browser()
	other.addr = "198.51.100.7:1234"
	other.login("admin@alpha.test")
	// Once the window has passed, the right password works again.
	w.clock.add(15 * time.Minute)
	b.login("admin@alpha.test")
}

// gatedHasher is argon2id (cheap parameters) whose Verify waits for gate
// to close, announcing itself on entered first.
type gatedHasher struct {
	accounts.Argon2id
	gate    chan struct{}
	entered chan struct{}
}

func (h *gatedHasher) Verify(password, hash string) (bool, error) {
	h.entered <- struct{}{}
	<-h.gate
	return h.Argon2id.Verify(password, hash)
}

// newSlotWorld is a web UI over a real SQLite store whose accounts service
// has one hashing slot, waited for 20 ms, and the gated hasher; one user,
// admin@alpha.test.
func newSlotWorld(t *testing.T, h *gatedHasher) *world {
	t.Helper()
	ctx := context.Background()
	st := sqldbtest.SQLite(t).Store // migrated, closed when t ends
	c := &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	acc := accounts.NewService(st, st, st, st, tenancy.AuditFunc(st.RecordAudit), h, nil, c.now,
		accounts.WithHashSlots(1), accounts.WithHashWait(20*time.Millisecond))
	tn, _ := tenant.New("alpha", "ALPHA", 0, c.now())
	if _, err := st.CreateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	if _, err := acc.CreateUser(ctx, audit.CLI(), accounts.NewUserSpec{Email: "admin@alpha.test", Password: password, TenantSlug: "alpha"}); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, store: st, clock: c}
	w.h = webui.New(webui.Deps{Accounts: acc, Dashboards: dashboards.NewService(st, st, c.now), Dist: testDist,
		MetricsQuery: http.NotFoundHandler(), MetricsNames: http.NotFoundHandler()})
	return w
}

// While every hashing slot is taken, a burst of logins is answered 503
// with Retry-After and the Login page's error (Inertia or not), never 500;
// the refused attempts do not count against the throttle.
func TestLoginBurstBeyondTheHashSlotsIs503(t *testing.T) {
	h := &gatedHasher{Argon2id: accounts.Argon2id{Params: &argon2id.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}},
		gate: make(chan struct{}), entered: make(chan struct{}, 64)}
	w := newSlotWorld(t, h)
	holder := w.browser()
	holder.do(http.MethodGet, "/login", nil)
	held := make(chan answer, 1)
	go func() {
		held <- holder.do(http.MethodPost, "/login", map[string]string{"email": "admin@alpha.test", "password": "wrong password"})
	}()
	<-h.entered // the only slot is taken

	// A parallel burst from other clients, known and unknown emails,
	// Inertia visits and plain posts.
	const burst = 8
	answers := make(chan answer, burst)
	var wg sync.WaitGroup
	for i := range burst {
		b := w.browser()
		b.addr = path("198.51.100.%d:4000", i+1)
		b.do(http.MethodGet, "/login", nil)
		email := "admin@alpha.test"
		if i%2 == 1 {
			email = "nobody@alpha.test"
		}
		creds := map[string]string{"email": email, "password": password}
		wg.Go(func() {
			if i%4 < 2 {
				answers <- b.inertia(http.MethodPost, "/login", creds)
			} else {
				answers <- b.do(http.MethodPost, "/login", creds)
			}
		})
	}
	wg.Wait()
	close(answers)
	inertiaPages := 0
	for a := range answers {
		if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") != "1" {
			t.Errorf("login beyond the slots: %d, Retry-After %q\n%s", a.status, a.header.Get("Retry-After"), a.body)
			continue
		}
		if a.header.Get("X-Inertia") == "true" {
			inertiaPages++
			if msg, _ := errorsOf(t, a)["email"].(string); !strings.Contains(msg, "try again in a moment") {
				t.Errorf("errors.email %q", msg)
			}
		} else if !strings.Contains(a.body, `"component":"Login"`) {
			t.Errorf("plain 503 is not the Login page:\n%s", a.body)
		}
	}
	if inertiaPages != burst/2 {
		t.Errorf("%d Inertia pages among the 503s, want %d", inertiaPages, burst/2)
	}

	// More refusals than the throttle allows failures, from one client:
	// none counts, so the right password still works once a slot is free.
	b := w.browser()
	b.do(http.MethodGet, "/login", nil)
	for i := range accounts.MaxFailures + 2 {
		if a := b.do(http.MethodPost, "/login", map[string]string{"email": "admin@alpha.test", "password": "wrong password"}); a.status != http.StatusServiceUnavailable {
			t.Fatalf("refusal %d: %d, want 503", i+1, a.status)
		}
	}
	close(h.gate)
	if a := <-held; a.status != http.StatusSeeOther || a.location() != "/login" {
		t.Errorf("the login holding the slot: %d %q, want 303 /login (wrong password)", a.status, a.location())
	}
	b.login("admin@alpha.test")
}

func TestLogout(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	b.login("admin@alpha.test")
	old := b.cookies["pulse_session"].Value
	a := b.do(http.MethodPost, "/logout", nil)
	if a.status != http.StatusSeeOther || a.location() != "/login" || b.cookies["pulse_session"] != nil {
		t.Fatalf("logout: %d %q %v", a.status, a.location(), b.cookies)
	}
	if a := b.do(http.MethodGet, "/dashboards", nil); a.status != http.StatusSeeOther || a.location() != "/login" {
		t.Errorf("after logout: %d %q", a.status, a.location())
	}
	// The old session id no longer works, even when replayed.
	replay := w.browser()
	replay.cookies["pulse_session"] = &http.Cookie{Name: "pulse_session", Value: old}
	if a := replay.do(http.MethodGet, "/ui/api/metrics/names", nil); a.status != http.StatusUnauthorized {
		t.Errorf("replayed session: %d", a.status)
	}
	// A session ends after 12 idle hours.
	b.login("admin@alpha.test")
	w.clock.add(12 * time.Hour)
	if a := b.do(http.MethodGet, "/dashboards", nil); a.status != http.StatusSeeOther || a.location() != "/login" {
		t.Errorf("after 12 idle hours: %d %q", a.status, a.location())
	}
}

func TestCSRF(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	b.login("admin@alpha.test")
	cases := []struct {
		name   string
		mutate func(b *browser) func()
	}{
		{"missing header", func(b *browser) func() { b.noXSRF = true; return func() { b.noXSRF = false } }},
		{"wrong token", func(b *browser) func() {
			c := b.cookies["XSRF-TOKEN"]
			b.cookies["XSRF-TOKEN"] = &http.Cookie{Name: c.Name, Value: "forged"}
			return func() { b.cookies["XSRF-TOKEN"] = c }
		}},
		{"another session's token", func(b *browser) func() {
			o := w.browser()
			o.login("viewer@alpha.test")
			c := b.cookies["XSRF-TOKEN"]
			b.cookies["XSRF-TOKEN"] = o.cookies["XSRF-TOKEN"]
			return func() { b.cookies["XSRF-TOKEN"] = c }
		}},
	}
	for _, c := range cases {
		undo := c.mutate(b)
		for _, req := range []struct{ method, path string }{
			{http.MethodPost, "/dashboards"}, {http.MethodPatch, path("/dashboards/%d", w.dashA)},
			{http.MethodDelete, path("/dashboards/%d/widgets/%d", w.dashA, w.widgetA)}, {http.MethodPost, "/logout"},
		} {
			if a := b.do(req.method, req.path, map[string]string{"name": "x"}); a.status != 419 {
				t.Errorf("%s: %s %s: %d, want 419", c.name, req.method, req.path, a.status)
			}
		}
		undo()
	}
	// Login itself needs the pre-session token.
	n := w.browser()
	if a := n.do(http.MethodPost, "/login", map[string]string{"email": "admin@alpha.test", "password": password}); a.status != 419 {
		t.Errorf("login without GET /login first: %d, want 419", a.status)
	}
	// Nothing was changed by the refused requests.
	if a := b.inertia(http.MethodGet, path("/dashboards/%d", w.dashA), nil); a.status != 200 || len(props(t, a)["dashboard"].(map[string]any)["widgets"].([]any)) != 1 {
		t.Errorf("dashboard after refused requests: %d %s", a.status, a.body)
	}
}

func TestSecurityHeaders(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	for _, p := range []string{"/login", "/build/assets/main-abc.js", "/ui/api/metrics/query", "/nope"} {
		a := b.do(http.MethodGet, p, nil)
		if a.header.Get("X-Frame-Options") != "DENY" || a.header.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(a.header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("%s: headers %v", p, a.header)
		}
	}
	if a := b.do(http.MethodGet, "/build/assets/main-abc.js", nil); a.status != 200 || a.body != "console.log('pulse')" {
		t.Errorf("asset: %d %q", a.status, a.body)
	}
	if a := b.do(http.MethodGet, "/build/.vite/manifest.json", nil); a.status != http.StatusNotFound {
		t.Errorf("manifest served: %d", a.status)
	}
}

// A super-admin of no tenant has no dashboards: logging in, the login page
// and / send them to the Health page instead of a 403.
func TestSuperAdminWithoutTenantLandsOnHealth(t *testing.T) {
	w := newWorld(t)
	root := w.browser()
	root.login("root@platform.test") // checks the 303 to /health
	for _, p := range []string{"/", "/login"} {
		if a := root.do(http.MethodGet, p, nil); a.status != http.StatusSeeOther || a.location() != "/health" {
			t.Errorf("GET %s: %d %s; want 303 /health", p, a.status, a.location())
		}
	}
	if a := root.inertia(http.MethodGet, "/health", nil); a.status != http.StatusOK {
		t.Fatalf("GET /health: %d", a.status)
	}
}
