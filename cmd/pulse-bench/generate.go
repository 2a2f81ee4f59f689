package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/infrastructure/app"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
)

var (
	genSeries      = flag.Int("generate-series", 100, "generate mode: series (host=h-001…)")
	genSteps       = flag.Int("generate-steps", 50000, "generate mode: samples per series (one a second)")
	genBatch       = flag.Int("generate-batch", 5000, "generate mode: pulse generate --batch")
	genConcurrency = flag.Int("generate-concurrency", 4, "generate mode: pulse generate --concurrency")
	genProfile     = flag.String("generate-server-cpuprofile", "", "generate mode: serve in this process instead of a pulse serve (same embedded settings, API and workers) and write its CPU profile while pulse generate posts")
)

// runGenerate measures `pulse generate --url … --token …` against a local
// `pulse serve` on embedded defaults (SQLite, embedded queue, every
// protection on; the token's quota raised above the load): (g) the rate of
// samples accepted (202) as pulse generate reports it, with the CPU each
// process used meanwhile, and (h) how long from the start until every
// sample is committed (the queue drained: queryable), confirmed by the
// query API's count.
func runGenerate(ctx context.Context) error {
	fmt.Println("\n== generate: pulse generate --url → a local pulse serve (embedded defaults) ==")
	dir := mustTempDir()
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "pulse")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/pulse")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/pulse (run from the repository root): %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	env := map[string]string{
		"PULSE_DATA_DIR": filepath.Join(dir, "data"), "PULSE_HTTP_ADDR": addr, "PULSE_MQTT_LISTEN": "127.0.0.1:0",
		"PULSE_LOG_LEVEL": "warn", "PULSE_SECRET_KEY": benchSecretKey, "PULSE_DATABASE_URL": "", "PULSE_REDIS_URL": "", "PULSE_MQTT_URL": "",
	}
	cliEnv := os.Environ()
	for k, v := range env {
		cliEnv = append(cliEnv, k+"="+v)
	}

	var (
		tok        string
		serverPID  int
		stopServer func()
	)
	if *genProfile == "" {
		ln.Close()
		tok, err = benchTenantToken(ctx, bin, cliEnv)
		if err != nil {
			return err
		}
		serve := exec.Command(bin, "serve")
		serve.Env = cliEnv
		serve.Stdout, serve.Stderr = os.Stderr, os.Stderr
		if err := serve.Start(); err != nil {
			return err
		}
		serverPID = serve.Process.Pid
		stopServer = func() { _ = serve.Process.Kill(); _ = serve.Wait() }
	} else {
		// The same configuration in this process, so that its CPU can be profiled.
		delete(env, "PULSE_HTTP_ADDR")
		cfg, err := loadConfigAs(env)
		if err != nil {
			ln.Close()
			return err
		}
		p, cleanup, err := wiring.AssemblePipeline(ctx, cfg, "all")
		if err != nil {
			ln.Close()
			return err
		}
		if _, err := p.Tenancy.CreateTenant(ctx, audit.CLI(), "bench", "Bench", 3650); err != nil {
			cleanup()
			return err
		}
		issued, err := p.Tenancy.CreateToken(ctx, audit.CLI(), "bench", token.Spec{Name: "bench", Scopes: []token.Scope{token.ScopeIngest, token.ScopeRead}, RateLimit: 1_000_000_000})
		if err != nil {
			cleanup()
			return err
		}
		tok, serverPID = issued.Plain, os.Getpid()
		runCtx, cancel := context.WithCancel(ctx)
		a := &app.App{Name: "bench-serve", Handler: p.Handler, Log: p.Log, ShutdownTimeout: 5 * time.Second,
			Loops: append([]app.Loop{p.Live}, p.Workers...)}
		done := make(chan struct{})
		go func() { _ = a.Serve(runCtx, ln); close(done) }()
		stopServer = func() { cancel(); <-done; cleanup() }
	}
	defer stopServer()
	base := "http://" + addr
	if err := waitHealthz(base, 30*time.Second); err != nil {
		return err
	}

	n := int64(*genSeries) * int64(*genSteps)
	to := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	from := to.Add(-time.Duration(*genSteps) * time.Second)
	args := []string{"generate", "--url", base, "--token", tok, "--name", "bench.generate", "--pattern", "sine", "--amplitude", "10",
		"--offset", "50", "--noise", "1", "--period", "1h", "--tag", fmt.Sprintf("host=h-{%03d..%03d}", 1, *genSeries),
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--every", "1s",
		"--batch", strconv.Itoa(*genBatch), "--concurrency", strconv.Itoa(*genConcurrency)}
	fmt.Printf("pulse generate --url %s --token … --tag 'host=h-{001..%03d}' --every 1s --from … --to … (%d samples, %d series) --batch %d --concurrency %d\n",
		base, *genSeries, n, *genSeries, *genBatch, *genConcurrency)
	gen := exec.CommandContext(ctx, bin, args...)
	gen.Env = cliEnv
	var out bytes.Buffer
	gen.Stdout, gen.Stderr = &out, os.Stderr
	srvCPU0, _ := procCPUSeconds(serverPID)
	stopProfile := startProfile(*genProfile)
	began := time.Now()
	if err := gen.Start(); err != nil {
		stopProfile()
		return err
	}
	err = gen.Wait()
	posted := time.Since(began)
	stopProfile()
	srvCPU1, _ := procCPUSeconds(serverPID)
	var genCPU float64
	if st := gen.ProcessState; st != nil {
		genCPU = (st.UserTime() + st.SystemTime()).Seconds()
	}
	if err != nil {
		return fmt.Errorf("pulse generate: %v\n%s", err, out.String())
	}
	summary := strings.TrimSpace(out.String())
	fmt.Println(summary)
	rate, took, err := parseSummary(summary)
	if err != nil {
		return err
	}

	// (h) the queue drained: every accepted sample committed, queryable.
	var drained time.Duration
	for {
		w, p, err := queueDepth(base)
		if err != nil {
			return err
		}
		if w+p == 0 {
			drained = time.Since(began)
			break
		}
		if time.Since(began) > 10*time.Minute {
			return fmt.Errorf("the queue still holds %.0f entries after 10 minutes", w+p)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Hourly buckets start on the hour: ask from the hour of the first sample.
	count, err := queryCount(base, tok, "bench.generate", from.Truncate(time.Hour), to.Add(time.Hour))
	if err != nil {
		return err
	}
	fmt.Printf("(g) accepted (202), as pulse generate reports:   %10.0f samples/s (%s)\n", rate, took)
	fmt.Printf("    CPU meanwhile: server %.1f s (%.0f%% of one core), pulse generate %.1f s (%.0f%%), in %s on %d cores\n",
		srvCPU1-srvCPU0, 100*(srvCPU1-srvCPU0)/posted.Seconds(), genCPU, 100*genCPU/posted.Seconds(), posted.Round(time.Millisecond), maxProcs())
	fmt.Printf("(h) all queryable (queue drained) after:          %10s from the start: %.0f samples/s end to end\n",
		drained.Round(time.Millisecond), float64(n)/drained.Seconds())
	fmt.Printf("    the query API counts %d of %d samples\n", count, n)
	if count != n {
		return fmt.Errorf("the query API counts %d samples, want %d", count, n)
	}
	return nil
}

// loadConfigAs is loadConfig with the run's env alone deciding (the
// protections at their defaults, as pulse serve has them).
func loadConfigAs(env map[string]string) (*config.Config, error) {
	env["PULSE_RATE_LIMIT_SAMPLES"] = "600000"
	env["PULSE_RATE_LIMIT_REQUESTS"] = "6000"
	return loadConfig(env)
}

// benchTenantToken makes the tenant bench and an ingest+read token whose
// quota is far above the load (the platform's default is 600,000
// samples/min), with the pulse CLI on the run's data dir.
func benchTenantToken(ctx context.Context, bin string, env []string) (string, error) {
	run := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = env
		b, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("pulse %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		return string(b), nil
	}
	if _, err := run("tenant", "create", "bench", "--retention-days", "3650"); err != nil {
		return "", err
	}
	out, err := run("token", "create", "bench", "--scopes", "ingest,read", "--rate-limit", "1000000000")
	if err != nil {
		return "", err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1], nil
}

var summaryRE = regexp.MustCompile(`^generated (\d+) samples in \d+ series \(.*\) at (\d+) samples/s in (\S+)$`)

func parseSummary(s string) (float64, string, error) {
	m := summaryRE.FindStringSubmatch(s)
	if m == nil {
		return 0, "", fmt.Errorf("unexpected summary from pulse generate: %q", s)
	}
	rate, _ := strconv.ParseFloat(m[2], 64)
	return rate, m[3], nil
}

// queueDepth reads pulse_queue_waiting and pulse_queue_pending from /metrics.
func queueDepth(base string) (waiting, pending float64, err error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	found := 0
	for sc.Scan() {
		line := sc.Text()
		for name, p := range map[string]*float64{"pulse_queue_waiting ": &waiting, "pulse_queue_pending ": &pending} {
			if v, ok := strings.CutPrefix(line, name); ok {
				*p, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
				found++
			}
		}
	}
	if found < 2 {
		return 0, 0, fmt.Errorf("no pulse_queue_waiting/pending in %s/metrics", base)
	}
	return waiting, pending, sc.Err()
}

// queryCount sums the hourly counts of a metric over the query API.
func queryCount(base, tok, name string, from, to time.Time) (int64, error) {
	v := url.Values{"name": {name}, "start": {from.Format(time.RFC3339)}, "end": {to.Format(time.RFC3339)},
		"interval": {"1h"}, "agg": {"count"}, "max_points": {"100000"}}
	var total int64
	cursor := ""
	for {
		q := v
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		req, _ := http.NewRequest(http.MethodGet, base+"/api/metrics/query?"+q.Encode(), nil)
		req.Header.Set("X-API-Token", tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("query answered %d: %s", resp.StatusCode, body)
		}
		var page struct {
			Series []struct {
				Points []struct {
					Count int64 `json:"count"`
				} `json:"points"`
			} `json:"series"`
			Next *string `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return 0, err
		}
		for _, s := range page.Series {
			for _, p := range s.Points {
				total += p.Count
			}
		}
		if page.Next == nil || *page.Next == "" {
			return total, nil
		}
		cursor = *page.Next
	}
}
