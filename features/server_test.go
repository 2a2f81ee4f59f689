package features_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/pulsemetrics/pulse/infrastructure/app"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// server is one in-process Pulse (API and workers) shared by the scenarios
// of one mode. Scenarios isolate themselves by creating their own tenants.
type server struct {
	mode    string
	baseURL string
	tenancy *tenancy.Service
}

// embeddedEnv is single-binary mode: SQLite and the embedded queue in a temp dir.
func embeddedEnv(t *testing.T) map[string]string {
	return map[string]string{"PULSE_DATA_DIR": t.TempDir()}
}

// distributedEnv is distributed mode: a fresh MariaDB database and a unique
// Redis stream, both removed when the test ends.
func distributedEnv(t *testing.T) map[string]string {
	dbURL := mysqlURL(t, testservice.MariaDB(t))
	_, prefix := testservice.Redis(t) // its cleanup deletes every key under prefix
	return map[string]string{
		"PULSE_DATA_DIR":     t.TempDir(),
		"PULSE_DATABASE_URL": dbURL,
		"PULSE_REDIS_URL":    "redis://" + testservice.RedisAddr() + "/0",
		"PULSE_QUEUE_STREAM": prefix + "ingest",
		"PULSE_QUEUE_GROUP":  "pulse-workers",
		"PULSE_QUEUE_LEASE":  "2s",
	}
}

// mysqlURL turns testservice's go-sql-driver DSN into the
// mysql://user:pass@host:port/db form PULSE_DATABASE_URL takes.
func mysqlURL(t testing.TB, dsn string) string {
	t.Helper()
	c, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("parse test DSN %q: %v", dsn, err)
	}
	if c.Net != "tcp" {
		t.Fatalf("test DSN %q: only tcp addresses can be written as a mysql:// URL", dsn)
	}
	u := url.URL{Scheme: "mysql", Host: c.Addr, Path: "/" + c.DBName}
	switch {
	case c.Passwd != "":
		u.User = url.UserPassword(c.User, c.Passwd)
	case c.User != "":
		u.User = url.User(c.User)
	}
	return u.String()
}

// loadConfig reads the settings as the binaries do, from env only.
func loadConfig(t testing.TB, env map[string]string) *config.Config {
	t.Helper()
	fs := flag.NewFlagSet("features", flag.ContinueOnError)
	cfg, finish := config.Register(fs, func(k string) string { return env[k] })
	if err := fs.Parse([]string{"--http-addr", "127.0.0.1:0", "--log-level", "warn"}); err != nil {
		t.Fatalf("parse settings: %v", err)
	}
	if err := finish(); err != nil {
		t.Fatalf("settings: %v", err)
	}
	return cfg
}

// startServer assembles an in-process Pulse from the Wire providers (as
// cmd/pulse-bench does) on a 127.0.0.1:0 listener and stops it when t ends.
func startServer(t *testing.T, mode string, env map[string]string) *server {
	t.Helper()
	cfg := loadConfig(t, env)
	ctx, cancel := context.WithCancel(context.Background())
	p, cleanup, err := wiring.AssemblePipeline(ctx, cfg, "features")
	if err != nil {
		cancel()
		t.Fatalf("%s: assemble: %v", mode, err)
	}
	t.Cleanup(cleanup)
	ten, h, workers, log := p.Tenancy, p.Handler, p.Workers, p.Log

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatalf("%s: listen: %v", mode, err)
	}
	a := &app.App{Name: "features-" + mode, Handler: h, Loops: workers, Log: log, ShutdownTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() { // runs before the queue and store close
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("%s: server stopped with: %v", mode, err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("%s: server did not stop within 15s", mode)
		}
	})
	s := &server{mode: mode, baseURL: "http://" + ln.Addr().String(), tenancy: ten}
	if err := waitHealthy(s.baseURL, 10*time.Second); err != nil {
		t.Fatalf("%s: %v", mode, err)
	}
	return s
}

// waitHealthy polls GET /healthz until it answers 200 or the bound passes.
func waitHealthy(baseURL string, bound time.Duration) error {
	deadline := time.Now().Add(bound)
	var last error
	for time.Now().Before(deadline) {
		resp, err := httpClient.Get(baseURL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			err = fmt.Errorf("answered %d", resp.StatusCode)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("GET %s/healthz not healthy within %s (last: %v)", baseURL, bound, last)
}
