package features_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/http/api"
	"github.com/pulsemetrics/pulse/domain/token"
)

// TestIsolation proves tenant isolation over every endpoint, in both modes:
// for every registered (method, route) and every kind of caller it checks
// the status code, and that no answer (status, headers, body) carries a
// byte of a tenant's data unless the caller is that tenant (or the platform
// admin on the platform admin API). Each route runs twice, aimed at tenant
// A's resources and then at B's, so both directions are covered.
//
// A route registered in adapter/http/api without a row in isoRoutes fails
// the test: a new endpoint must join the matrix.
func TestIsolation(t *testing.T) {
	for _, mode := range []string{"embedded", "distributed"} {
		t.Run(mode, func(t *testing.T) {
			srv := isoStart(t, mode)
			t.Run("every route is in the matrix", func(t *testing.T) { isoCheckCoverage(t, srv) })
			w := isoSeed(t, srv)
			for _, target := range []*isoTenant{w.a, w.b} {
				for _, r := range isoRoutes {
					t.Run(fmt.Sprintf("%s %s aimed at %s", r.method, r.path, target.label), func(t *testing.T) {
						isoRunRoute(t, w, r, target)
					})
				}
			}
			t.Run("a tenant admin cannot see or revoke another tenant's tokens", func(t *testing.T) {
				isoCheckTokenIsolation(t, w, w.a, w.b)
				isoCheckTokenIsolation(t, w, w.b, w.a)
			})
		})
	}
}

// isoCaller is who calls, relative to the tenant a request is aimed at.
type isoCaller string

const (
	callerOwn       isoCaller = "own tenant's token with the route's scope"
	callerWrong     isoCaller = "own tenant's token with another scope"
	callerOther     isoCaller = "other tenant's token with the route's scope"
	callerRevoked   isoCaller = "own tenant's revoked token"
	callerMalformed isoCaller = "malformed token"
	callerUnknown   isoCaller = "well-formed unknown token"
	callerNone      isoCaller = "no token"
	callerPlatform  isoCaller = "platform-admin token"
)

// isoCallers is the order in which each row is called: the own tenant's
// token comes last, so the cross-tenant attempts meet resources (e.g. the
// victim token of DELETE /api/tokens/{id}) still intact.
var isoCallers = []isoCaller{callerOther, callerWrong, callerRevoked, callerMalformed, callerUnknown, callerNone, callerPlatform, callerOwn}

// isoAccess is who a route is for.
type isoAccess int

const (
	accessPublic   isoAccess = iota // no token needed, no tenant data
	accessTenant                    // a tenant token with scope; acts on that tenant only
	accessPlatform                  // a platform-admin token only; tenant tokens get 403
	// accessOps is public without a token (and then shows no tenant), in
	// full with a platform-admin token; a tenant token is refused (403), a
	// bad one 401: /metrics.
	accessOps
)

// isoRoute is one row of the matrix.
type isoRoute struct {
	method, path string // as registered (api.Routes)
	access       isoAccess
	scope        string // tenant routes: the token role that has the scope
	wrong        string // the token role of the same tenant that lacks it
	// own and other are the tenant routes' codes for the own tenant's token
	// and the other tenant's (right scope); ok is the code of a public
	// route for anyone and of a platform route for the platform admin.
	own, other, ok int
	// url is the request path and query, aimed at target.
	url func(w *isoWorld, target *isoTenant) string
	// body is the request body (nil: none).
	body func(w *isoWorld, target *isoTenant) []byte
	// idempotent sends one Idempotency-Key, the same for every caller of
	// the row: the own tenant's answer must not be a replay of the other
	// tenant's (keys are per tenant).
	idempotent bool
	// shows are strings the answer to a rightful caller must contain (the
	// own tenant on a tenant route, the platform admin on a platform
	// route): they prove that the markers would be found if they leaked.
	shows func(w *isoWorld, target *isoTenant) []string
	// otherEmpty: the other tenant's 200 must list nothing ("data": []).
	otherEmpty bool
}

func fixed(path string) func(*isoWorld, *isoTenant) string {
	return func(*isoWorld, *isoTenant) string { return path }
}

// isoRoutes is the matrix: one row per registered (method, route).
var isoRoutes = slices.Concat(isoCoreRoutes, isoNotifyRoutes, isoExportRoutes)

// isoCoreRoutes are the matrix's rows but the notification routes'.
var isoCoreRoutes = []isoRoute{
	{
		method: http.MethodPost, path: "/api/metrics", access: accessTenant, scope: "ingest", wrong: "read",
		own: http.StatusAccepted, other: http.StatusAccepted, url: fixed("/api/metrics"), idempotent: true,
		body: func(*isoWorld, *isoTenant) []byte { return []byte(`{"name":"iso.probe","value":1,"tags":{"k":"v"}}`) },
	},
	{
		method: http.MethodGet, path: "/api/metrics/query", access: accessTenant, scope: "read", wrong: "ingest",
		own: http.StatusOK, other: http.StatusOK, // the other tenant gets an empty answer
		url:   func(w *isoWorld, tn *isoTenant) string { return w.isoQueryPath(tn) },
		shows: func(_ *isoWorld, tn *isoTenant) []string { return []string{tn.tagValue, tn.value} },
	},
	{
		// Both tenants' metric names start with "secret-": the other
		// tenant's token lists its own name and must not see the target's
		// name or tag value, neither of which the request carries.
		method: http.MethodGet, path: "/api/metrics/names", access: accessTenant, scope: "read", wrong: "ingest",
		own: http.StatusOK, other: http.StatusOK,
		url:   fixed("/api/metrics/names?prefix=secret-&limit=1000"),
		shows: func(_ *isoWorld, tn *isoTenant) []string { return []string{tn.metric, tn.tagValue, `"owner"`} },
	},
	{
		// A stream is its tenant's: the other tenant's token opens its own
		// (empty) one; its answer here is the first event (ready).
		method: http.MethodGet, path: "/api/metrics/stream", access: accessTenant, scope: "read", wrong: "ingest",
		own: http.StatusOK, other: http.StatusOK,
		url:   func(_ *isoWorld, tn *isoTenant) string { return "/api/metrics/stream?name=" + tn.metric },
		shows: func(*isoWorld, *isoTenant) []string { return []string{"ready"} },
	},
	{
		method: http.MethodGet, path: "/api/tokens", access: accessTenant, scope: "admin", wrong: "read",
		own: http.StatusOK, other: http.StatusOK, // the other tenant lists its own tokens
		url: fixed("/api/tokens?limit=1000"),
		shows: func(_ *isoWorld, tn *isoTenant) []string {
			return []string{tn.tokens["admin"].id, tn.tokens["ingest"].name, tn.tokens["revoked"].id}
		},
	},
	{
		method: http.MethodPost, path: "/api/tokens", access: accessTenant, scope: "admin", wrong: "ingest",
		own: http.StatusCreated, other: http.StatusCreated, url: fixed("/api/tokens"),
		body: func(*isoWorld, *isoTenant) []byte { return []byte(`{"name":"iso-new","scopes":["read"]}`) },
	},
	{
		method: http.MethodDelete, path: "/api/tokens/{id}", access: accessTenant, scope: "admin", wrong: "read",
		own: http.StatusNoContent, other: http.StatusNotFound,
		url: func(_ *isoWorld, tn *isoTenant) string { return "/api/tokens/" + tn.tokens["victim"].id },
	},
	{
		method: http.MethodGet, path: "/api/admin/tenants", access: accessPlatform, scope: "admin", wrong: "read",
		ok: http.StatusOK, url: fixed("/api/admin/tenants?limit=1000"),
		shows: func(w *isoWorld, _ *isoTenant) []string { return []string{w.a.slug, w.b.slug} },
	},
	{
		method: http.MethodPost, path: "/api/admin/tenants", access: accessPlatform, scope: "admin", wrong: "read",
		ok: http.StatusCreated, url: fixed("/api/admin/tenants"),
		body: func(*isoWorld, *isoTenant) []byte { return []byte(fmt.Sprintf(`{"slug":"iso-new-%s"}`, isoSuffix())) },
	},
	{
		method: http.MethodPatch, path: "/api/admin/tenants/{slug}", access: accessPlatform, scope: "admin", wrong: "read",
		ok:  http.StatusOK,
		url: func(_ *isoWorld, tn *isoTenant) string { return "/api/admin/tenants/" + tn.slug },
		// Unchanged retention: the platform admin's call changes nothing.
		body: func(_ *isoWorld, tn *isoTenant) []byte {
			return []byte(fmt.Sprintf(`{"retention_days":%d}`, tn.retention))
		},
		shows: func(_ *isoWorld, tn *isoTenant) []string { return []string{tn.displayName} },
	},
	// Alerting: every rule route aimed at the target's rule is 404 for the
	// other tenant (the answer to a rule that does not exist); the lists
	// answer the caller's own tenant, and nothing of the target.
	{
		method: http.MethodGet, path: "/api/alert-rules", access: accessTenant, scope: "read", wrong: "ingest",
		own: http.StatusOK, other: http.StatusOK, url: fixed("/api/alert-rules?per_page=200"),
		shows: func(_ *isoWorld, tn *isoTenant) []string { return []string{tn.rule.name, tn.victim.name, tn.metric} },
	},
	{
		method: http.MethodPost, path: "/api/alert-rules", access: accessTenant, scope: "admin", wrong: "read",
		own: http.StatusCreated, other: http.StatusCreated, url: fixed("/api/alert-rules"),
		body: func(*isoWorld, *isoTenant) []byte {
			return []byte(`{"name":"iso-probe-rule","metric":"iso.probe","window":"5m","op":">","threshold":1}`)
		},
	},
	{
		// The rule names only the metric: the tag value and the value in
		// an answer can come only from the store.
		method: http.MethodPost, path: "/api/alert-rules/preview", access: accessTenant, scope: "read", wrong: "ingest",
		own: http.StatusOK, other: http.StatusOK, url: fixed("/api/alert-rules/preview"),
		body: func(w *isoWorld, tn *isoTenant) []byte {
			return []byte(fmt.Sprintf(`{"rule":{"name":"iso-preview","metric":%q,"agg":"max","window":"10m","op":">","threshold":1,"cadence":"1m","for":"0s"},"start":%q,"end":%q}`,
				tn.metric, w.seededAt.Add(-5*time.Minute).Format(time.RFC3339), w.seededAt.Add(5*time.Minute).Format(time.RFC3339)))
		},
		shows: func(_ *isoWorld, tn *isoTenant) []string { return []string{tn.tagValue, tn.value} },
	},
	{
		method: http.MethodGet, path: "/api/alert-rules/{id}", access: accessTenant, scope: "read", wrong: "ingest",
		own: http.StatusOK, other: http.StatusNotFound,
		url:   func(_ *isoWorld, tn *isoTenant) string { return tn.rule.path("") },
		shows: func(_ *isoWorld, tn *isoTenant) []string { return []string{tn.rule.name, tn.metric} },
	},
	{
		// The rule as it is: the rightful call changes nothing.
		method: http.MethodPut, path: "/api/alert-rules/{id}", access: accessTenant, scope: "admin", wrong: "read",
		own: http.StatusOK, other: http.StatusNotFound,
		url:   func(_ *isoWorld, tn *isoTenant) string { return tn.rule.path("") },
		body:  func(_ *isoWorld, tn *isoTenant) []byte { return tn.rule.body },
		shows: func(_ *isoWorld, tn *isoTenant) []string { return []string{tn.rule.name} },
	},
	{
		method: http.MethodDelete, path: "/api/alert-rules/{id}", access: accessTenant, scope: "admin", wrong: "read",
		own: http.StatusNoContent, other: http.StatusNotFound,
		url: func(_ *isoWorld, tn *isoTenant) string { return tn.victim.path("") },
	},
	{
		method: http.MethodPost, path: "/api/alert-rules/{id}/pause", access: accessTenant, scope: "admin", wrong: "read",
		own: http.StatusOK, other: http.StatusNotFound,
		url:   func(_ *isoWorld, tn *isoTenant) string { return tn.rule.path("/pause") },
		shows: func(_ *isoWorld, tn *isoTenant) []string { return []string{tn.rule.name, `"paused":true`} },
	},
	{
		method: http.MethodPost, path: "/api/alert-rules/{id}/resume", access: accessTenant, scope: "admin", wrong: "read",
		own: http.StatusOK, other: http.StatusNotFound,
		url:   func(_ *isoWorld, tn *isoTenant) string { return tn.rule.path("/resume") },
		shows: func(_ *isoWorld, tn *isoTenant) []string { return []string{tn.rule.name, `"paused":false`} },
	},
	{
		method: http.MethodGet, path: "/api/alert-rules/{id}/history", access: accessTenant, scope: "read", wrong: "ingest",
		own: http.StatusOK, other: http.StatusNotFound,
		url:   func(_ *isoWorld, tn *isoTenant) string { return tn.rule.path("/history") },
		shows: func(_ *isoWorld, tn *isoTenant) []string { return []string{tn.tagValue, tn.value, `"to":"firing"`} },
	},
	{
		method: http.MethodGet, path: "/api/alert-rules/{id}/episodes", access: accessTenant, scope: "read", wrong: "ingest",
		own: http.StatusOK, other: http.StatusNotFound,
		url:   func(_ *isoWorld, tn *isoTenant) string { return tn.rule.path("/episodes") },
		shows: func(_ *isoWorld, tn *isoTenant) []string { return []string{tn.tagValue, tn.value, `"fired_at"`} },
	},
	{
		method: http.MethodGet, path: "/api/alerts", access: accessTenant, scope: "read", wrong: "ingest",
		own: http.StatusOK, other: http.StatusOK, otherEmpty: true,
		url: func(_ *isoWorld, tn *isoTenant) string { return fmt.Sprintf("/api/alerts?rule_id=%d", tn.rule.id) },
		shows: func(_ *isoWorld, tn *isoTenant) []string {
			return []string{tn.rule.name, tn.tagValue, tn.value, `"state":"firing"`}
		},
	},
	{
		method: http.MethodGet, path: "/api/alert-outbox", access: accessTenant, scope: "admin", wrong: "read",
		own: http.StatusOK, other: http.StatusOK, url: fixed("/api/alert-outbox?limit=1000"),
		shows: func(_ *isoWorld, tn *isoTenant) []string { return []string{tn.rule.name, tn.tagValue, tn.value} },
	},
	{method: http.MethodGet, path: "/healthz", access: accessPublic, ok: http.StatusOK, url: fixed("/healthz")},
	{method: http.MethodHead, path: "/healthz", access: accessPublic, ok: http.StatusOK, url: fixed("/healthz")},
	{method: http.MethodGet, path: "/readyz", access: accessPublic, ok: http.StatusOK, url: fixed("/readyz")},
	{method: http.MethodHead, path: "/readyz", access: accessPublic, ok: http.StatusOK, url: fixed("/readyz")},
	{method: http.MethodGet, path: "/metrics", access: accessOps, ok: http.StatusOK, url: fixed("/metrics")},
}

// isoCheckCoverage fails for a registered route without a row, and for a
// row whose route is no longer registered.
func isoCheckCoverage(t *testing.T, srv *isoServer) {
	registered := api.Routes(srv.handler)
	if len(registered) == 0 {
		t.Fatal("api.Routes lists no route: the assembled handler is not the one api.NewRouter returns")
	}
	rows := map[string]bool{}
	for _, r := range isoRoutes {
		key := r.method + " " + r.path
		if rows[key] {
			t.Errorf("%s has two rows in isoRoutes", key)
		}
		rows[key] = true
	}
	seen := map[string]bool{}
	for _, r := range registered {
		seen[r.String()] = true
		if !rows[r.String()] {
			t.Errorf("route %s is registered but has no row in isoRoutes (features/isolation_test.go): "+
				"add one with its expected codes for every caller", r)
		}
	}
	for key := range rows {
		if !seen[key] {
			t.Errorf("isoRoutes has a row for %s, which is not registered", key)
		}
	}
}

// want is the expected status of a caller on a route.
func (r isoRoute) want(c isoCaller) int {
	switch r.access {
	case accessPublic:
		return r.ok
	case accessPlatform, accessOps:
		switch c {
		case callerPlatform:
			return r.ok
		case callerNone:
			if r.access == accessOps {
				return r.ok
			}
		case callerOwn, callerWrong, callerOther:
			return http.StatusForbidden
		}
		return http.StatusUnauthorized
	}
	switch c {
	case callerOwn:
		return r.own
	case callerOther:
		return r.other
	case callerWrong, callerPlatform:
		return http.StatusForbidden
	}
	return http.StatusUnauthorized
}

// token is what the caller presents when a request is aimed at target;
// tenant is the tenant the caller acts as (nil for none).
func (r isoRoute) token(w *isoWorld, c isoCaller, target *isoTenant) (tok string, tenant *isoTenant) {
	other := w.b
	if target == w.b {
		other = w.a
	}
	own, wrong := r.scope, r.wrong
	if r.access == accessPublic || r.access == accessOps { // any tenant token
		own, wrong = "read", "ingest"
	}
	switch c {
	case callerOwn:
		return target.tokens[own].plain, target
	case callerWrong:
		return target.tokens[wrong].plain, target
	case callerOther:
		return other.tokens[own].plain, other
	case callerRevoked:
		return target.tokens["revoked"].plain, nil // a revoked token acts as no one
	case callerMalformed:
		return w.malformed, nil
	case callerUnknown:
		return w.unknown, nil
	case callerPlatform:
		return w.platform.plain, nil
	}
	return "", nil
}

func isoRunRoute(t *testing.T, w *isoWorld, r isoRoute, target *isoTenant) {
	var idemKey string
	if r.idempotent {
		idemKey = w.idemKey(t)
	}
	requestIDs := map[isoCaller]string{}
	for _, c := range isoCallers {
		path := r.url(w, target)
		var body []byte
		if r.body != nil {
			body = r.body(w, target)
		}
		tok, actsAs := r.token(w, c, target)
		ans, err := w.srv.do(r.method, path, tok, body, "Idempotency-Key", idemKey)
		if err != nil {
			t.Errorf("%s: %v", c, err)
			continue
		}
		if want := r.want(c); ans.status != want {
			t.Errorf("%s: status %d, want %d\n%s", c, ans.status, want, ans.text())
		}
		// What the caller sent itself (a name in the query, an id in the
		// path, its own token) is not a leak when echoed back.
		request := r.method + " " + path + "\n" + string(body) + "\n" + tok
		isoCheckNoLeak(t, w, r, c, actsAs, request, ans)
		rightful := (r.access == accessTenant && c == callerOwn) || (r.access == accessPlatform && c == callerPlatform)
		if rightful && r.shows != nil && ans.status == r.want(c) {
			for _, s := range r.shows(w, target) {
				if !strings.Contains(string(ans.body), s) {
					t.Errorf("%s: the answer lacks %q, so this row would not see a leak either:\n%s", c, s, ans.text())
				}
			}
		}
		if r.idempotent && ans.status == http.StatusAccepted {
			var acc struct {
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(ans.body, &acc); err != nil || acc.RequestID == "" {
				t.Errorf("%s: 202 without a request_id: %v %s", c, err, ans.body)
			}
			requestIDs[c] = acc.RequestID
		}
		if r.otherEmpty && c == callerOther && ans.status == http.StatusOK {
			var list struct {
				Data []json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(ans.body, &list); err != nil || list.Data == nil || len(list.Data) != 0 {
				t.Errorf("%s: want an empty \"data\" list (%v):\n%s", c, err, ans.text())
			}
		}
		if r.path == "/api/metrics/query" && c == callerOther && ans.status == http.StatusOK {
			if n := isoSeriesCount(t, ans); n != 0 {
				t.Errorf("%s: %d series of the other tenant's metric, want none:\n%s", c, n, ans.text())
			}
		}
	}
	if own, other := requestIDs[callerOwn], requestIDs[callerOther]; own != "" && own == other {
		t.Errorf("the same Idempotency-Key replayed the other tenant's answer (request_id %s) to the own tenant", own)
	}
}

// isoCheckNoLeak fails when the answer carries data of a tenant the caller
// does not act as (the platform admin may see every tenant on the platform
// API), or any seeded token in full.
func isoCheckNoLeak(t *testing.T, w *isoWorld, r isoRoute, c isoCaller, actsAs *isoTenant, request string, ans isoAnswer) {
	t.Helper()
	text := ans.text()
	var leaks []string
	for _, m := range w.secrets() {
		if !strings.Contains(request, m.value) && strings.Contains(text, m.value) {
			leaks = append(leaks, "the "+m.what)
		}
	}
	if !((r.access == accessPlatform || r.access == accessOps) && c == callerPlatform) {
		for _, tn := range []*isoTenant{w.a, w.b} {
			if tn == actsAs {
				continue
			}
			for _, m := range tn.markers() {
				if !strings.Contains(request, m.value) && strings.Contains(text, m.value) {
					leaks = append(leaks, fmt.Sprintf("tenant %s's %s %q", tn.label, m.what, m.value))
				}
			}
		}
	}
	if len(leaks) > 0 {
		if len(text) > 2000 {
			text = text[:2000] + "…"
		}
		t.Errorf("%s: the answer carries %s:\n%s", c, strings.Join(leaks, ", "), text)
	}
}

// isoCheckTokenIsolation: mine's admin token neither sees nor revokes a
// token of theirs, and learns nothing from trying (the same answer as for
// an id that does not exist).
func isoCheckTokenIsolation(t *testing.T, w *isoWorld, mine, theirs *isoTenant) {
	admin := mine.tokens["admin"].plain
	target := isoIssue(t, w.srv, theirs, "target", []token.Scope{token.ScopeRead})

	list, err := w.srv.do(http.MethodGet, "/api/tokens?limit=1000", admin, nil)
	if err != nil || list.status != http.StatusOK {
		t.Fatalf("%s lists its tokens: %v\n%s", mine.label, err, list.text())
	}
	ids := isoTokenIDs(t, list)
	if _, ok := ids[mine.tokens["admin"].id]; !ok {
		t.Errorf("%s's list lacks its own admin token:\n%s", mine.label, list.text())
	}
	for role, tk := range theirs.tokens {
		if _, ok := ids[tk.id]; ok {
			t.Errorf("%s's list shows %s's %s token %s", mine.label, theirs.label, role, tk.id)
		}
	}
	if _, ok := ids[target.id]; ok {
		t.Errorf("%s's list shows %s's token %s", mine.label, theirs.label, target.id)
	}

	// An id that does not exist: the answer to compare with.
	absent, err := w.srv.do(http.MethodDelete, "/api/tokens/"+isoAbsentID(t), admin, nil)
	if err != nil || absent.status != http.StatusNotFound {
		t.Fatalf("revoke an absent id: %v\n%s", err, absent.text())
	}
	for _, id := range []string{target.id, "pulse_" + target.id} {
		ans, err := w.srv.do(http.MethodDelete, "/api/tokens/"+id, admin, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ans.status != http.StatusNotFound {
			t.Errorf("%s revokes %s's token as %s: %d, want 404\n%s", mine.label, theirs.label, id, ans.status, ans.text())
		}
		if string(ans.body) != string(absent.body) {
			t.Errorf("%s revoking %s's token answers %q, an absent id %q: the difference tells that it exists",
				mine.label, theirs.label, ans.body, absent.body)
		}
	}
	// Their token still works and is not revoked in their own list.
	if ans, err := w.srv.do(http.MethodGet, w.isoQueryPath(theirs), target.plain, nil); err != nil || ans.status != http.StatusOK {
		t.Errorf("%s's token after %s's attempts: %v\n%s", theirs.label, mine.label, err, ans.text())
	}
	theirList, err := w.srv.do(http.MethodGet, "/api/tokens?limit=1000", theirs.tokens["admin"].plain, nil)
	if err != nil || theirList.status != http.StatusOK {
		t.Fatalf("%s lists its tokens: %v\n%s", theirs.label, err, theirList.text())
	}
	if revoked, ok := isoTokenIDs(t, theirList)[target.id]; !ok || revoked {
		t.Errorf("%s's token %s after %s's attempts: listed=%v revoked=%v", theirs.label, target.id, mine.label, ok, revoked)
	}
}
