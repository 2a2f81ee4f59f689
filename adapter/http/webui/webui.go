// Package webui is the dashboard's HTTP driving adapter: Inertia pages
// (adapter/http/inertia) for login, dashboards, explore and alerts, their
// forms, the built front-end assets, and the session-authenticated data
// routes /ui/api/metrics/{query,names}, /ui/api/alert-rules/… and
// /ui/api/alerts, whose handlers are the REST API's own (built by
// adapter/http/api, given to Deps) so both answer the same shape.
//
// The routes and props are the contract of docs/dashboard.md. Every page
// and form is tenant-scoped through the login session: the tenant always
// comes from the session's user, never from the request.
package webui

import (
	"cmp"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/pulsemetrics/pulse/adapter/http/inertia"
	"github.com/pulsemetrics/pulse/domain/dashboard"
	"github.com/pulsemetrics/pulse/usecase/accounts"
	"github.com/pulsemetrics/pulse/usecase/dashboards"
)

// Accounts logs users in and resolves sessions (usecase/accounts.Service).
// Implementations must be safe for concurrent use.
type Accounts interface {
	Login(ctx context.Context, req accounts.LoginRequest) (accounts.Login, error)
	Session(ctx context.Context, id string) (accounts.Current, error)
	Logout(ctx context.Context, id string) error
}

// Dashboards is the tenant-scoped dashboards use case
// (usecase/dashboards.Service). Implementations must be safe for
// concurrent use.
type Dashboards interface {
	List(ctx context.Context, a dashboards.Actor, page int) (dashboards.Page, error)
	Get(ctx context.Context, a dashboards.Actor, id int64) (dashboard.Dashboard, error)
	Create(ctx context.Context, a dashboards.Actor, name string) (dashboard.Dashboard, error)
	Rename(ctx context.Context, a dashboards.Actor, id int64, name string) error
	Delete(ctx context.Context, a dashboards.Actor, id int64) error
	AddWidget(ctx context.Context, a dashboards.Actor, dashboardID int64, spec dashboard.WidgetSpec) (dashboard.Widget, error)
	UpdateWidget(ctx context.Context, a dashboards.Actor, dashboardID, widgetID int64, spec dashboard.WidgetSpec) error
	DeleteWidget(ctx context.Context, a dashboards.Actor, dashboardID, widgetID int64) error
}

// Deps is what the web UI needs. Accounts and Dashboards are required.
type Deps struct {
	Accounts   Accounts
	Dashboards Dashboards
	// Dist holds the Vite build under dist/app (package frontend's Dist);
	// nil or without a manifest, pages say the UI is not built.
	Dist fs.FS
	// DevURL, when set (PULSE_UI_DEV_URL), loads the scripts from the Vite
	// dev server instead of Dist.
	DevURL string
	// MetricsQuery and MetricsNames serve /ui/api/metrics/query and
	// /ui/api/metrics/names for the principal PrincipalFrom reads; nil
	// answers 501.
	MetricsQuery http.Handler
	MetricsNames http.Handler
	// MetricsStream serves the live stream /ui/api/metrics/stream (the
	// REST API's, built with RecheckFrom); nil answers 501.
	MetricsStream http.Handler
	// Alerts serves every method under /ui/api/alert-rules and
	// /ui/api/alerts (the REST API's alert handlers; it sees the full
	// /ui/api/… path) for the principal PrincipalFrom reads, after the
	// session and CSRF checks; nil answers 501.
	Alerts http.Handler
	// Notifications serves every method under /ui/api/channels,
	// /ui/api/silences, /ui/api/notifications and
	// /ui/api/notification-settings, as Alerts does; nil answers 501.
	Notifications http.Handler
	// Exports serves every method under /ui/api/exports (the REST API's
	// export handlers), as Alerts does; nil answers 501. The download
	// itself (/exports/{id}.csv) is the API router's: its link is the
	// credential.
	Exports http.Handler
	// FiringCount counts a tenant's firing alert instances for the shared
	// prop alerts_firing; nil (or an error, logged) shows 0.
	FiringCount func(ctx context.Context, tenantID int64) (int, error)
	// HealthQuery serves /ui/api/health/query: the query handler with the
	// internal tenant as its principal, whoever asks. The web UI narrows
	// each query to what the visitor may see first (health.go); nil
	// answers 501. HealthEvery is PULSE_HEALTH_EVERY, for the page.
	HealthQuery http.Handler
	HealthEvery time.Duration
	// HealthStream is the live stream for the internal tenant, narrowed
	// as HealthQuery is; nil: the page polls (live_url null).
	HealthStream http.Handler
	// TrustProxy takes the client address (login throttling, audit) from
	// the last X-Forwarded-For entry.
	TrustProxy bool
	Logger     *slog.Logger
}

// Handler is the web UI. It is safe for concurrent use.
type Handler struct {
	http.Handler
	router *mux.Router
}

type ui struct {
	accounts   Accounts
	dashboards Dashboards
	inertia    *inertia.Renderer
	assets     *assetSet
	devURL     string
	trust      bool
	firing     func(ctx context.Context, tenantID int64) (int, error)
	log        *slog.Logger
	// healthEvery is how often the processes record their figures.
	healthEvery time.Duration
	healthLive  bool
}

// New builds the web UI's routes.
func New(d Deps) *Handler {
	u := &ui{accounts: d.Accounts, dashboards: d.Dashboards, devURL: strings.TrimRight(d.DevURL, "/"), trust: d.TrustProxy, firing: d.FiringCount, log: d.Logger}
	u.healthEvery, u.healthLive = d.HealthEvery, d.HealthStream != nil
	if u.log == nil {
		u.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	u.assets = loadAssets(d.Dist, u.devURL, u.log)
	u.inertia = inertia.New(inertia.Config{
		Version: u.assets.version, Assets: u.assets.tags, Shared: u.sharedProps,
		Flash: inertia.CookieFlash{Name: flashCookie}, Title: "Pulse",
	})
	r := mux.NewRouter()
	page := func(path string, h http.HandlerFunc, methods ...string) {
		r.Handle(path, u.chain(h, true)).Methods(methods...)
	}
	page("/login", u.showLogin, http.MethodGet)
	page("/login", u.login, http.MethodPost)
	page("/logout", u.logout, http.MethodPost)
	page("/", u.authed(u.home), http.MethodGet)
	page("/dashboards", u.tenantPage(u.listDashboards), http.MethodGet)
	page("/dashboards", u.tenantPage(u.createDashboard), http.MethodPost)
	page("/dashboards/{id:[0-9]+}", u.tenantPage(u.showDashboard), http.MethodGet)
	page("/dashboards/{id:[0-9]+}", u.tenantPage(u.renameDashboard), http.MethodPatch)
	page("/dashboards/{id:[0-9]+}", u.tenantPage(u.deleteDashboard), http.MethodDelete)
	page("/dashboards/{id:[0-9]+}/widgets", u.tenantPage(u.addWidget), http.MethodPost)
	page("/dashboards/{id:[0-9]+}/widgets/{wid:[0-9]+}", u.tenantPage(u.updateWidget), http.MethodPatch)
	page("/dashboards/{id:[0-9]+}/widgets/{wid:[0-9]+}", u.tenantPage(u.deleteWidget), http.MethodDelete)
	page("/explore", u.tenantPage(u.explore), http.MethodGet)
	page("/alerts", u.tenantPage(u.listAlerts), http.MethodGet)
	page("/alerts/new", u.tenantPage(u.newAlert), http.MethodGet)
	page("/alerts/{id:[0-9]+}", u.tenantPage(u.showAlert), http.MethodGet)
	page("/alerts/{id:[0-9]+}/edit", u.tenantPage(u.editAlert), http.MethodGet)
	page("/channels", u.tenantPage(u.listChannels), http.MethodGet)
	page("/silences", u.tenantPage(u.listSilences), http.MethodGet)
	page("/notifications", u.tenantPage(u.listNotifications), http.MethodGet)
	page("/health", u.authed(u.showHealth), http.MethodGet)
	r.Handle("/ui/api/metrics/query", u.chain(u.dataRoute(d.MetricsQuery), false)).Methods(http.MethodGet)
	r.Handle("/ui/api/metrics/names", u.chain(u.dataRoute(d.MetricsNames), false)).Methods(http.MethodGet)
	r.Handle("/ui/api/metrics/stream", u.chain(u.dataRoute(d.MetricsStream), false)).Methods(http.MethodGet)
	r.Handle(healthQueryURL, u.chain(u.dataRoute(u.healthQuery(d.HealthQuery)), false)).Methods(http.MethodGet)
	r.Handle(healthStreamURL, u.chain(u.dataRoute(u.healthQuery(d.HealthStream)), false)).Methods(http.MethodGet)
	r.PathPrefix("/ui/api/alert-rules").Handler(u.chain(u.dataRoute(d.Alerts), false))
	r.PathPrefix("/ui/api/alerts").Handler(u.chain(u.dataRoute(d.Alerts), false))
	for _, prefix := range []string{"/ui/api/channels", "/ui/api/silences", "/ui/api/notifications", "/ui/api/notification-settings"} {
		r.PathPrefix(prefix).Handler(u.chain(u.dataRoute(d.Notifications), false))
	}
	r.PathPrefix("/ui/api/exports").Handler(u.chain(u.dataRoute(d.Exports), false))
	r.Handle("/build/{path:.+}", securityHeaders(u.devURL, u.assets.fileServer())).Methods(http.MethodGet, http.MethodHead)
	r.NotFoundHandler = securityHeaders(u.devURL, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSONError(w, http.StatusNotFound, "no such page")
	}))
	r.MethodNotAllowedHandler = securityHeaders(u.devURL, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSONError(w, http.StatusMethodNotAllowed, "method not allowed on this page")
	}))
	return &Handler{Handler: r, router: r}
}

// chain wraps a route: security headers, Inertia's version check (pages),
// the session (if any), CSRF on state-changing methods, a body limit.
func (u *ui) chain(h http.HandlerFunc, isPage bool) http.Handler {
	var next http.Handler = u.withSession(u.checkCSRF(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		h(w, r)
	})))
	if isPage {
		next = u.inertia.Middleware(next)
	}
	return securityHeaders(u.devURL, next)
}

// Route is one registered (method, path template) pair.
type Route struct {
	Method string
	Path   string
}

func (r Route) String() string { return r.Method + " " + r.Path }

// Routes lists the web UI's routes, sorted by path then method (tests use
// it to prove that a matrix covers every route).
func (h *Handler) Routes() []Route {
	var out []Route
	_ = h.router.Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := rt.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := rt.GetMethods()
		if err != nil {
			methods = []string{"*"}
		}
		for _, m := range methods {
			out = append(out, Route{Method: m, Path: path})
		}
		return nil
	})
	slices.SortFunc(out, func(a, b Route) int {
		return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(a.Method, b.Method))
	})
	return out
}

// maxFormBytes bounds a form's body.
const maxFormBytes = 64 << 10

func timeString(t time.Time) string { return t.UTC().Format(time.RFC3339) }
