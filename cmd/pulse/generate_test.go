package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/synth"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
	"github.com/pulsemetrics/pulse/usecase/query"
)

// embeddedConfig is the configuration of the CLI on a data dir of its own.
func embeddedConfig(t *testing.T, dir string) *config.Config {
	t.Helper()
	env := map[string]string{"PULSE_DATA_DIR": dir, "PULSE_LOG_LEVEL": "warn"}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg, finish := config.Register(fs, func(k string) string { return env[k] })
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := finish(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// countStored counts the plan's samples the query use case answers, raw,
// page by page, and fails on a repeated (series, ts).
func countStored(t *testing.T, qs *query.Service, tenantID int64, plan synth.Plan) int64 {
	t.Helper()
	q := metric.Query{TenantID: tenantID, Name: plan.Spec.Name, Start: plan.Spec.Start.UnixMilli(), End: plan.Spec.End.UnixMilli(),
		Interval: query.IntervalRaw, MaxPoints: query.HardMaxPoints}
	seen := map[string]bool{}
	var n int64
	for {
		page, err := qs.Run(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Series {
			for _, p := range s.Points {
				k := fmt.Sprint(s.Tags, p.TS)
				if seen[k] {
					t.Fatalf("sample %s answered twice", k)
				}
				seen[k] = true
				n++
			}
		}
		if !page.Next.Set {
			return n
		}
		q.Cursor = page.Next
	}
}

// The local target writes through the ingest use case and drains the
// queue itself: afterwards the query use case answers every sample, with
// no pulse serve running; writing the same plan again stores nothing new.
func TestWriteSyntheticLocal(t *testing.T) {
	ctx := context.Background()
	cfg := embeddedConfig(t, t.TempDir())
	ten, closeTen, err := initTenancy(ctx, cfg, "cli")
	if err != nil {
		t.Fatal(err)
	}
	tn, err := ten.CreateTenant(ctx, audit.CLI(), "acme", "Acme", 30)
	closeTen()
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().Truncate(time.Second)
	plan, err := synth.NewPlan(synth.Spec{Name: "gen.local", Pattern: synth.Sine, Amplitude: 1, Period: time.Hour, Noise: 0.1,
		Tags: []string{"host=web-{1..3}"}, Every: time.Second, Start: end.Add(-2000 * time.Second), End: end, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	w, cleanup, err := initSynthetic(ctx, cfg, "cli")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	var last int64
	n, err := wiring.WriteSynthetic(ctx, w, "acme", plan, wiring.SyntheticOptions{Batch: 250, Concurrency: 3}, func(done int64) {
		if done <= last {
			t.Errorf("progress went from %d to %d", last, done)
		}
		last = done
	})
	if err != nil || n != plan.Samples() || last != n || plan.Samples() != 6000 {
		t.Fatalf("WriteSynthetic = %d, %v (progress %d); want %d", n, err, last, plan.Samples())
	}
	if backlog, err := w.Queue.Backlog(ctx); err != nil || backlog != 0 {
		t.Errorf("queue after WriteSynthetic: %d entries, %v", backlog, err)
	}
	qs := wiring.ProvideQuery(w.Samples, cfg)
	if got := countStored(t, qs, tn.ID, plan); got != plan.Samples() {
		t.Fatalf("stored %d samples, want %d", got, plan.Samples())
	}
	// Again: accepted again, stored once.
	if n, err := wiring.WriteSynthetic(ctx, w, "acme", plan, wiring.SyntheticOptions{}, nil); err != nil || n != plan.Samples() {
		t.Fatalf("second WriteSynthetic = %d, %v", n, err)
	}
	if got := countStored(t, qs, tn.ID, plan); got != plan.Samples() {
		t.Fatalf("after a second write: %d samples, want %d", got, plan.Samples())
	}
	// An unknown tenant, and samples older than the tenant's retention, are refused clearly.
	if _, err := wiring.WriteSynthetic(ctx, w, "nobody", plan, wiring.SyntheticOptions{}, nil); err == nil ||
		!strings.Contains(err.Error(), `no tenant with the slug "nobody" (create it: pulse tenant create nobody)`) {
		t.Errorf("unknown tenant: %v", err)
	}
	old := plan.Spec
	old.Start, old.End = end.Add(-40*24*time.Hour), end.Add(-40*24*time.Hour+time.Minute)
	oldPlan, _ := synth.NewPlan(old)
	if _, err := wiring.WriteSynthetic(ctx, w, "acme", oldPlan, wiring.SyntheticOptions{}, nil); err == nil ||
		!strings.Contains(err.Error(), "the store refused the generated samples: gen.local{host=web-1} at ") {
		t.Errorf("beyond retention: %v", err)
	}
}

// pulseCLI runs the built pulse binary on a data dir.
func pulseCLI(t *testing.T, data string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(buildBinaries(t), "pulse"), args...)
	cmd.Env = append(os.Environ(), "PULSE_DATA_DIR="+data, "PULSE_DATABASE_URL=", "PULSE_REDIS_URL=")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// tableCounts counts the rows of every table of the SQLite database.
func tableCounts(t *testing.T, path string) map[string]int64 {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	out := map[string]int64{}
	for _, name := range tables {
		var n int64
		if err := db.QueryRow(`SELECT COUNT(*) FROM "` + name + `"`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[name] = n
	}
	return out
}

// `pulse demo` on a fresh data dir sets everything up; a second run
// changes nothing (no row of any table), prints the same token and says so.
func TestDemoTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	data := t.TempDir()
	out, errOut, err := pulseCLI(t, data, "demo")
	if err != nil {
		t.Fatalf("first demo: %v\n%s\n%s", err, out, errOut)
	}
	for _, want := range []string{"created tenant demo", "created token pulse_", "created user admin@demo.local (admin of demo), password: ",
		`created dashboard "Hosts overview"`, "with 6 widgets", `created alert rule "High CPU"`, "backfilled 181440 samples in 18 series",
		"rolled up 181440 raw samples", "demo ready: "} {
		if !strings.Contains(out, want) {
			t.Errorf("first run: no %q in\n%s", want, out)
		}
	}
	token := regexp.MustCompile(`pulse_[a-z0-9]+_[A-Za-z0-9]+`).FindString(out)
	if token == "" {
		t.Fatalf("no token in %s", out)
	}
	st, err := os.Stat(filepath.Join(data, "demo.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("demo.json: %v, %v", st, err)
	}
	counts := tableCounts(t, filepath.Join(data, "pulse.db"))
	for table, want := range map[string]int64{"tenants": 1, "users": 1, "api_tokens": 1, "dashboards": 1, "dashboard_widgets": 6,
		"alert_rules": 1, "samples": 181440, "series": 18} {
		if counts[table] != want {
			t.Errorf("%s: %d rows, want %d", table, counts[table], want)
		}
	}

	out2, errOut2, err := pulseCLI(t, data, "demo")
	if err != nil {
		t.Fatalf("second demo: %v\n%s\n%s", err, out2, errOut2)
	}
	lines := strings.Split(strings.TrimSpace(out2), "\n")
	if lines[len(lines)-1] != "demo already set up: nothing changed" || strings.Contains(out2, "created") ||
		!strings.Contains(out2, token) || !strings.Contains(out2, "user admin@demo.local exists") {
		t.Errorf("second run's output:\n%s", out2)
	}
	if again := tableCounts(t, filepath.Join(data, "pulse.db")); fmt.Sprint(again) != fmt.Sprint(counts) {
		t.Errorf("the second run changed the database:\nbefore %v\nafter  %v", counts, again)
	}
	// The token works against a pulse serve on the same data dir, and reads the demo's data.
	addr := freeAddr(t)
	serve := exec.Command(filepath.Join(buildBinaries(t), "pulse"), "serve")
	serve.Env = append(os.Environ(), "PULSE_HTTP_ADDR="+addr, "PULSE_DATA_DIR="+data, "PULSE_DATABASE_URL=", "PULSE_REDIS_URL=",
		"PULSE_MQTT_URL=", "PULSE_MQTT_LISTEN=127.0.0.1:0")
	var stderr bytes.Buffer
	serve.Stderr = &stderr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = serve.Process.Kill(); _ = serve.Wait() }()
	waitReady(t, addr, &stderr)
	if got := countQueried(t, addr, token, "system.cpu.utilization", time.Now().Add(-8*24*time.Hour), time.Now()); got != 3*10080 {
		t.Errorf("system.cpu.utilization: %d samples over the API, want %d", got, 3*10080)
	}
}

// countQueried sums the hourly counts of a metric over the query API.
func countQueried(t *testing.T, addr, token, name string, from, to time.Time) int64 {
	t.Helper()
	v := url.Values{"name": {name}, "start": {from.UTC().Format(time.RFC3339)}, "end": {to.UTC().Format(time.RFC3339)},
		"interval": {"1h"}, "agg": {"count"}, "max_points": {"100000"}}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/metrics/query?"+v.Encode(), nil)
	req.Header.Set("X-API-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Series []struct {
			Points []struct {
				Count int64 `json:"count"`
			} `json:"points"`
		} `json:"series"`
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("query answered %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, s := range page.Series {
		for _, p := range s.Points {
			n += p.Count
		}
	}
	return n
}

// With a pulse serve running on the same data dir, `pulse generate`
// writes both ways: through its HTTP API (--url) and into the shared
// embedded queue and SQLite (--tenant); every sample is stored once. A bad
// flag is one line on stderr and exit status 1.
func TestGenerateBesideServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	data := t.TempDir()
	if out, errOut, err := pulseCLI(t, data, "tenant", "create", "acme"); err != nil {
		t.Fatalf("tenant create: %v %s %s", err, out, errOut)
	}
	out, errOut, err := pulseCLI(t, data, "token", "create", "acme", "--scopes", "ingest,read")
	if err != nil {
		t.Fatalf("token create: %v %s", err, errOut)
	}
	token := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	addr := freeAddr(t)
	serve := exec.Command(filepath.Join(buildBinaries(t), "pulse"), "serve")
	serve.Env = append(os.Environ(), "PULSE_HTTP_ADDR="+addr, "PULSE_DATA_DIR="+data, "PULSE_DATABASE_URL=", "PULSE_REDIS_URL=",
		"PULSE_MQTT_URL=", "PULSE_MQTT_LISTEN=127.0.0.1:0")
	var stderr bytes.Buffer
	serve.Stderr = &stderr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = serve.Process.Kill(); _ = serve.Wait() }()
	waitReady(t, addr, &stderr)

	from := time.Now().Add(-6 * time.Hour).UTC().Truncate(time.Hour)
	to := from.Add(5 * time.Hour)
	common := []string{"--tag", "host=h-{1..4}", "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--every", "5s", "--batch", "2000"}
	if out, errOut, err := pulseCLI(t, data, append([]string{"generate", "--url", "http://" + addr, "--token", token, "--name", "gen.http"}, common...)...); err != nil ||
		!strings.HasPrefix(out, "generated 14400 samples in 4 series") {
		t.Fatalf("generate --url: %v\n%s\n%s", err, out, errOut)
	}
	if out, errOut, err := pulseCLI(t, data, append([]string{"generate", "--tenant", "acme", "--name", "gen.local", "--pattern", "counter"}, common...)...); err != nil ||
		!strings.HasPrefix(out, "generated 14400 samples in 4 series") {
		t.Fatalf("generate --tenant beside serve: %v\n%s\n%s", err, out, errOut)
	}
	// The local run returned after the queue was drained (by it or by serve): both are queryable now.
	deadline := time.Now().Add(10 * time.Second)
	for _, name := range []string{"gen.local", "gen.http"} {
		for {
			got := countQueried(t, addr, token, name, from, to)
			if got == 14400 {
				break
			}
			if name == "gen.local" || time.Now().After(deadline) { // the local writer waits for storage itself
				t.Fatalf("%s: %d samples queryable, want 14400", name, got)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	_, errOut, err = pulseCLI(t, data, "generate", "--tenant", "acme", "--name", "x", "--duration", "1h", "--every", "0s")
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 ||
		!strings.Contains(errOut, "pulse: invalid flags: --every 0s") {
		t.Errorf("bad flag: %v, stderr %q", err, errOut)
	}
}
