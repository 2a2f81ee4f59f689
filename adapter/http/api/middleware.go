package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

type ctxKey int

const (
	principalKey ctxKey = iota
	requestInfoKey
)

// tokenHeader carries the machine clients' API token.
const tokenHeader = "X-API-Token"

// requireScope authenticates the request's token for scope and puts the
// principal in the context. The tenant of every later step comes from it.
func (s *server) requireScope(scope token.Scope, next http.Handler) http.Handler {
	return s.requireAnyScope(next, scope)
}

// requireAnyScope is requireScope for a route that several scopes open
// (alert rules: read, or admin): the first the token carries admits it.
func (s *server) requireAnyScope(next http.Handler, scopes ...token.Scope) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.Header.Get(tokenHeader)
		if raw == "" {
			s.writeError(w, token.ErrUnauthenticated)
			return
		}
		var (
			p   tenancy.Principal
			err error
		)
		for _, scope := range scopes {
			if p, err = s.auth.Authenticate(r.Context(), raw, scope); !errors.Is(err, token.ErrForbidden) {
				break // admitted, or refused for a reason another scope cannot change
			}
		}
		if err != nil {
			s.writeError(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)))
	})
}

func principalFrom(ctx context.Context) tenancy.Principal {
	p, _ := ctx.Value(principalKey).(tenancy.Principal)
	return p
}

// requestInfo is filled in while a request passes through: the outer
// middleware reads the route that mux matched once the handler returns.
type requestInfo struct{ route string }

// routeLabel records the matched route template (a bounded label set).
func routeLabel(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info, ok := r.Context().Value(requestInfoKey).(*requestInfo); ok {
			if rt := mux.CurrentRoute(r); rt != nil {
				if tpl, err := rt.GetPathTemplate(); err == nil {
					info.route = tpl
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status and size of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush supports streaming handlers.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// instrument logs each request (never its headers: the token stays out of
// the logs) and records its count and duration by route.
func (s *server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{route: "unmatched"}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), requestInfoKey, info)))
		elapsed := time.Since(start)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		s.metrics.requests.WithLabelValues(info.route, strconv.Itoa(sw.status)).Inc()
		s.metrics.duration.WithLabelValues(info.route).Observe(elapsed.Seconds())
		s.log.LogAttrs(r.Context(), levelFor(sw.status), "http request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("route", info.route),
			slog.Int("status", sw.status), slog.Duration("duration", elapsed), slog.Int("bytes", sw.bytes))
	})
}

// recoverPanics turns a panic in a handler into a logged 500 so one bad
// request never takes the process down.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
				panic(v)
			}
			s.log.Error("panic in handler", "method", r.Method, "path", r.URL.Path,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
				return // the answer has started: nothing sane left to send
			}
			s.writeError(w, errors.New("panic recovered"))
		}()
		next.ServeHTTP(w, r)
	})
}

// httpMetrics are the adapter's own Prometheus series.
type httpMetrics struct {
	requests        *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	samplesAccepted prometheus.Counter
}

// newHTTPMetrics registers the request metrics, and the ingest counter
// only for a router that ingests (a worker's ops router must not expose it
// at zero).
func newHTTPMetrics(reg prometheus.Registerer, ingests bool) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_http_requests_total",
			Help: "HTTP requests answered, by route template and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pulse_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route template.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		samplesAccepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_ingest_samples_accepted_total",
			Help: "Samples accepted (202) through the HTTP API.",
		}),
	}
	m.requests = register(reg, m.requests)
	m.duration = register(reg, m.duration)
	if ingests {
		m.samplesAccepted = register(reg, m.samplesAccepted)
	}
	return m
}

// register registers c, or returns the collector already registered under
// the same description (a second router on the same registry shares it).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(fmt.Sprintf("httpapi: register metrics: %v", err))
	}
	return c
}

func levelFor(status int) slog.Level {
	if status >= http.StatusInternalServerError {
		return slog.LevelError
	}
	return slog.LevelInfo
}
