// Package api is the HTTP driving adapter of Pulse: the machine-facing
// REST API (ingest, query, and the admin API of admin.go), health and
// readiness probes and the process's own Prometheus exposition, routed with
// gorilla/mux.
//
// The adapter owns the wire format (JSON in and out) and nothing else: the
// tenant always comes from the authenticated token, validation rules live in
// domain/metric, and every error is mapped to a status code in one place
// (writeError).
package api

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/ingest"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// Authenticator checks a presented API token for a scope. It returns
// token.ErrUnauthenticated (missing, malformed, unknown, revoked) or
// token.ErrForbidden (valid token lacking the scope); anything else is an
// internal failure. Implementations must be safe for concurrent use.
type Authenticator interface {
	Authenticate(ctx context.Context, raw string, need token.Scope) (tenancy.Principal, error)
}

// Ingester validates and enqueues the samples of one request, all or
// nothing (usecase/ingest.Service). Implementations must be safe for
// concurrent use and must not retain the inputs' maps after returning.
type Ingester interface {
	Accept(ctx context.Context, req ingest.Request) (ingest.Result, error)
}

// Querier answers one page of a chart query (usecase/query.Service).
// Implementations must be safe for concurrent use.
type Querier interface {
	Run(ctx context.Context, q metric.Query) (metric.Page, error)
}

// Checker is one named readiness check (database, queue, broker). It must
// return promptly once ctx is done.
type Checker func(ctx context.Context) error

// Limits bound a request as a whole. Zero fields take the defaults.
type Limits struct {
	// MaxBodyBytes caps the body as sent on the wire (compressed size when
	// Content-Encoding is gzip). Default 5 MiB.
	MaxBodyBytes int64
	// MaxDecodedBytes caps the body after gzip decompression (gzip bombs).
	// Default 5 MiB.
	MaxDecodedBytes int64
	// MaxSamples caps the samples of one request. Default 10,000.
	MaxSamples int
	// RequestTimeout bounds a request: its body must arrive within it (a
	// read deadline on the connection: a slow client gets 408) and every
	// dependency call ends by it (its context's deadline). Default 10 s.
	RequestTimeout time.Duration
}

// The defaults of Limits (docs/architecture.md, Contract).
const (
	DefaultMaxBodyBytes    = 5 << 20
	DefaultMaxDecodedBytes = 5 << 20
	DefaultMaxSamples      = 10000
)

func (l Limits) withDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.MaxDecodedBytes <= 0 {
		l.MaxDecodedBytes = DefaultMaxDecodedBytes
	}
	if l.MaxSamples <= 0 {
		l.MaxSamples = DefaultMaxSamples
	}
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = 10 * time.Second
	}
	return l
}

// Deps is what the router needs. Auth, Ingest and Query are required; the
// rest have defaults.
type Deps struct {
	Auth   Authenticator
	Ingest Ingester
	Query  Querier
	// Checks are run by GET /readyz, each under a 2 s timeout.
	Checks map[string]Checker
	Limits Limits
	// SampleLimits are used only to report, alongside decoding errors, what
	// the domain rules would also reject in the same request, so a client
	// sees every problem at once. Acceptance is always decided by Ingest.
	// Zero value: metric.DefaultLimits().
	SampleLimits metric.Limits
	// Logger receives request logs and internal errors. Default: discard.
	Logger *slog.Logger
	// Registerer gets the adapter's metrics; Gatherer is served on /metrics.
	// When both are nil a private registry is used for both.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// Now is the clock for query defaults. Default time.Now.
	Now func() time.Time
	// Admin serves the admin API (/api/admin/tenants, /api/tokens); when
	// nil those routes are not registered.
	Admin Admin
	// Catalogue lists the tenant's metric names for GET /api/metrics/names
	// (usecase/catalogue.Service). The route is always registered; while
	// Catalogue is nil it answers 501.
	Catalogue Cataloguer
	// TrustProxy makes the audit trail take the client address from
	// X-Forwarded-For (its last entry, added by the trusted proxy) instead
	// of the connection's peer. Off by default: the header is client-set.
	TrustProxy bool
	// Alerts serves the alerting routes (/api/alert-rules, /api/alerts);
	// nil: they are not registered.
	Alerts Alerts
	// Notifications serves the notification routes (/api/channels,
	// /api/silences, /api/notifications, /api/notification-settings), with
	// the alerting routes' scopes: reads need read or admin, writes admin;
	// nil: they are not registered.
	Notifications Notifications
	// Live opens the live streams of GET /api/metrics/stream
	// (usecase/live.Hub); nil: the route answers 501. LiveTiming paces
	// them; LiveReplay is the replay buffer's length, told to clients.
	Live       Streamer
	LiveTiming StreamTiming
	LiveReplay time.Duration
	// Exports serves POST /api/exports, GET /api/exports/{id} (scope read)
	// and the signed download GET /exports/{id}.csv; nil: they are not
	// registered.
	Exports Exports
	// WebUI serves every request no API route matches, except under /api/
	// (the dashboard, adapter/http/webui); nil: such requests are JSON 404s.
	// It runs inside this router's logging, metrics and panic recovery.
	WebUI http.Handler
}

// server holds the resolved dependencies of the handlers.
type server struct {
	auth          Authenticator
	ingest        Ingester
	query         Querier
	checks        map[string]Checker
	limits        Limits
	sampleLim     metric.Limits
	log           *slog.Logger
	metrics       *httpMetrics
	now           func() time.Time
	admin         Admin
	trust         bool
	catalogue     Cataloguer
	alerts        Alerts
	notifications Notifications
	exports       Exports
	live          Streamer
	timing        StreamTiming
	// liveReplaySeconds is told to clients in the stream's ready event.
	liveReplaySeconds int64
}

// NewRouter returns the HTTP API with its middleware: panic recovery,
// request logging and Prometheus instrumentation.
func NewRouter(deps Deps) http.Handler {
	s := &server{
		auth:          deps.Auth,
		ingest:        deps.Ingest,
		query:         deps.Query,
		checks:        deps.Checks,
		limits:        deps.Limits.withDefaults(),
		sampleLim:     deps.SampleLimits,
		log:           deps.Logger,
		now:           deps.Now,
		admin:         deps.Admin,
		trust:         deps.TrustProxy,
		catalogue:     deps.Catalogue,
		alerts:        deps.Alerts,
		notifications: deps.Notifications,
		exports:       deps.Exports,
		live:          deps.Live,
		timing:        deps.LiveTiming.withDefaults(),

		liveReplaySeconds: int64(deps.LiveReplay.Seconds()),
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.sampleLim == (metric.Limits{}) {
		s.sampleLim = metric.DefaultLimits()
	}
	reg, gat := deps.Registerer, deps.Gatherer
	if reg == nil && gat == nil {
		r := prometheus.NewRegistry()
		reg, gat = r, r
	}
	if reg == nil {
		reg = prometheus.NewRegistry() // metrics collected but not exposed here
	}
	s.metrics = newHTTPMetrics(reg, true)

	r := mux.NewRouter()
	r.Use(routeLabel)
	r.Handle("/api/metrics", s.requireScope(token.ScopeIngest, http.HandlerFunc(s.handleIngest))).Methods(http.MethodPost)
	r.Handle("/api/metrics/query", s.requireScope(token.ScopeRead, http.HandlerFunc(s.handleQuery))).Methods(http.MethodGet)
	r.Handle("/api/metrics/names", s.requireScope(token.ScopeRead, http.HandlerFunc(s.handleNames))).Methods(http.MethodGet)
	r.Handle("/api/metrics/stream", s.requireScope(token.ScopeRead, http.HandlerFunc(s.handleStream))).Methods(http.MethodGet)
	if s.admin != nil {
		s.registerAdmin(r)
	}
	if s.alerts != nil {
		s.registerAlerts(r, "/api", s.alertTokenGuard)
	}
	if s.notifications != nil {
		s.registerNotifications(r, "/api", s.alertTokenGuard)
	}
	if s.exports != nil {
		s.registerExports(r, "/api", func(scope token.Scope, h http.HandlerFunc) http.Handler { return s.requireScope(scope, h) })
		s.registerDownload(r) // before the WebUI fallback, which serves other non-/api paths
	}
	r.HandleFunc("/healthz", s.handleHealth).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", s.handleReady).Methods(http.MethodGet, http.MethodHead)
	if gat != nil {
		r.Handle("/metrics", s.metricsHandler(gat)).Methods(http.MethodGet)
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if deps.WebUI != nil && req.URL.Path != "/api" && !strings.HasPrefix(req.URL.Path, "/api/") {
			deps.WebUI.ServeHTTP(w, req)
			return
		}
		writeJSON(w, http.StatusNotFound, errorBody{Error: "no such route"})
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "method not allowed on this route"})
	})
	return &routedHandler{Handler: s.instrument(s.recoverPanics(s.deadlines(r))), mux: r}
}

// writeGrace is how much longer than RequestTimeout an answer may take to
// reach a slow reader.
const writeGrace = 30 * time.Second

// deadlines bounds every request by RequestTimeout: its body must arrive
// by then (a read deadline on the connection, not only on the handler),
// and every dependency call ends by then (the context they inherit); its
// answer must be written within writeGrace more. A streaming route is
// exempted (longLived).
func (s *server) deadlines(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if longLived(r.URL.Path) && r.Method == http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		now := time.Now()
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(now.Add(s.limits.RequestTimeout))
		_ = rc.SetWriteDeadline(now.Add(s.limits.RequestTimeout + writeGrace))
		ctx, cancel := context.WithTimeout(r.Context(), s.limits.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Route is one registered (method, path template) pair, e.g.
// {"DELETE", "/api/tokens/{id}"}.
type Route struct {
	Method string
	Path   string
}

func (r Route) String() string { return r.Method + " " + r.Path }

// routedHandler is what NewRouter and NewOpsRouter return: the served
// handler, plus the router it wraps so that Routes can list what is
// registered.
type routedHandler struct {
	http.Handler
	mux *mux.Router
}

var routeVarPattern = regexp.MustCompile(`\{([^}:]+):[^}]*\}`)

// Routes lists every route registered on a handler returned by NewRouter or
// NewOpsRouter (one entry per method), sorted by path then method; it is nil
// for any other handler. It reads the router itself, so a route added later
// is listed without further work: tests use it to prove that a table covers
// every endpoint.
func Routes(h http.Handler) []Route {
	rh, ok := h.(*routedHandler)
	if !ok {
		return nil
	}
	var out []Route
	_ = rh.mux.Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := rt.GetPathTemplate()
		if err != nil {
			return nil // a route without a path (none today)
		}
		methods, err := rt.GetMethods()
		if err != nil { // no method matcher: any method
			methods = []string{"*"}
		}
		path = routeVarPattern.ReplaceAllString(path, "{$1}") // {id:[0-9]+} is {id} in OpenAPI
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
