package features_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // counts rows in MariaDB
	_ "modernc.org/sqlite"             // counts rows in the embedded database

	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

// The crash tests prove the exactly-once guarantee of docs/architecture.md with kill -9:
// 100,000 accepted samples end up as exactly 100,000 rows, however often
// the process that flushes them dies mid-way.

const (
	crashRequests   = 100
	crashPerRequest = 1000
	crashSeries     = 100 // host-000 … host-099
	// drainBound bounds the wait for the last worker to store everything.
	drainBound = 90 * time.Second
	// settleFor is how long the count must stay put to be called final; it
	// is longer than the queue lease so a late redelivery would show.
	settleFor = 4 * time.Second
)

// counts are the assertions' figures.
type counts struct {
	rows, distinct, view, series int64
	sum                          float64
}

func countAll(ctx context.Context, db *sql.DB, distinctQuery string) (counts, error) {
	var c counts
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM samples").Scan(&c.rows); err != nil {
		return c, fmt.Errorf("count samples: %w", err)
	}
	if err := db.QueryRowContext(ctx, distinctQuery).Scan(&c.distinct); err != nil {
		return c, fmt.Errorf("count distinct (series_id, ts): %w", err)
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM metrics").Scan(&c.view); err != nil {
		return c, fmt.Errorf("count the metrics view: %w", err)
	}
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM series").Scan(&c.series); err != nil {
		return c, fmt.Errorf("count series: %w", err)
	}
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(SUM(value), 0) FROM samples").Scan(&c.sum); err != nil {
		return c, fmt.Errorf("sum values: %w", err)
	}
	return c, nil
}

func countRows(db *sql.DB) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n int64
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM samples").Scan(&n)
	return n, err
}

// waitRows polls until at least min rows are stored, returning the count.
func waitRows(t *testing.T, db *sql.DB, min int64, bound time.Duration, who *process) int64 {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		n, err := countRows(db)
		if err != nil {
			t.Fatalf("count rows: %v", err)
		}
		if n >= min {
			return n
		}
		if who.exited() {
			t.Fatalf("%s exited with %d rows stored (waiting for %d)\n%s", who.name, n, min, who.tail())
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d rows stored after %s, waiting for %d\n%s", n, bound, min, who.tail())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitSettled waits until the count is want and has not changed for
// settleFor, failing with the last count once drainBound has passed.
func waitSettled(t *testing.T, db *sql.DB, want int64, who *process) {
	t.Helper()
	deadline := time.Now().Add(drainBound)
	last, since := int64(-1), time.Now()
	for {
		n, err := countRows(db)
		if err != nil {
			t.Fatalf("count rows: %v", err)
		}
		if n != last {
			last, since = n, time.Now()
		}
		if n > want {
			t.Fatalf("%d rows stored, more than the %d samples accepted\n%s", n, want, who.tail())
		}
		if n == want && time.Since(since) >= settleFor {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("count did not settle at %d within %s: last %d\n%s", want, drainBound, last, who.tail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Distinct (series_id, ts) pairs, in each dialect.
const (
	distinctMariaDB = "SELECT COUNT(DISTINCT series_id, ts) FROM samples"
	distinctSQLite  = "SELECT COUNT(*) FROM (SELECT DISTINCT series_id, ts FROM samples)"
)

func assertExactly(t *testing.T, db *sql.DB, distinctQuery string, want int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := countAll(ctx, db, distinctQuery)
	if err != nil {
		t.Fatal(err)
	}
	if c.rows != want || c.distinct != want || c.view != want {
		t.Fatalf("after the crashes: %d rows in samples, %d distinct (series_id, ts), %d rows in the metrics view; want %d each",
			c.rows, c.distinct, c.view, want)
	}
	// Sample k carries the value k, so the values sum to 0+1+…+(want-1):
	// a lost sample, a duplicate or a value written to the wrong row shows.
	if wantSum := float64(want) * float64(want-1) / 2; c.sum != wantSum {
		t.Fatalf("values sum to %.0f, want %.0f", c.sum, wantSum)
	}
	if c.series != crashSeries {
		t.Fatalf("%d series stored, want %d (one per host tag)", c.series, crashSeries)
	}
}

// createTenantAndToken uses the pulse CLI as an operator would.
func createTenantAndToken(t *testing.T, pulse string, env map[string]string) string {
	t.Helper()
	slug := testservice.UniqueName("crash-")
	runCLI(t, pulse, env, "tenant", "create", slug)
	tok := lastLine(runCLI(t, pulse, env, "token", "create", slug, "--scopes", "ingest,read"))
	if len(tok) < 40 || tok[:6] != "pulse_" {
		t.Fatalf("pulse token create: last line %q is not a token", tok)
	}
	return tok
}

// TestCrashDistributed kills pulse-worker with SIGKILL three times while it
// flushes 100,000 samples from Redis Streams into MariaDB.
func TestCrashDistributed(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: builds binaries and moves 100,000 samples")
	}
	bins := buildBinaries(t)
	dsn := testservice.MariaDB(t)
	_, prefix := testservice.Redis(t)
	env := map[string]string{
		"PULSE_DATA_DIR":     t.TempDir(),
		"PULSE_DATABASE_URL": mysqlURL(t, dsn),
		"PULSE_REDIS_URL":    "redis://" + testservice.RedisAddr() + "/0",
		"PULSE_QUEUE_STREAM": prefix + "ingest",
		"PULSE_LIVE_STREAM":  prefix + "live",
		"PULSE_QUEUE_LEASE":  "2s",
		// 500 and not 5000: flush.fetchCount asks for chunk/100 queue entries
		// whatever their size, so with 1,000-sample entries a chunk of 500
		// commits 5,000 samples at a time (5000 would commit 50,000, leaving
		// no fill level to kill at). See the report on usecase/flush.
		"PULSE_FLUSH_CHUNK":        "500",
		"PULSE_WORKER_CONCURRENCY": "1",
	}
	tok := createTenantAndToken(t, bins.pulse, env)

	apiAddr := freeAddr(t)
	api := startProcess(t, "pulse-api", bins.api, withEnv(env, "PULSE_HTTP_ADDR", apiAddr))
	waitProcessHealthy(t, api, apiAddr)
	load := crashLoad{requests: crashRequests, perRequest: crashPerRequest, base: time.Now().Add(-time.Hour)}
	accepted, err := postAll(context.Background(), "http://"+apiAddr+"/api/metrics", tok, load, allRequests(load.requests), 4)
	if err != nil {
		t.Fatalf("posting %d samples: %v\n%s", load.total(), err, api.tail())
	}
	for i, ok := range accepted {
		if !ok {
			t.Fatalf("request %d was not accepted", i)
		}
	}

	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("open MariaDB: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })

	total := load.total()
	var worker *process
	for round, level := range []int64{1, total * 35 / 100, total * 70 / 100} {
		addr := freeAddr(t)
		before, err := countRows(db)
		if err != nil {
			t.Fatalf("count rows: %v", err)
		}
		worker = startProcess(t, fmt.Sprintf("pulse-worker-%d", round+1), bins.worker, withEnv(env, "PULSE_HTTP_ADDR", addr))
		n := waitRows(t, db, max(level, before+1), drainBound, worker) // this worker must have committed something
		worker.kill()
		after, err := countRows(db)
		if err != nil {
			t.Fatalf("count rows: %v", err)
		}
		t.Logf("kill -9 #%d: %d rows at start, %d when killed (aimed at ≥ %d), %d after", round+1, before, n, level, after)
		if after >= total {
			t.Fatalf("kill #%d came too late: every row was already stored (%d); the test proves nothing", round+1, after)
		}
	}
	worker = startProcess(t, "pulse-worker-final", bins.worker, withEnv(env, "PULSE_HTTP_ADDR", freeAddr(t)))
	waitSettled(t, db, total, worker)
	assertExactly(t, db, distinctMariaDB, total)
}

// TestCrashEmbedded kills `pulse serve` (API and workers in one process,
// SQLite and the embedded queue) while it flushes, restarts it and checks
// the SQLite file holds exactly 100,000 rows.
func TestCrashEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: builds binaries and moves 100,000 samples")
	}
	bins := buildBinaries(t)
	dataDir := t.TempDir()
	env := map[string]string{
		"PULSE_DATA_DIR":           dataDir,
		"PULSE_QUEUE_LEASE":        "2s",
		"PULSE_FLUSH_CHUNK":        "500", // 5,000-sample commits, as in TestCrashDistributed
		"PULSE_WORKER_CONCURRENCY": "1",
	}
	tok := createTenantAndToken(t, bins.pulse, env)
	serve := func(name string) (*process, string) {
		addr := freeAddr(t)
		p := startProcess(t, name, bins.pulse, withEnv(env, "PULSE_HTTP_ADDR", addr, "PULSE_MQTT_LISTEN", freeAddr(t)), "serve")
		waitProcessHealthy(t, p, addr)
		return p, "http://" + addr + "/api/metrics"
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "pulse.db")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatalf("open SQLite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })

	load := crashLoad{requests: crashRequests, perRequest: crashPerRequest, base: time.Now().Add(-time.Hour)}
	total := load.total()
	first, url := serve("pulse-serve-1")
	type posted struct {
		accepted []bool
		err      error
	}
	postDone := make(chan posted, 1)
	go func() {
		acc, err := postAll(context.Background(), url, tok, load, allRequests(load.requests), 2)
		postDone <- posted{acc, err}
	}()
	// Kill once some, but not all, rows are stored: flushing is under way.
	n := waitRows(t, db, total/5, drainBound, first)
	first.kill()
	res := <-postDone // the posts still running fail against the dead process
	after, err := countRows(db)
	if err != nil {
		t.Fatalf("count rows: %v", err)
	}
	t.Logf("kill -9 of pulse serve: %d rows when killed, %d after", n, after)
	if after >= total {
		t.Fatalf("the kill came too late: every row was already stored (%d); the test proves nothing", after)
	}

	second, url := serve("pulse-serve-2")
	var missing []int
	for i, ok := range res.accepted {
		if !ok {
			missing = append(missing, i) // never answered 202: the client sends it again
		}
	}
	t.Logf("%d requests were accepted before the kill; re-posting %d", load.requests-len(missing), len(missing))
	if len(missing) > 0 {
		if _, err := postAll(context.Background(), url, tok, load, missing, 2); err != nil {
			t.Fatalf("re-posting after restart: %v\n%s", err, second.tail())
		}
	}
	waitSettled(t, db, total, second)
	assertExactly(t, db, distinctSQLite, total)
}
