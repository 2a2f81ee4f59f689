package api

import (
	"io"
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
)

// OpsDeps is what the operational router needs.
type OpsDeps struct {
	// Auth lets a platform admin token see the per-tenant series of
	// /metrics (nil: only the anonymous view is served).
	Auth Authenticator
	// Checks are run by GET /readyz, each under a 2 s timeout.
	Checks map[string]Checker
	Logger *slog.Logger
	// Registerer gets the HTTP metrics; Gatherer is served on /metrics.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
}

// NewOpsRouter serves only /healthz, /readyz and /metrics: the HTTP face of
// the roles without a public API (worker, scheduler, ingestor).
func NewOpsRouter(deps OpsDeps) http.Handler {
	s := &server{checks: deps.Checks, log: deps.Logger, auth: deps.Auth}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	reg := deps.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s.metrics = newHTTPMetrics(reg, false)
	r := mux.NewRouter()
	r.Use(routeLabel)
	r.HandleFunc("/healthz", s.handleHealth).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", s.handleReady).Methods(http.MethodGet, http.MethodHead)
	if deps.Gatherer != nil {
		r.Handle("/metrics", s.metricsHandler(deps.Gatherer)).Methods(http.MethodGet)
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody{Error: "no such route"})
	})
	return &routedHandler{Handler: s.instrument(s.recoverPanics(r)), mux: r}
}
