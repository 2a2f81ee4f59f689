package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/infrastructure/app"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
)

var (
	liveSamples = flag.Int("live-samples", 200, "live mode: samples timed from accepted to delivered, per mode")
	liveEvery   = flag.Duration("live-every", 50*time.Millisecond, "live mode: one timed sample posted this often")
	liveStreams = flag.Int("live-streams", 1000, "live mode: concurrent streams on one pulse-api process")
	liveRate    = flag.Int("live-rate", 200, "live mode: samples per second into the metric every stream follows")
	liveWindow  = flag.Duration("live-window", 20*time.Second, "live mode: how long the fan-out is measured")
)

// benchSecretKey is PULSE_SECRET_KEY of the run (pulse-api refuses to start without one).
const benchSecretKey = "cHVsc2UtYmVuY2gtbGl2ZS1zZWNyZXQta2V5LTMyYnk="

// runLive measures the live streams: (a) a sample accepted by POST
// /api/metrics → its points event received on an open stream, in embedded
// mode and in distributed mode (every hop through Redis: the queue, then
// the live feed an api's hub follows); (b) many streams on one pulse-api
// process following a metric under a steady flow: points delivered per
// second in total, and the process's memory.
func runLive(ctx context.Context) error {
	fmt.Println("\n== live: GET /api/metrics/stream ==")
	dir := mustTempDir()
	defer os.RemoveAll(dir)
	emb, err := startLiveRig(ctx, map[string]string{"PULSE_DATA_DIR": dir, "PULSE_SECRET_KEY": benchSecretKey})
	if err != nil {
		return err
	}
	embLat, err := measureLiveLatency(ctx, emb, *liveSamples, *liveEvery)
	emb.stop()
	if err != nil {
		return fmt.Errorf("embedded: %w", err)
	}
	printLatency("embedded (SQLite queue + store, in-process feed)", embLat)

	dsn, dropDB, err := newMariaDB()
	if err != nil {
		return err
	}
	defer dropDB()
	stream := testservice.UniqueName("pulse-bench:")
	defer deleteRedisKeys(stream)
	env := map[string]string{
		"PULSE_DATA_DIR": mustTempDir(), "PULSE_DATABASE_URL": "mysql://" + mysqlURLFromDSN(dsn),
		"PULSE_REDIS_URL": "redis://" + testservice.RedisAddr() + "/0", "PULSE_QUEUE_STREAM": stream,
		"PULSE_LIVE_STREAM": stream + ":live", "PULSE_RATE_LIMIT_PREFIX": stream + ":rl:",
		"PULSE_INVALIDATION_CHANNEL": stream + ":invalidate", "PULSE_SECRET_KEY": benchSecretKey,
	}
	defer os.RemoveAll(env["PULSE_DATA_DIR"])
	dist, err := startLiveRig(ctx, env)
	if err != nil {
		return err
	}
	defer dist.stop()
	distLat, err := measureLiveLatency(ctx, dist, *liveSamples, *liveEvery)
	if err != nil {
		return fmt.Errorf("distributed: %w", err)
	}
	printLatency("distributed (Redis queue + MariaDB, Redis live stream)", distLat)

	fan, err := measureFanout(ctx, dist, env, fanoutWorkload{streams: *liveStreams, rate: *liveRate, window: *liveWindow})
	if err != nil {
		return fmt.Errorf("fan-out: %w", err)
	}
	fan.print()
	printLiveSummary(embLat, distLat, fan)
	return nil
}

// liveRig is a whole Pulse in this process (API, workers, live hub) with
// one tenant and its ingest+read token.
type liveRig struct {
	p     *wiring.Pipeline
	base  string
	token string
	stop  func()
}

func startLiveRig(ctx context.Context, env map[string]string) (*liveRig, error) {
	cfg, err := loadConfig(env)
	if err != nil {
		return nil, err
	}
	p, cleanup, err := wiring.AssemblePipeline(ctx, cfg, "bench")
	if err != nil {
		return nil, err
	}
	if _, err := p.Tenancy.CreateTenant(ctx, audit.CLI(), "bench", "Bench", 30); err != nil {
		cleanup()
		return nil, err
	}
	issued, err := p.Tenancy.CreateToken(ctx, audit.CLI(), "bench", token.Spec{Name: "bench", Scopes: []token.Scope{token.ScopeIngest, token.ScopeRead}})
	if err != nil {
		cleanup()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cleanup()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	a := &app.App{Name: "bench-live", Handler: p.Handler, Log: p.Log, ShutdownTimeout: 5 * time.Second,
		Loops: append([]app.Loop{p.Live}, p.Workers...)}
	done := make(chan struct{})
	go func() { _ = a.Serve(runCtx, ln); close(done) }()
	var once sync.Once
	r := &liveRig{p: p, base: "http://" + ln.Addr().String(), token: issued.Plain, stop: func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
			}
			cleanup()
		})
	}}
	if err := waitHealthz(r.base, 10*time.Second); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

func waitHealthz(base string, bound time.Duration) error {
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s/healthz not 200 within %s", base, bound)
}

// openStream opens a live stream and returns its events once the ready
// event came; closing body ends it.
func openStream(ctx context.Context, client *http.Client, base, tok, query string) (<-chan testservice.Event, io.Closer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/metrics/stream?"+query, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("X-API-Token", tok)
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return nil, nil, fmt.Errorf("stream answered %d: %s", resp.StatusCode, b)
	}
	events := testservice.ReadEvents(resp.Body)
	select {
	case ev, ok := <-events:
		if !ok || ev.Name != "ready" {
			resp.Body.Close()
			return nil, nil, fmt.Errorf("first event %+v, want ready", ev)
		}
	case <-time.After(10 * time.Second):
		resp.Body.Close()
		return nil, nil, fmt.Errorf("no ready event within 10 s")
	}
	return events, resp.Body, nil
}

// measureLiveLatency posts n samples one at a time, every `every`, each
// with its index as value, and times each from its 202 to the points event
// that carries it. The pace is a steady flow, so the figure includes the
// stream's coalescing (at most one batch of events per 250 ms).
func measureLiveLatency(ctx context.Context, r *liveRig, n int, every time.Duration) ([]time.Duration, error) {
	events, body, err := openStream(ctx, http.DefaultClient, r.base, r.token, "name=bench.live.latency")
	if err != nil {
		return nil, err
	}
	defer body.Close()
	var mu sync.Mutex
	arrived := make(map[int]time.Time, n)
	all := make(chan struct{})
	done := false
	go func() {
		for ev := range events {
			if ev.Name != "points" {
				continue
			}
			at := time.Now()
			var d struct {
				Series []struct {
					Points []struct {
						Value float64 `json:"value"`
					} `json:"points"`
				} `json:"series"`
			}
			if json.Unmarshal([]byte(ev.Data), &d) != nil {
				continue
			}
			mu.Lock()
			for _, s := range d.Series {
				for _, p := range s.Points {
					if _, ok := arrived[int(p.Value)]; !ok {
						arrived[int(p.Value)] = at
					}
				}
			}
			if len(arrived) == n && !done {
				done = true
				close(all)
			}
			mu.Unlock()
		}
	}()
	client := &http.Client{Timeout: 10 * time.Second}
	accepted := make([]time.Time, n)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := range n {
		<-tick.C
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.base+"/api/metrics",
			strings.NewReader(fmt.Sprintf(`{"name":"bench.live.latency","value":%d,"tags":{"host":"lat"}}`, i)))
		req.Header.Set("X-API-Token", r.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		accepted[i] = time.Now()
		if resp.StatusCode != http.StatusAccepted {
			return nil, fmt.Errorf("POST /api/metrics answered %d", resp.StatusCode)
		}
	}
	select {
	case <-all:
	case <-time.After(10 * time.Second):
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrived) < n {
		return nil, fmt.Errorf("only %d of %d samples arrived on the stream within 10 s", len(arrived), n)
	}
	lat := make([]time.Duration, n)
	for i := range n {
		lat[i] = max(arrived[i].Sub(accepted[i]), 0) // an event may beat the 202's last bytes
	}
	slices.Sort(lat)
	return lat, nil
}

func pct(lat []time.Duration, p int) time.Duration {
	return lat[min(len(lat)*p/100, len(lat)-1)].Round(time.Millisecond)
}

func printLatency(mode string, lat []time.Duration) {
	fmt.Printf("(a) %s: sample accepted (202) → points event received: p50 %s  p95 %s  max %s  (%d samples, one every %s; target ≤ 1 s)\n",
		mode, pct(lat, 50), pct(lat, 95), lat[len(lat)-1].Round(time.Millisecond), len(lat), *liveEvery)
}
