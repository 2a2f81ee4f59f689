package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pulsemetrics/pulse/domain/outage"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/logging"
)

// Init builds a process from its settings (a Wire injector). An error
// matching outage.ErrUnavailable (a dependency not answering yet) is
// retried; any other stops the start.
type Init func(ctx context.Context, cfg *config.Config) (*App, func(), error)

// Main is the whole main() of a single-role binary: load settings (a wrong
// one, or settings that are not one coherent mode, stop the process with one
// line naming it), then Start until SIGINT or SIGTERM. It returns the exit
// code.
func Main(name string, args []string, init Init) int {
	cfg, err := config.Load(name, args)
	if err == nil {
		err = cfg.CheckRole(name)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Start(ctx, name, cfg, init); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

// Retry bounds: the first wait and the longest between attempts.
const (
	retryFirst = 500 * time.Millisecond
	retryMax   = 15 * time.Second
)

// Start binds the HTTP listener, then builds the process, retrying with
// backoff while a dependency does not answer (a role started before its
// database or Redis): meanwhile /healthz answers 200 and /readyz 503 naming
// what it waits for. Once built, it serves and runs until ctx ends.
func Start(ctx context.Context, name string, cfg *config.Config, init Init) error {
	log := logging.New(os.Stderr, cfg.LogLevel, cfg.LogFormat).With("role", name)
	ln, err := Listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	var sw switchHandler
	st := &starting{}
	sw.set(st)
	srv := newServer(&sw)
	go func() { _ = srv.Serve(ln) }()

	a, cleanup, err := build(ctx, cfg, init, st, log)
	if err != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = ln.Close() // Serve may not have taken it yet
		return err
	}
	defer cleanup()
	sw.set(a.Handler)
	return a.serveOn(ctx, srv, ln.Addr().String())
}

// build calls init until it succeeds, fails for good or ctx ends.
func build(ctx context.Context, cfg *config.Config, init Init, st *starting, log *slog.Logger) (*App, func(), error) {
	wait := retryFirst
	for attempt := 1; ; attempt++ {
		a, cleanup, err := init(ctx, cfg)
		if err == nil {
			if attempt > 1 {
				log.Info("dependencies answer: starting", "attempts", attempt)
			}
			return a, cleanup, nil
		}
		if !errors.Is(err, outage.ErrUnavailable) || ctx.Err() != nil {
			return nil, nil, err
		}
		st.waitingFor(err)
		// Jitter keeps replicas restarted together from retrying in step.
		pause := wait/2 + rand.N(wait/2+1)
		log.Warn("a dependency does not answer yet; retrying", "attempt", attempt, "retry_in", pause.Round(time.Millisecond), "err", err)
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("stopped while waiting for a dependency: %w", err)
		case <-time.After(pause):
		}
		wait = min(2*wait, retryMax)
	}
}

// starting answers while the process is not built yet: alive, not ready.
type starting struct {
	reason atomicString
}

func (s *starting) waitingFor(err error) {
	var oe *outage.Error
	what := "dependencies"
	if errors.As(err, &oe) {
		what = oe.Dependency
	}
	s.reason.Store(what)
}

func (s *starting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	switch r.URL.Path {
	case "/healthz":
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	case "/readyz":
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = fmt.Fprintf(w, `{"status":"starting","waiting_for":%q}`+"\n", s.reason.Load())
	default:
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":"the server is starting: a dependency does not answer yet; retry later"}` + "\n"))
	}
}

// atomicString is a string read by the HTTP server while build writes it.
type atomicString struct{ p atomic.Pointer[string] }

func (a *atomicString) Store(s string) { a.p.Store(&s) }

func (a *atomicString) Load() string {
	if p := a.p.Load(); p != nil {
		return *p
	}
	return "dependencies"
}
