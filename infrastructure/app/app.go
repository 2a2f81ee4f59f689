// Package app runs one Pulse process: an HTTP server (the API, or only the
// operational endpoints for the other roles) and the background loops of the
// roles it hosts, until the context ends; then it drains and stops.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Loop is a background role loop (a flush worker, a scheduler…); it returns when ctx ends.
type Loop interface {
	Run(ctx context.Context) error
}

// Binder is a loop that opens listeners or connections of its own (the
// MQTT door). Bind runs before the process announces that it started, so
// a taken port stops the start instead of killing a process that said it
// was up; Run then serves what Bind opened.
type Binder interface {
	Bind(ctx context.Context) error
}

// Closer is a loop that holds requests open (the live hub's streams): its
// Close ends them before the server drains, or the drain would wait for
// them until the shutdown timeout.
type Closer interface {
	Close()
}

// App is one process.
type App struct {
	Name            string
	Addr            string
	Handler         http.Handler
	Loops           []Loop
	Log             *slog.Logger
	ShutdownTimeout time.Duration
}

// Listen opens the HTTP listener of addr, with an error naming the setting.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (PULSE_HTTP_ADDR): %w — is another process using this port?", addr, err)
	}
	return ln, nil
}

// Run serves and runs the loops until ctx ends or one of them fails.
func (a *App) Run(ctx context.Context) error {
	ln, err := Listen(a.Addr)
	if err != nil {
		return err
	}
	return a.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened (tests use port 0).
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := newServer(a.Handler)
	go func() { _ = srv.Serve(ln) }()
	return a.serveOn(ctx, srv, ln.Addr().String())
}

// newServer is the HTTP server of every role. Only the header has a read
// deadline here: bodies get theirs per request from the API's middleware,
// so a long-lived answer (a stream) is not cut by a server-wide one.
func newServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
}

// serveOn binds the loops' own listeners, announces the start, runs the
// loops until ctx ends or one fails, then shuts srv down (it already
// serves a.Handler) and stops the loops.
func (a *App) serveOn(ctx context.Context, srv *http.Server, addr string) error {
	// The loops outlive ctx until the HTTP server has drained.
	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	var bound []Loop
	for _, l := range a.Loops {
		b, ok := l.(Binder)
		if !ok {
			continue
		}
		if err := b.Bind(loopCtx); err != nil {
			a.unbind(ctx, srv, bound)
			return err
		}
		bound = append(bound, l)
	}
	g, gctx := errgroup.WithContext(ctx)
	a.Log.Info("pulse started", "name", a.Name, "http", addr, "loops", len(a.Loops))
	for _, l := range a.Loops {
		g.Go(func() error { return l.Run(loopCtx) })
	}
	g.Go(func() error {
		<-gctx.Done()
		a.Log.Info("shutting down", "timeout", a.ShutdownTimeout)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.ShutdownTimeout)
		defer cancel()
		for _, l := range a.Loops {
			if c, ok := l.(Closer); ok {
				c.Close()
			}
		}
		err := srv.Shutdown(sctx) // first stop taking requests, then stop the loops
		stopLoops()
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		return err
	})
	err := g.Wait()
	a.Log.Info("pulse stopped")
	return err
}

// unbind releases what the loops bound before another failed to: a bound
// loop's Run stops at once on an ended context.
func (a *App) unbind(ctx context.Context, srv *http.Server, bound []Loop) {
	done, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cancel()
	for _, l := range bound {
		_ = l.Run(done)
	}
	sctx, cancelShutdown := context.WithTimeout(context.WithoutCancel(ctx), a.ShutdownTimeout)
	defer cancelShutdown()
	_ = srv.Shutdown(sctx)
}

// switchHandler serves the starting page until the process is built, then
// the process's own handler.
type switchHandler struct{ h atomic.Pointer[http.Handler] }

func (s *switchHandler) set(h http.Handler) { s.h.Store(&h) }

func (s *switchHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}
