package webui_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// The web UI's route × caller matrix (the session-based counterpart of
// features/isolation_test.go, whose callers are API tokens). Every route
// of webui.Handler.Routes() must have a row; each row runs against a fresh
// world, aimed at tenant alpha's dashboard and widget and then at bravo's,
// for every kind of caller, and checks the status and that no answer to
// another tenant's user carries the target's data.

type caller string

const (
	loggedOut   caller = "logged out"
	superNoTen  caller = "super-admin without tenant"
	otherAdmin  caller = "admin of the other tenant"
	ownViewer   caller = "viewer of the target tenant"
	ownAdmin    caller = "admin of the target tenant"
	statusNoRow        = -1
)

// callers run in this order: the target's admin last, so that a deletion
// by the rightful caller comes after every refused attempt.
var callers = []caller{loggedOut, superNoTen, otherAdmin, ownViewer, ownAdmin}

type target struct {
	slug, other   string
	dash, widget  int64
	markers       []string // what only the target's users may see
	otherDash     int64
	otherWidgetID int64
}

type matrixRow struct {
	method, path string
	url          func(tg target) string
	body         any
	want         map[caller]int
}

func dashURL(tg target) string   { return fmt.Sprintf("/dashboards/%d", tg.dash) }
func widgetURL(tg target) string { return fmt.Sprintf("/dashboards/%d/widgets/%d", tg.dash, tg.widget) }
func fixedURL(p string) func(target) string {
	return func(target) string { return p }
}

var widgetBody = map[string]any{"title": "t", "metric": "cpu.load", "tags": map[string]string{"host": "a"}, "agg": "max", "chart": "bar"}

// change is the row of a state-changing tenant route: viewers 403, other
// tenants 404 (never 403), no tenant 403, logged out 401.
func change(method, path string, url func(target) string, body any, ok int) matrixRow {
	return matrixRow{method, path, url, body, map[caller]int{loggedOut: 401, superNoTen: 403, otherAdmin: 404, ownViewer: 403, ownAdmin: ok}}
}

var matrix = []matrixRow{
	{"GET", "/login", fixedURL("/login"), nil, map[caller]int{loggedOut: 200, superNoTen: 303, otherAdmin: 303, ownViewer: 303, ownAdmin: 303}},
	{"POST", "/login", fixedURL("/login"), map[string]string{"email": "nobody@x.test", "password": "wrong password"},
		map[caller]int{loggedOut: 303, superNoTen: 303, otherAdmin: 303, ownViewer: 303, ownAdmin: 303}},
	{"POST", "/logout", fixedURL("/logout"), nil, map[caller]int{loggedOut: 303, superNoTen: 303, otherAdmin: 303, ownViewer: 303, ownAdmin: 303}},
	{"GET", "/", fixedURL("/"), nil, map[caller]int{loggedOut: 303, superNoTen: 303, otherAdmin: 303, ownViewer: 303, ownAdmin: 303}},
	{"GET", "/dashboards", fixedURL("/dashboards"), nil, map[caller]int{loggedOut: 303, superNoTen: 403, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	{"POST", "/dashboards", fixedURL("/dashboards"), map[string]string{"name": "new"},
		map[caller]int{loggedOut: 401, superNoTen: 403, otherAdmin: 303, ownViewer: 403, ownAdmin: 303}},
	{"GET", "/dashboards/{id:[0-9]+}", dashURL, nil, map[caller]int{loggedOut: 303, superNoTen: 403, otherAdmin: 404, ownViewer: 200, ownAdmin: 200}},
	change("PATCH", "/dashboards/{id:[0-9]+}", dashURL, map[string]string{"name": "renamed"}, 303),
	change("DELETE", "/dashboards/{id:[0-9]+}", dashURL, nil, 303),
	change("POST", "/dashboards/{id:[0-9]+}/widgets", func(tg target) string { return dashURL(tg) + "/widgets" }, widgetBody, 303),
	change("PATCH", "/dashboards/{id:[0-9]+}/widgets/{wid:[0-9]+}", widgetURL, widgetBody, 303),
	change("DELETE", "/dashboards/{id:[0-9]+}/widgets/{wid:[0-9]+}", widgetURL, nil, 303),
	{"GET", "/explore", fixedURL("/explore"), nil, map[caller]int{loggedOut: 303, superNoTen: 403, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	{"GET", "/alerts", fixedURL("/alerts"), nil, map[caller]int{loggedOut: 303, superNoTen: 403, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	{"GET", "/alerts/new", fixedURL("/alerts/new"), nil, map[caller]int{loggedOut: 303, superNoTen: 403, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	// The rule pages carry only the id: whether the rule is the tenant's
	// is the alert handlers' answer (404) when the page loads it.
	{"GET", "/alerts/{id:[0-9]+}", fixedURL("/alerts/7"), nil, map[caller]int{loggedOut: 303, superNoTen: 403, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	{"GET", "/alerts/{id:[0-9]+}/edit", fixedURL("/alerts/7/edit"), nil, map[caller]int{loggedOut: 303, superNoTen: 403, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	// The notification pages carry no tenant data (the app loads it from
	// /ui/api/…), like the alerts pages.
	{"GET", "/channels", fixedURL("/channels"), nil, map[caller]int{loggedOut: 303, superNoTen: 403, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	{"GET", "/silences", fixedURL("/silences"), nil, map[caller]int{loggedOut: 303, superNoTen: 403, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	{"GET", "/notifications", fixedURL("/notifications?status=dead"), nil, map[caller]int{loggedOut: 303, superNoTen: 403, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	// Every method reaches the alert handlers (a prefix route: "*"); the
	// matrix sends GET, TestAlertDataRoutes the writes.
	{"*", "/ui/api/alert-rules", fixedURL("/ui/api/alert-rules?page=1"), nil,
		map[caller]int{loggedOut: 401, superNoTen: 403, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	{"*", "/ui/api/alerts", fixedURL("/ui/api/alerts?state=firing"), nil,
		map[caller]int{loggedOut: 401, superNoTen: 403, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	{"*", "/ui/api/channels", fixedURL("/ui/api/channels"), nil,
		map[caller]int{loggedOut: 401, superNoTen: 403, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	{"*", "/ui/api/silences", fixedURL("/ui/api/silences?active=true"), nil,
		map[caller]int{loggedOut: 401, superNoTen: 403, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	{"*", "/ui/api/notifications", fixedURL("/ui/api/notifications?status=dead"), nil,
		map[caller]int{loggedOut: 401, superNoTen: 403, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	{"*", "/ui/api/notification-settings", fixedURL("/ui/api/notification-settings"), nil,
		map[caller]int{loggedOut: 401, superNoTen: 403, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	{"*", "/ui/api/exports", fixedURL("/ui/api/exports/1"), nil,
		map[caller]int{loggedOut: 401, superNoTen: 403, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	{"GET", "/ui/api/metrics/query", fixedURL("/ui/api/metrics/query?name=cpu.load"), nil,
		map[caller]int{loggedOut: 401, superNoTen: 403, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	{"GET", "/ui/api/metrics/names", fixedURL("/ui/api/metrics/names"), nil,
		map[caller]int{loggedOut: 401, superNoTen: 403, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	{"GET", "/ui/api/metrics/stream", fixedURL("/ui/api/metrics/stream?name=cpu.load"), nil,
		map[caller]int{loggedOut: 401, superNoTen: 403, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	// The Health page and its data: super-admins and tenant admins (their
	// own tenant's figures only), never viewers (health_test.go has the rest).
	{"GET", "/health", fixedURL("/health"), nil, map[caller]int{loggedOut: 303, superNoTen: 200, otherAdmin: 200, ownViewer: 403, ownAdmin: 200}},
	{"GET", "/ui/api/health/query", healthURL, nil, map[caller]int{loggedOut: 401, superNoTen: 200, otherAdmin: 403, ownViewer: 403, ownAdmin: 200}},
	{"GET", "/ui/api/health/stream", healthStreamURL, nil, map[caller]int{loggedOut: 401, superNoTen: 200, otherAdmin: 403, ownViewer: 403, ownAdmin: 200}},
	{"GET", "/build/{path:.+}", fixedURL("/build/assets/main-abc.js"), nil,
		map[caller]int{loggedOut: 200, superNoTen: 200, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
	{"HEAD", "/build/{path:.+}", fixedURL("/build/assets/main-abc.js"), nil,
		map[caller]int{loggedOut: 200, superNoTen: 200, otherAdmin: 200, ownViewer: 200, ownAdmin: 200}},
}

func TestEveryRouteHasAMatrixRow(t *testing.T) {
	w := newWorld(t)
	rows := map[string]bool{}
	for _, r := range matrix {
		rows[r.method+" "+r.path] = true
	}
	seen := map[string]bool{}
	for _, r := range w.h.Routes() {
		seen[r.String()] = true
		if !rows[r.String()] {
			t.Errorf("route %s has no row in the web UI matrix (adapter/http/webui/matrix_test.go): add one", r)
		}
	}
	for k := range rows {
		if !seen[k] {
			t.Errorf("matrix row %s is not a registered route", k)
		}
	}
}

func (w *world) targets() []target {
	return []target{
		{slug: "alpha", other: "bravo", dash: w.dashA, widget: w.widgetA, markers: []string{"secret board of alpha", "secret.metric.alpha"}},
		{slug: "bravo", other: "alpha", dash: w.dashB, widget: w.widgetB, markers: []string{"secret board of bravo", "secret.metric.bravo"}},
	}
}

func TestRouteMatrix(t *testing.T) {
	for _, row := range matrix {
		for ti := range 2 {
			w := newWorld(t)
			tg := w.targets()[ti]
			t.Run(fmt.Sprintf("%s %s aimed at %s", row.method, row.path, tg.slug), func(t *testing.T) {
				for i, c := range callers {
					b := w.browser()
					b.addr = fmt.Sprintf("192.0.2.%d:1000", i+1)
					switch c {
					case loggedOut:
						b.do(http.MethodGet, "/login", nil)
					case superNoTen:
						b.login("root@platform.test")
					case otherAdmin:
						b.login("admin@" + tg.other + ".test")
					case ownViewer:
						b.login("viewer@" + tg.slug + ".test")
					case ownAdmin:
						b.login("admin@" + tg.slug + ".test")
					}
					method := row.method
					if method == "*" {
						method = http.MethodGet
					}
					a := b.inertia(method, row.url(tg), row.body)
					if want := row.want[c]; a.status != want {
						t.Errorf("%s: status %d, want %d\n%s", c, a.status, want, a.body)
					}
					if a.status >= 500 {
						t.Errorf("%s: server error %d", c, a.status)
					}
					if c != ownAdmin && c != ownViewer {
						text := fmt.Sprint(a.header) + a.body
						for _, m := range tg.markers {
							if strings.Contains(text, m) {
								t.Errorf("%s: the answer carries %s's %q:\n%s", c, tg.slug, m, text)
							}
						}
					}
					if strings.HasPrefix(row.path, "/ui/api/") && a.status == 200 {
						mine := tg.slug
						if c == otherAdmin {
							mine = tg.other
						}
						if !strings.Contains(a.body, `"tenant":"`+mine+`"`) {
							t.Errorf("%s: chart data for the wrong tenant: %s", c, a.body)
						}
					}
				}
			})
		}
	}
}

// TestCrossTenantIDs mixes ids: the own dashboard with another tenant's
// widget id, and another tenant's dashboard with the own widget id: 404,
// and nothing changes.
func TestCrossTenantIDs(t *testing.T) {
	w := newWorld(t)
	b := w.browser()
	b.login("admin@bravo.test")
	mixed := []string{
		fmt.Sprintf("/dashboards/%d/widgets/%d", w.dashB, w.widgetA),
		fmt.Sprintf("/dashboards/%d/widgets/%d", w.dashA, w.widgetB),
	}
	for _, u := range mixed {
		for _, m := range []string{http.MethodPatch, http.MethodDelete} {
			if a := b.inertia(m, u, widgetBody); a.status != http.StatusNotFound {
				t.Errorf("%s %s: %d, want 404", m, u, a.status)
			}
		}
	}
	a := w.browser()
	a.login("admin@alpha.test")
	got := props(t, a.inertia(http.MethodGet, fmt.Sprintf("/dashboards/%d", w.dashA), nil))["dashboard"].(map[string]any)
	widgets := got["widgets"].([]any)
	if len(widgets) != 1 || widgets[0].(map[string]any)["metric"] != "secret.metric.alpha" {
		t.Errorf("alpha's dashboard after bravo's attempts: %v", got)
	}
}
