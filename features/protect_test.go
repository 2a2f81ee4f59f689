package features_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

// The protection tests run the real binaries: quotas shared by API replicas
// through Redis, exactly-once across a kill -9 between commit and
// acknowledgement, and a gzip bomb against the memory of a pulse-api.

// distributedProcEnv is the settings of distributed-mode processes on a
// fresh MariaDB database and a Redis prefix of the test's own.
func distributedProcEnv(t *testing.T) (env map[string]string, dsn, prefix string) {
	t.Helper()
	dsn = testservice.MariaDB(t)
	_, prefix = testservice.Redis(t)
	env = map[string]string{
		"PULSE_DATA_DIR":           t.TempDir(),
		"PULSE_DATABASE_URL":       mysqlURL(t, dsn),
		"PULSE_REDIS_URL":          "redis://" + testservice.RedisAddr() + "/0",
		"PULSE_QUEUE_STREAM":       prefix + "ingest",
		"PULSE_LIVE_STREAM":        prefix + "live",
		"PULSE_RATE_LIMIT_PREFIX":  prefix + "rl:",
		"PULSE_IDEMPOTENCY_PREFIX": prefix + "idem:", // not read yet: see idemprefix_test.go
		"PULSE_LOG_LEVEL":          "warn",
	}
	return env, dsn, prefix
}

// startAPI starts a pulse-api on a free port and waits until it is healthy.
func startAPI(t *testing.T, name, bin string, env map[string]string) (*process, string) {
	t.Helper()
	addr := freeAddr(t)
	p := startProcess(t, name, bin, withEnv(env, "PULSE_HTTP_ADDR", addr))
	waitProcessHealthy(t, p, addr)
	return p, "http://" + addr
}

// procTokenWith creates a tenant and an ingest,read token with the given
// extra `pulse token create` arguments, through the CLI.
func procTokenWith(t *testing.T, pulse string, env map[string]string, extra ...string) string {
	t.Helper()
	slug := testservice.UniqueName("protect-")
	runCLI(t, pulse, env, "tenant", "create", slug)
	args := append([]string{"token", "create", slug, "--scopes", "ingest,read"}, extra...)
	tok := lastLine(runCLI(t, pulse, env, args...))
	if !strings.HasPrefix(tok, "pulse_") {
		t.Fatalf("pulse %s: last line %q is not a token", strings.Join(args, " "), tok)
	}
	return tok
}

// TestQuotaSharedByTwoAPIs: a token with --rate-limit 100 posts 20-sample
// requests alternately to two pulse-api processes on one Redis. Together
// they accept exactly 100 samples, then both answer 429.
//
// GCRA gives back one sample every 600 ms at this quota, so a refused
// 20-sample request would fit again only 12 s later: the test checks it
// sent everything well within that, or the count would prove nothing.
func TestQuotaSharedByTwoAPIs(t *testing.T) {
	if testing.Short() {
		t.Skip("process test: builds and runs pulse-api twice")
	}
	bins := buildBinaries(t)
	env, _, _ := distributedProcEnv(t)
	const quota, perRequest, requests = 100, 20, 12
	tok := procTokenWith(t, bins.pulse, env, "--rate-limit", strconv.Itoa(quota))
	_, urlA := startAPI(t, "pulse-api-a", bins.api, env)
	_, urlB := startAPI(t, "pulse-api-b", bins.api, env)

	load := crashLoad{requests: requests, perRequest: perRequest, base: time.Now().Add(-time.Hour)}
	var (
		accepted    int
		refusedBy   = map[string]int{}
		acceptedBy  = map[string]int{}
		began       = time.Now()
		firstRefuse = -1
	)
	for i := 0; i < requests; i++ {
		base := urlA
		if i%2 == 1 {
			base = urlB
		}
		resp, body := postRaw(t, base+"/api/metrics", tok, load.body(i), nil)
		switch resp.StatusCode {
		case http.StatusAccepted:
			if firstRefuse >= 0 {
				t.Fatalf("request %d (to %s) accepted after request %d was refused: the quota came back early or is not shared", i, base, firstRefuse)
			}
			accepted += perRequest
			acceptedBy[base]++
		case http.StatusTooManyRequests:
			if firstRefuse < 0 {
				firstRefuse = i
			}
			refusedBy[base]++
			checkQuotaRefusal(t, resp, body, quota)
		default:
			t.Fatalf("request %d to %s answered %d: %s", i, base, resp.StatusCode, truncate(body))
		}
	}
	if took := time.Since(began); took > 6*time.Second {
		t.Fatalf("sending %d requests took %s: the quota refilled meanwhile, the count proves nothing", requests, took)
	}
	if accepted != quota {
		t.Fatalf("the two APIs accepted %d samples in total, want exactly the quota %d (accepted per API: %v)", accepted, quota, acceptedBy)
	}
	if refusedBy[urlA] == 0 || refusedBy[urlB] == 0 || acceptedBy[urlA] == 0 || acceptedBy[urlB] == 0 {
		t.Fatalf("each API should accept some and then refuse: accepted %v, refused %v", acceptedBy, refusedBy)
	}
	t.Logf("accepted %d samples (%v), then 429 from both (%v)", accepted, acceptedBy, refusedBy)
}

// postRaw posts body (already encoded) and returns the answer and its body.
func postRaw(t *testing.T, url, tok string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-API-Token", tok)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatalf("POST %s: read answer: %v", url, err)
	}
	return resp, b.Bytes()
}

func checkQuotaRefusal(t *testing.T, resp *http.Response, body []byte, quota int64) {
	t.Helper()
	var e errorAnswer
	if err := json.Unmarshal(body, &e); err != nil || e.Limit != "samples_per_minute" || e.Max != quota {
		t.Fatalf("429 does not name samples_per_minute=%d: %s", quota, truncate(body))
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
		t.Fatalf("429 Retry-After %q, want 1 to 60 seconds", resp.Header.Get("Retry-After"))
	}
	if got := resp.Header.Get("X-RateLimit-Limit"); got != strconv.FormatInt(quota, 10) {
		t.Fatalf("429 X-RateLimit-Limit %q, want %d", got, quota)
	}
}

// TestKillBetweenCommitAndAck kills pulse-worker with SIGKILL after it
// committed a batch but before it acknowledged the queue entries (a 10 s
// PULSE_FLUSH_ACK_DELAY holds that window open). A normal worker then gets
// the entries again after the 2 s lease; storing them again must add
// nothing: exactly the posted samples, no duplicates, the same sum.
func TestKillBetweenCommitAndAck(t *testing.T) {
	if testing.Short() {
		t.Skip("process test: builds and kills pulse-worker")
	}
	bins := buildBinaries(t)
	env, dsn, prefix := distributedProcEnv(t)
	env = withEnv(env, "PULSE_QUEUE_LEASE", "2s", "PULSE_WORKER_CONCURRENCY", "1")
	tok := procTokenWith(t, bins.pulse, env)
	api, apiURL := startAPI(t, "pulse-api", bins.api, env)

	// 10 requests × 100 samples: 100 series, 1,000 distinct (series, ts), values 0…999.
	load := crashLoad{requests: 10, perRequest: 100, base: time.Now().Add(-time.Hour)}
	total := load.total()
	if _, err := postAll(context.Background(), apiURL+"/api/metrics", tok, load, allRequests(load.requests), 2); err != nil {
		t.Fatalf("posting %d samples: %v\n%s", total, err, api.tail())
	}

	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("open MariaDB: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	client, _ := testservice.Redis(t)
	stream := prefix + "ingest"
	backlog := func() int64 {
		n, err := client.XLen(context.Background(), stream).Result()
		if err != nil {
			t.Fatalf("XLEN %s: %v", stream, err)
		}
		return n
	}
	if n := backlog(); n != int64(load.requests) {
		t.Fatalf("the stream holds %d entries before any worker runs, want %d", n, load.requests)
	}

	const ackDelay = 10 * time.Second
	slow := startProcess(t, "pulse-worker-slow-ack", bins.worker,
		withEnv(env, "PULSE_HTTP_ADDR", freeAddr(t), "PULSE_FLUSH_ACK_DELAY", ackDelay.String()))
	waitRows(t, db, total, 30*time.Second, slow) // every row committed…
	committedAt := time.Now()
	unacked := backlog() // …and none acknowledged
	slow.kill()
	if since := time.Since(committedAt); since >= ackDelay/2 {
		t.Fatalf("the kill came %s after the commit: too close to the %s ack delay to be sure it came before the ack", since, ackDelay)
	}
	if unacked != int64(load.requests) {
		t.Fatalf("%d of %d queue entries were still unacknowledged at the kill: the kill did not fall between commit and ack", unacked, load.requests)
	}
	if n, err := countRows(db); err != nil || n != total {
		t.Fatalf("after the kill: %d rows (err %v), want the %d committed", n, err, total)
	}
	t.Logf("kill -9 with all %d rows committed and %d entries unacknowledged", total, unacked)

	worker := startProcess(t, "pulse-worker", bins.worker, withEnv(env, "PULSE_HTTP_ADDR", freeAddr(t)))
	deadline := time.Now().Add(30 * time.Second)
	for backlog() > 0 { // the redelivered entries are stored (again) and acknowledged
		if worker.exited() {
			t.Fatalf("pulse-worker exited\n%s", worker.tail())
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stream still holds %d entries 30 s after the second worker started (lease 2s)\n%s", backlog(), worker.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitSettled(t, db, total, worker)
	assertExactly(t, db, distinctMariaDB, total)
}

// TestGzipBombBoundedMemory posts, one after the other, 8 gzip bodies that
// would decode to 20 MiB of zeros (about 20 KiB each on the wire) to a
// pulse-api process: each must be refused with 413 naming
// max_decoded_bytes (5 MiB by default), and the process's peak resident
// memory must grow by less than 64 MiB (decoding one whole takes a 32 MiB
// buffer, plus the smaller ones it grew from). Measured on the dev box:
// about 30–34 MiB of growth; 4 bombs at a time take about 58 MiB.
func TestGzipBombBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("process test: builds and runs pulse-api")
	}
	bins := buildBinaries(t)
	env, _, _ := distributedProcEnv(t)
	tok := procTokenWith(t, bins.pulse, env)
	api, apiURL := startAPI(t, "pulse-api", bins.api, env)

	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	_, _ = zw.Write(make([]byte, 20<<20))
	_ = zw.Close()
	t.Logf("gzip bomb: %d bytes on the wire, 20 MiB decoded", bomb.Len())

	// Warm up: one ordinary request, so that the baseline includes a served request.
	if resp, body := postRaw(t, apiURL+"/api/metrics", tok, []byte(`{"name":"warm.up","value":1}`), nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("warm-up answered %d: %s", resp.StatusCode, truncate(body))
	}
	pid := api.cmd.Process.Pid
	before := procStatusKiB(t, pid, "VmRSS")

	const bombs, clients = 8, 1
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []string
		next = make(chan int, bombs)
	)
	for i := 0; i < bombs; i++ {
		next <- i
	}
	close(next)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				msg := postBomb(apiURL+"/api/metrics", tok, bomb.Bytes())
				if msg != "" {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("bomb %d: %s", i, msg))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%s\n%s", strings.Join(errs, "\n"), api.tail())
	}
	if api.exited() {
		t.Fatalf("pulse-api exited\n%s", api.tail())
	}
	after, peak := procStatusKiB(t, pid, "VmRSS"), procStatusKiB(t, pid, "VmHWM")
	t.Logf("pulse-api memory: %d MiB resident before, %d MiB after, peak %d MiB", before>>10, after>>10, peak>>10)
	const bound = 64 << 10 // KiB
	if peak-before >= bound {
		t.Fatalf("peak resident memory grew by %d MiB (from %d to %d MiB) for %d gzip bombs: want less than %d MiB",
			(peak-before)>>10, before>>10, peak>>10, bombs, bound>>10)
	}
}

// postBomb sends one gzip body and returns "" if it was refused with 413
// naming max_decoded_bytes, else what went wrong.
func postBomb(url, tok string, body []byte) string {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	status, b, err := rawPost(ctx, url, tok, body, http.Header{"Content-Encoding": {"gzip"}})
	if err != nil {
		return err.Error()
	}
	var e errorAnswer
	if status != http.StatusRequestEntityTooLarge || json.Unmarshal(b, &e) != nil ||
		e.Limit != "max_decoded_bytes" || !strings.Contains(e.Error, "max_decoded_bytes") {
		return fmt.Sprintf("answered %d, want 413 naming max_decoded_bytes: %s", status, truncate(b))
	}
	return ""
}

// procStatusKiB reads a "Vm…: N kB" line of /proc/<pid>/status.
func procStatusKiB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read memory of pid %d: %v", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("/proc/%d/status %s: %q", pid, field, rest)
		}
		return n
	}
	t.Fatalf("/proc/%d/status has no %s line", pid, field)
	return 0
}
