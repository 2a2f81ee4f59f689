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
	"time"

	"golang.org/x/sync/errgroup"
)

// Loop is a background role loop (a flush worker, a scheduler…); it returns when ctx ends.
type Loop interface {
	Run(ctx context.Context) error
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

// Run serves and runs the loops until ctx ends or one of them fails.
func (a *App) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (PULSE_HTTP_ADDR): %w — is another process using this port?", a.Addr, err)
	}
	return a.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened (tests use port 0).
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: a.Handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	g, gctx := errgroup.WithContext(ctx)
	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	a.Log.Info("pulse started", "name", a.Name, "http", ln.Addr().String(), "loops", len(a.Loops))
	g.Go(func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	})
	for _, l := range a.Loops {
		g.Go(func() error { return l.Run(loopCtx) })
	}
	g.Go(func() error {
		<-gctx.Done()
		a.Log.Info("shutting down", "timeout", a.ShutdownTimeout)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.ShutdownTimeout)
		defer cancel()
		err := srv.Shutdown(sctx) // first stop taking requests, then stop the loops
		stopLoops()
		return err
	})
	err := g.Wait()
	a.Log.Info("pulse stopped")
	return err
}
