package features_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/infrastructure/app"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
	"github.com/pulsemetrics/pulse/usecase/retention"
	"github.com/pulsemetrics/pulse/usecase/rollupjob"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// server is one in-process Pulse (API and workers). The server of a mode
// is shared by the scenarios of that mode, which isolate themselves by
// creating their own tenants; a scenario that needs other settings (a small
// quota, a fake clock, workers held back) starts its own (see launch).
type server struct {
	mode      string
	baseURL   string
	tenancy   *tenancy.Service
	queue     wiring.Queue
	rollup    *rollupjob.Service
	retention *retention.Service
	store     *sqldbtest.Stores
	env       map[string]string // the settings it runs with
	// clock is the server's clock when it runs on a fake one, else nil.
	clock *fakeClock
	// startWorkers starts the flush workers of a server launched with
	// them held back; nil otherwise.
	startWorkers func()
	// mqttAddr is the embedded MQTT broker's host:port when the server was
	// launched with its MQTT door running (launchOptions.mqtt); "" otherwise
	// or when the door subscribes to an external broker.
	mqttAddr string
	// stop stops the server, its workers and its connections.
	stop func() error
	// platform is a platform-admin token, made on first use: /metrics
	// shows per-tenant series only to one.
	platformOnce sync.Once
	platform     string
	platformErr  error
}

// platformToken returns the server's platform-admin token.
func (s *server) platformToken(ctx context.Context) (string, error) {
	s.platformOnce.Do(func() {
		iss, err := s.tenancy.CreatePlatformToken(ctx, audit.CLI(), "features")
		s.platform, s.platformErr = iss.Plain, err
	})
	return s.platform, s.platformErr
}

// launchOptions are what a scenario may ask of its own server.
type launchOptions struct {
	clock       *fakeClock // nil: the wall clock
	holdWorkers bool       // serve the API but start the workers only on startWorkers
	mqtt        bool       // run the MQTT door too (PULSE_MQTT_LISTEN / PULSE_MQTT_URL of env)
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
		// Quotas under the test prefix too, so that its cleanup drops them.
		"PULSE_RATE_LIMIT_PREFIX": prefix + "rl:",
		// Not read yet (see TestIdempotencyKeysOfTwoDeploymentsOnOneRedis):
		// the setting the fix should add, so the test's keys stay its own.
		"PULSE_IDEMPOTENCY_PREFIX":   prefix + "idem:",
		"PULSE_INVALIDATION_CHANNEL": prefix + "invalidate",
		"PULSE_LIVE_STREAM":          prefix + "live",
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

// parseConfig reads the settings as the binaries do, from env only.
func parseConfig(env map[string]string) (*config.Config, error) {
	fs := flag.NewFlagSet("features", flag.ContinueOnError)
	cfg, finish := config.Register(fs, func(k string) string { return env[k] })
	if err := fs.Parse([]string{"--http-addr", "127.0.0.1:0", "--log-level", "warn"}); err != nil {
		return nil, fmt.Errorf("parse settings: %w", err)
	}
	if err := finish(); err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	return cfg, nil
}

// loadConfig is parseConfig failing t.
func loadConfig(t testing.TB, env map[string]string) *config.Config {
	t.Helper()
	cfg, err := parseConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startServer launches the mode's shared server and stops it when t ends.
func startServer(t *testing.T, mode string, env map[string]string) *server {
	t.Helper()
	return startServerWith(t, mode, env, launchOptions{})
}

// startServerWith is startServer with launch options (e.g. the MQTT door).
func startServerWith(t *testing.T, mode string, env map[string]string, opts launchOptions) *server {
	t.Helper()
	s, err := launch(mode, env, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// launch assembles an in-process Pulse from the Wire providers (as
// cmd/pulse-bench does) on a 127.0.0.1:0 listener. The caller must call stop.
func launch(mode string, env map[string]string, opts launchOptions) (*server, error) {
	cfg, err := parseConfig(env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", mode, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var (
		p       *wiring.Pipeline
		cleanup func()
	)
	if opts.clock != nil {
		p, cleanup, err = wiring.AssemblePipelineWithClock(ctx, cfg, "features", opts.clock.Now)
	} else {
		p, cleanup, err = wiring.AssemblePipeline(ctx, cfg, "features")
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%s: assemble: %w", mode, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		cleanup()
		return nil, fmt.Errorf("%s: listen: %w", mode, err)
	}
	a := &app.App{Name: "features-" + mode, Handler: p.Handler, Log: p.Log, ShutdownTimeout: 5 * time.Second}
	s := &server{mode: mode, baseURL: "http://" + ln.Addr().String(), tenancy: p.Tenancy, queue: p.Queue, rollup: p.Rollup, retention: p.Retention, store: sqldbtest.NewStores(p.DB), env: env, clock: opts.clock}

	// Held-back workers run beside the app, on their own context.
	workerCtx, stopWorkers := context.WithCancel(context.Background())
	var (
		workersDone sync.WaitGroup
		workerErrs  = make(chan error, len(p.Workers))
	)
	runWorkers := func() {
		for _, w := range p.Workers {
			workersDone.Add(1)
			go func() {
				defer workersDone.Done()
				if err := w.Run(workerCtx); err != nil && !errors.Is(err, context.Canceled) {
					workerErrs <- err
				}
			}()
		}
	}
	// The live hub runs with the app, as in `pulse serve` and pulse-api
	// (live.feature), even while the workers are held back.
	a.Loops = []app.Loop{p.Live}
	if opts.holdWorkers {
		var once sync.Once
		s.startWorkers = func() { once.Do(runWorkers) }
	} else {
		a.Loops = append(a.Loops, p.Workers...)
	}

	// The MQTT door runs on its own context: it stops (draining its pending
	// batches into the queue) before the app, the workers and the queue.
	stopDoor := func() error { return nil }
	if opts.mqtt {
		var err error
		if stopDoor, err = runDoor(p.MQTT); err != nil {
			cancel()
			stopWorkers()
			cleanup()
			_ = ln.Close()
			return nil, fmt.Errorf("%s: %w", mode, err)
		}
		if p.MQTT.Broker != nil {
			s.mqttAddr = p.MQTT.Broker.Addr()
		}
	}

	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	s.stop = func() error { // the app and workers stop before the queue and store close
		var errs []error
		if err := stopDoor(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", mode, err))
		}
		// A connection the client dialled but never used counts as busy
		// for up to 5 s in http.Server.Shutdown: close those first.
		httpClient.CloseIdleConnections()
		cancel()
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				errs = append(errs, fmt.Errorf("%s: server stopped with: %w", mode, err))
			}
		case <-time.After(15 * time.Second):
			errs = append(errs, fmt.Errorf("%s: server did not stop within 15s", mode))
		}
		stopWorkers()
		stopped := make(chan struct{})
		go func() { workersDone.Wait(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(15 * time.Second):
			errs = append(errs, fmt.Errorf("%s: held-back workers did not stop within 15s", mode))
		}
		close(workerErrs)
		for err := range workerErrs {
			errs = append(errs, fmt.Errorf("%s: worker stopped with: %w", mode, err))
		}
		cleanup()
		return errors.Join(errs...)
	}
	if err := waitHealthy(s.baseURL, 10*time.Second); err != nil {
		return nil, errors.Join(fmt.Errorf("%s: %w", mode, err), s.stop())
	}
	return s, nil
}

// runDoor runs the MQTT door until the returned stop is called; it returns
// once the door listens (embedded) or is connected (external broker).
func runDoor(door *wiring.MQTTDoor) (stop func() error, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- door.Run(ctx) }()
	select {
	case <-door.Started():
	case err := <-done:
		cancel()
		return nil, fmt.Errorf("MQTT door did not start: %w", err)
	case <-time.After(15 * time.Second):
		cancel()
		return nil, errors.New("MQTT door not started within 15s")
	}
	var once sync.Once
	var stopErr error
	return func() error {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil && !errors.Is(err, context.Canceled) {
					stopErr = fmt.Errorf("MQTT door stopped with: %w", err)
				}
			case <-time.After(15 * time.Second):
				stopErr = errors.New("MQTT door did not stop within 15s")
			}
		})
		return stopErr
	}, nil
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

// fakeClock is a settable clock: a server launched on it reads only it, so
// a scenario can spend a quota and then "advance one minute".
type fakeClock struct{ ns atomic.Int64 }

// newFakeClock starts at the current second.
func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Now().Truncate(time.Second).UnixNano())
	return c
}

// Now is the clock's time (a wiring.Clock).
func (c *fakeClock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// Advance moves the clock forward by d.
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }
