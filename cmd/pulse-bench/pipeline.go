package main

import (
	"bytes"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/go-sql-driver/mysql" // MariaDB driver for row counts
	_ "modernc.org/sqlite"             // SQLite driver for row counts

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/infrastructure/app"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
)

type workload struct{ requests, samples, clients int }

// bodies renders every request up front so the client's own cost is small:
// request i carries one sample per series at time base+i seconds, so every
// (series, ts) is distinct and nothing is deduplicated away.
func (w workload) bodies(base time.Time) [][]byte {
	out := make([][]byte, w.requests)
	for i := range out {
		var b bytes.Buffer
		b.WriteByte('[')
		ts := strconv.FormatFloat(float64(base.Unix()+int64(i)), 'f', -1, 64)
		for j := 0; j < w.samples; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"name":"bench.cpu.load","value":%d.%03d,"tags":{"host":"host-%04d","dc":"eu-1"},"ts":%s}`, j%100, (i*7+j)%1000, j, ts)
		}
		b.WriteByte(']')
		out[i] = b.Bytes()
	}
	return out
}

func loadConfig(env map[string]string) (*config.Config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	// The run's own settings win; any other PULSE_* variable (e.g.
	// PULSE_WORKER_CONCURRENCY) can be tried from the environment.
	// The quota stays on (its cost is part of the accept path) but far
	// above what one client can send.
	defaults := map[string]string{"PULSE_RATE_LIMIT_SAMPLES": "1000000000000", "PULSE_RATE_LIMIT_REQUESTS": "1000000000"}
	cfg, finish := config.Register(fs, func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		if v := os.Getenv(k); v != "" {
			return v
		}
		return defaults[k]
	})
	if err := fs.Parse([]string{"--http-addr", "127.0.0.1:0", "--log-level", "warn"}); err != nil {
		return nil, err
	}
	return cfg, finish()
}

// measurePipeline runs the API alone while the clients post every request
// (accept rate), then starts the workers and times the backlog's drain into
// the store (persisted rate).
func measurePipeline(ctx context.Context, w workload, env map[string]string, sqliteDir string) (result, error) {
	var res result
	cfg, err := loadConfig(env)
	if err != nil {
		return res, err
	}
	res.loops = cfg.WorkerConcurrency
	p, cleanup, err := wiring.AssemblePipeline(ctx, cfg, "bench")
	if err != nil {
		return res, err
	}
	defer cleanup()
	ten, reg, h, log := p.Tenancy, p.Registry, p.Handler, p.Log

	if _, err := ten.CreateTenant(ctx, audit.CLI(), "bench", "Bench", 3650); err != nil {
		return res, err
	}
	issued, err := ten.CreateToken(ctx, audit.CLI(), "bench", token.Spec{Name: "bench", Scopes: []token.Scope{token.ScopeIngest, token.ScopeRead}})
	if err != nil {
		return res, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	apiCtx, stopAPI := context.WithCancel(ctx)
	defer stopAPI()
	api := &app.App{Name: "bench-api", Handler: h, Log: log, ShutdownTimeout: 5 * time.Second}
	go func() { _ = api.Serve(apiCtx, ln) }()

	bodies := w.bodies(time.Now().Add(-24 * time.Hour))
	total := int64(w.requests * w.samples)
	url := "http://" + ln.Addr().String() + "/api/metrics"
	stopAcceptProfile := startProfile(*acceptProfile)
	start := time.Now()
	if err := post(ctx, url, issued.Plain, bodies, w.clients); err != nil {
		stopAcceptProfile()
		return res, err
	}
	res.acceptTook = time.Since(start)
	stopAcceptProfile()
	res.accepted = float64(total) / res.acceptTook.Seconds()

	db, err := openCounter(cfg, sqliteDir)
	if err != nil {
		return res, err
	}
	defer db.Close()
	workCtx, stopWorkers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stopProfile := startProfile(*persistProfile)
	defer stopProfile()
	start = time.Now()
	for _, l := range p.Workers {
		wg.Add(1)
		go func() { defer wg.Done(); _ = l.Run(workCtx) }()
	}
	// Progress comes from the workers' own committed-samples counter: polling
	// COUNT(*) would scan the table and steal the database's time.
	deadline := time.Now().Add(5 * time.Minute)
	for testutil.ToFloat64(reg.Flush(nil).Samples) < float64(total) {
		if time.Now().After(deadline) {
			stopWorkers()
			return res, fmt.Errorf("only %.0f of %d samples committed after 5 minutes", testutil.ToFloat64(reg.Flush(nil).Samples), total)
		}
		time.Sleep(5 * time.Millisecond)
	}
	res.persist = time.Since(start)
	stopProfile()
	res.persisted = float64(total) / res.persist.Seconds()

	// End to end: the same load again (later timestamps) with the workers
	// running, from the first POST until the last sample is committed.
	bodies = w.bodies(time.Now().Add(-12 * time.Hour))
	start = time.Now()
	if err := post(ctx, url, issued.Plain, bodies, w.clients); err != nil {
		stopWorkers()
		return res, err
	}
	for testutil.ToFloat64(reg.Flush(nil).Samples) < float64(2*total) {
		if time.Now().After(deadline.Add(5 * time.Minute)) {
			stopWorkers()
			return res, fmt.Errorf("end to end: only %.0f of %d samples committed", testutil.ToFloat64(reg.Flush(nil).Samples), 2*total)
		}
		time.Sleep(5 * time.Millisecond)
	}
	res.endToEnd = float64(total) / time.Since(start).Seconds()
	stopWorkers()
	wg.Wait()
	total *= 2
	// The counter counts what was written; the table must hold exactly that.
	if n, err := countRows(ctx, db); err != nil || n != total {
		return res, fmt.Errorf("samples table holds %d rows (err %v), want %d", n, err, total)
	}
	return res, nil
}

func openCounter(cfg *config.Config, sqliteDir string) (*sql.DB, error) {
	if sqliteDir != "" {
		return sql.Open("sqlite", "file:"+cfg.SQLitePath()+"?mode=ro&_pragma=busy_timeout(5000)")
	}
	dsn, err := config.MySQLDSN(cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	return sql.Open("mysql", dsn)
}

// post sends every body once with `clients` keep-alive connections; any
// answer but 202 stops the run.
func post(ctx context.Context, url, token string, bodies [][]byte, clients int) error {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	defer tr.CloseIdleConnections()
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					return
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(bodies[i]))
				req.Header.Set("X-API-Token", token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusAccepted {
						err = fmt.Errorf("POST answered %d: %s", resp.StatusCode, b)
					}
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					next.Store(int64(len(bodies)))
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

func maxProcs() int { return runtime.GOMAXPROCS(0) }

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

var acceptProfile = flag.String("accept-cpuprofile", "", "write a CPU profile of the accept phase to this file")

var persistProfile = flag.String("persist-cpuprofile", "", "write a CPU profile of the persist phase to this file")

// startProfile profiles the CPU into path ("" = off); the returned stop is idempotent.
func startProfile(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		f.Close()
		return func() {}
	}
	var once sync.Once
	return func() { once.Do(func() { pprof.StopCPUProfile(); f.Close() }) }
}
