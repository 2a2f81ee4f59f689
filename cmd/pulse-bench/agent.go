package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/pulsemetrics/pulse/domain/token"
)

var (
	agentDuration = flag.Duration("agent-duration", 3*time.Minute, "agent mode: how long the agent is measured")
	agentInterval = flag.Duration("agent-interval", 10*time.Second, "agent mode: the agent's collection interval")
)

// runAgent measures pulse-agent's own footprint (`-modes agent`): the
// static binary's size, then the agent running with every collector at
// -agent-interval against a local MQTT broker (mochi, accepting anyone) for
// -agent-duration after one interval of warm-up: CPU time as a share of one
// core (utime+stime from /proc/<pid>/stat) and resident memory (VmRSS
// sampled every second, and VmHWM). Targets: ≤ 15 MB binary, ≤ 1 % of one
// core, ≤ 25 MB RSS.
func runAgent() error {
	fmt.Println("\n== agent: pulse-agent footprint ==")
	dir, err := os.MkdirTemp("", "pulse-bench-agent-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "pulse-agent")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/agent")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/agent (run from the repository root): %v\n%s", err, out)
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return err
	}
	fmt.Printf("binary: %.1f MB (static, CGO_ENABLED=0, -trimpath; target ≤ 15 MB)\n", float64(fi.Size())/1e6)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := mqtt.New(&mqtt.Options{InlineClient: true, Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(allowAll), nil); err != nil {
		return err
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "bench", Address: addr})); err != nil {
		return err
	}
	if err := srv.Serve(); err != nil {
		return err
	}
	defer srv.Close()
	var msgs, bytes atomic.Int64
	if err := srv.Subscribe("metrics/#", 1, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		msgs.Add(1)
		bytes.Add(int64(len(pk.Payload)))
	}); err != nil {
		return err
	}

	issued, err := token.Issue(rand.Reader, 1, "bench", []token.Scope{token.ScopeIngest}, time.Now())
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "--broker", "tcp://"+addr, "--tenant", "bench", "--token", issued.Plain,
		"--interval", agentInterval.String(), "--agent-id", "bench", "--spool-dir", filepath.Join(dir, "spool"),
		"--log-level", "warn")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := cmd.Process.Pid

	time.Sleep(*agentInterval + 2*time.Second) // warm-up: the first collection and the connection
	cpu0, err := procCPUSeconds(pid)
	if err != nil {
		return err
	}
	msgs0 := msgs.Load()
	start := time.Now()
	var rssMax, rssSum, n int64
	for time.Since(start) < *agentDuration {
		time.Sleep(time.Second)
		rss, err := procStatusKB(pid, "VmRSS")
		if err != nil {
			return fmt.Errorf("the agent exited: %w", err)
		}
		rssMax, rssSum, n = max(rssMax, rss), rssSum+rss, n+1
	}
	cpu1, err := procCPUSeconds(pid)
	if err != nil {
		return err
	}
	hwm, _ := procStatusKB(pid, "VmHWM")
	wall := time.Since(start).Seconds()
	got := msgs.Load() - msgs0
	fmt.Printf("interval %s, measured %s: %d batches published (%.1f KB each)\n",
		*agentInterval, agentDuration.Round(time.Second), got, float64(bytes.Load())/float64(max(msgs.Load(), 1))/1e3)
	fmt.Printf("CPU: %.3f%% of one core (%.2f s CPU in %.0f s; target ≤ 1%%)\n", 100*(cpu1-cpu0)/wall, cpu1-cpu0, wall)
	fmt.Printf("RSS: %.1f MB average, %.1f MB max, %.1f MB high-water mark (target ≤ 25 MB)\n",
		float64(rssSum)/float64(max(n, 1))/1024, float64(rssMax)/1024, float64(hwm)/1024)
	return nil
}

// procCPUSeconds is utime+stime of pid.
func procCPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may hold spaces) start at ") ".
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100, nil // USER_HZ is 100 on Linux
}

// procStatusKB reads a kB field of /proc/<pid>/status.
func procStatusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// allowAll lets every client connect and publish (the bench measures the
// agent, not the broker's authentication).
type allowAll struct{ mqtt.HookBase }

func (*allowAll) ID() string { return "bench-allow-all" }

func (*allowAll) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}

func (*allowAll) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }

func (*allowAll) OnACLCheck(*mqtt.Client, string, bool) bool { return true }
