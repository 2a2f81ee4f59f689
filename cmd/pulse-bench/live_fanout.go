package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// fanoutWorkload is (b): streams following one metric fed rate samples/s.
type fanoutWorkload struct {
	streams, rate int
	window        time.Duration
}

type fanoutResult struct {
	streams            int
	openTook           time.Duration
	accepted           float64 // samples/s into the followed metric during the window
	delivered          float64 // points/s summed over the streams during the window
	sent               int64   // samples of the whole flow
	complete, ended    int     // streams that got every sample; streams the server ended
	minGot, maxGot     int64
	rssIdle, rssOpen   int64 // kB
	rssFlow, rssPeak   int64 // kB: the highest VmRSS sampled during the window, VmHWM
	cpuShare           float64
	perRequest, perSec int
}

// measureFanout starts a pulse-api of its own (the built binary, so that
// its memory is the api's alone) on the distributed rig's database and
// Redis, opens w.streams streams on it from here, then posts the flow to
// the rig's API; the rig's workers commit it and publish it to the Redis
// live stream the pulse-api follows.
func measureFanout(ctx context.Context, r *liveRig, env map[string]string, w fanoutWorkload) (fanoutResult, error) {
	res := fanoutResult{streams: w.streams}
	dir, err := os.MkdirTemp("", "pulse-bench-live-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "pulse-api")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/api").CombinedOutput(); err != nil {
		return res, fmt.Errorf("go build ./cmd/api (run from the repository root): %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	capacity := strconv.Itoa(w.streams + 100)
	cmd.Env = append(cmd.Env, "PULSE_HTTP_ADDR="+addr, "PULSE_LOG_LEVEL=warn",
		"PULSE_LIVE_MAX_STREAMS="+capacity, "PULSE_LIVE_MAX_STREAMS_PER_TENANT="+capacity)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return res, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid, base := cmd.Process.Pid, "http://"+addr
	if err := waitHealthz(base, 30*time.Second); err != nil {
		return res, err
	}
	time.Sleep(time.Second)
	if res.rssIdle, err = procStatusKB(pid, "VmRSS"); err != nil {
		return res, err
	}

	// The streams: one connection each, every one counting its points.
	tr := &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: w.streams + 10, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	counts := make([]atomic.Int64, w.streams)
	closers := make([]io.Closer, w.streams)
	var ended atomic.Int64
	began := time.Now()
	if err := forEach(w.streams, 50, func(i int) error {
		events, body, err := openStream(ctx, client, base, r.token, "name=bench.live.flow")
		if err != nil {
			return fmt.Errorf("stream %d: %w", i, err)
		}
		closers[i] = body
		go func() {
			for ev := range events {
				switch ev.Name {
				case "points":
					counts[i].Add(int64(strings.Count(ev.Data, `"ts":`)))
				case "end":
					ended.Add(1)
				}
			}
		}()
		return nil
	}); err != nil {
		return res, err
	}
	defer func() {
		for _, c := range closers {
			if c != nil {
				c.Close()
			}
		}
	}()
	res.openTook = time.Since(began)
	time.Sleep(2 * time.Second)
	if res.rssOpen, err = procStatusKB(pid, "VmRSS"); err != nil {
		return res, err
	}

	// The flow: a request of perRequest series every 50 ms, no ts (the
	// server's time: every sample a point of its own).
	res.perRequest = max(w.rate/20, 1)
	res.perSec = res.perRequest * 20
	var sent atomic.Int64
	stop := make(chan struct{})
	stopFlow := sync.OnceFunc(func() { close(stop) })
	flowDone := make(chan error, 1)
	go func() { flowDone <- postFlow(ctx, stop, r, res.perRequest, &sent) }()
	total := func() (n int64) {
		for i := range counts {
			n += counts[i].Load()
		}
		return n
	}
	time.Sleep(3 * time.Second) // warm-up
	c0, s0, t0 := total(), sent.Load(), time.Now()
	cpu0, _ := procCPUSeconds(pid)
	for time.Since(t0) < w.window {
		time.Sleep(time.Second)
		rss, err := procStatusKB(pid, "VmRSS")
		if err != nil {
			stopFlow()
			return res, fmt.Errorf("pulse-api exited: %w", err)
		}
		res.rssFlow = max(res.rssFlow, rss)
	}
	c1, s1, took := total(), sent.Load(), time.Since(t0)
	cpu1, _ := procCPUSeconds(pid)
	stopFlow()
	if err := <-flowDone; err != nil {
		return res, err
	}
	res.delivered = float64(c1-c0) / took.Seconds()
	res.accepted = float64(s1-s0) / took.Seconds()
	res.cpuShare = (cpu1 - cpu0) / took.Seconds()
	res.rssPeak, _ = procStatusKB(pid, "VmHWM")

	// Every stream should get every sample of the flow: wait for the last.
	res.sent = sent.Load()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res.minGot, res.maxGot, res.complete = res.sent, 0, 0
		for i := range counts {
			n := counts[i].Load()
			res.minGot, res.maxGot = min(res.minGot, n), max(res.maxGot, n)
			if n == res.sent {
				res.complete++
			}
		}
		if res.complete == w.streams || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	res.ended = int(ended.Load())
	return res, nil
}

// postFlow posts every 50 ms until stop is closed (a request under way
// is finished, not cut), counting the samples accepted.
func postFlow(ctx context.Context, stop <-chan struct{}, r *liveRig, perRequest int, sent *atomic.Int64) error {
	var b strings.Builder
	b.WriteByte('[')
	for j := range perRequest {
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"name":"bench.live.flow","value":%d,"tags":{"host":"flow-%03d"}}`, j, j)
	}
	b.WriteByte(']')
	body := b.String()
	client := &http.Client{Timeout: 10 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.base+"/api/metrics", strings.NewReader(body))
		req.Header.Set("X-API-Token", r.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("flow POST answered %d", resp.StatusCode)
		}
		sent.Add(int64(perRequest))
	}
}

// forEach runs f(0…n-1) on `workers` goroutines and returns the first error.
func forEach(n, workers int, f func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n))
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

func mb(kb int64) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }

func (f fanoutResult) print() {
	fmt.Printf("(b) %d streams on one pulse-api process, all following bench.live.flow (%d samples/s: %d per request every 50 ms)\n",
		f.streams, f.perSec, f.perRequest)
	fmt.Printf("    opened in %s; delivered %10.0f points/s in total (%.0f samples/s accepted × %d streams = %.0f; target ≥ 100,000/s)\n",
		f.openTook.Round(time.Millisecond), f.delivered, f.accepted, f.streams, f.accepted*float64(f.streams))
	fmt.Printf("    every sample of the flow (%d) on every stream: %d of %d streams (min %d, max %d); ended by the server: %d\n",
		f.sent, f.complete, f.streams, f.minGot, f.maxGot, f.ended)
	fmt.Printf("    pulse-api VmRSS: idle %s, %d streams open %s (%.1f kB per stream), flowing %s (VmHWM %s); CPU %.0f%% of one core\n",
		mb(f.rssIdle), f.streams, mb(f.rssOpen), float64(f.rssOpen-f.rssIdle)/float64(f.streams), mb(f.rssFlow), mb(f.rssPeak), f.cpuShare*100)
}

func printLiveSummary(emb, dist []time.Duration, f fanoutResult) {
	lat := func(l []time.Duration) string {
		return fmt.Sprintf("%s / %s / %s", pct(l, 50), pct(l, 95), l[len(l)-1].Round(time.Millisecond))
	}
	fmt.Println("\n| live figure | embedded | distributed | target |")
	fmt.Println("| --- | --- | --- | --- |")
	fmt.Printf("| (a) accepted → event delivered, p50 / p95 / max | %s | %s | ≤ 1 s |\n", lat(emb), lat(dist))
	fmt.Printf("| (b) %d streams, one pulse-api: delivered points/s | — | %.0f | ≥ 100,000 |\n", f.streams, f.delivered)
	fmt.Printf("| (b) pulse-api VmRSS idle / %d streams / flowing | — | %s / %s / %s | |\n", f.streams, mb(f.rssIdle), mb(f.rssOpen), mb(f.rssFlow))
}
