package app

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/outage"
	"github.com/pulsemetrics/pulse/infrastructure/config"
)

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg, finish := config.Register(fs, func(string) string { return "" })
	if err := fs.Parse([]string{"--http-addr", addr, "--log-level", "error", "--shutdown-timeout", "2s"}); err != nil {
		t.Fatal(err)
	}
	if err := finish(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A role started before its database waits for it: alive (/healthz 200),
// not ready (/readyz 503 naming what it waits for), and serving once the
// dependency answers; a configuration error stops the start at once.
func TestStartWaitsForDependencies(t *testing.T) {
	cfg := testConfig(t)
	var attempts atomic.Int32
	ready := make(chan struct{})
	init := func(ctx context.Context, cfg *config.Config) (*App, func(), error) {
		if attempts.Add(1) < 3 {
			return nil, nil, outage.Unavailable("database", errors.New("connection refused"))
		}
		<-ready
		h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("served")) })
		return &App{Name: "t", Handler: h, Log: slog.New(slog.DiscardHandler), ShutdownTimeout: time.Second}, func() {}, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Start(ctx, "pulse-test", cfg, init) }()
	base := "http://" + cfg.HTTPAddr
	deadline := time.Now().Add(10 * time.Second)
	for attempts.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("healthz while waiting = %d, want 200", code)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, `"waiting_for":"database"`) {
		t.Errorf("readyz while waiting = %d %s, want 503 naming the database", code, body)
	}
	if code, _ := get(t, base+"/api/metrics"); code != http.StatusServiceUnavailable {
		t.Errorf("API while waiting = %d, want 503", code)
	}
	close(ready)
	for time.Now().Before(deadline) {
		if _, body := get(t, base+"/anything"); body == "served" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, body := get(t, base+"/anything"); body != "served" {
		t.Fatalf("not serving once the database answered: %q", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestStartStopsOnAConfigurationError(t *testing.T) {
	cfg := testConfig(t)
	wrong := errors.New("Error 1045: access denied for user 'pulse'")
	calls := 0
	err := Start(context.Background(), "pulse-test", cfg, func(context.Context, *config.Config) (*App, func(), error) {
		calls++
		return nil, nil, wrong
	})
	if !errors.Is(err, wrong) || calls != 1 {
		t.Fatalf("Start = %v after %d attempts, want the error at once", err, calls)
	}
	// The listener is released: the port can be bound again.
	ln, lerr := net.Listen("tcp", cfg.HTTPAddr)
	if lerr != nil {
		t.Fatalf("the HTTP port is still held: %v", lerr)
	}
	_ = ln.Close()
}

// failingBinder cannot open its listener.
type failingBinder struct{}

func (failingBinder) Bind(context.Context) error {
	return errors.New("listen :1883: address already in use")
}
func (failingBinder) Run(context.Context) error { return nil }

// A loop whose listener cannot be bound stops the start before the
// process announces it.
func TestServeBindsBeforeAnnouncing(t *testing.T) {
	var logs bytes.Buffer
	a := &App{Name: "t", Handler: http.NotFoundHandler(), Loops: []Loop{failingBinder{}},
		Log: slog.New(slog.NewTextHandler(&logs, nil)), ShutdownTimeout: time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = a.Serve(context.Background(), ln)
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Serve = %v, want the bind error", err)
	}
	if strings.Contains(logs.String(), "pulse started") {
		t.Errorf("announced a start it could not make:\n%s", logs.String())
	}
}

// holder is a loop that holds a request open until it is closed, as the
// live hub holds its streams.
type holder struct{ closed chan struct{} }

func (h holder) Run(ctx context.Context) error { <-ctx.Done(); return nil }
func (h holder) Close()                        { close(h.closed) }

// A request held open by a loop ends when the process stops, at once, not
// after the whole shutdown timeout.
func TestShutdownClosesLoopsThatHoldRequests(t *testing.T) {
	h := holder{closed: make(chan struct{})}
	started := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		close(started)
		<-h.closed
	})
	a := &App{Name: "t", Handler: handler, Loops: []Loop{h}, Log: slog.New(slog.DiscardHandler), ShutdownTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/stream")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	<-started
	begin := time.Now()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve = %v", err)
	}
	if took := time.Since(begin); took > 5*time.Second {
		t.Fatalf("shutdown took %s: the held request was waited for", took)
	}
}
