package hostmetrics_test

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/agent/hostmetrics"
	am "github.com/pulsemetrics/pulse/domain/agentmetric"
)

// readMeminfo parses /proc/meminfo itself (kB → bytes), independently of gopsutil.
func readMeminfo(t *testing.T) map[string]float64 {
	t.Helper()
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		if len(fields) > 1 && fields[1] == "kB" {
			v *= 1024
		}
		out[k] = v
	}
	return out
}

// expected is what the agent must report, from one /proc/meminfo reading.
func expected(mi map[string]float64) map[string]float64 {
	return map[string]float64{
		am.MemoryLimit:                    mi["MemTotal"],
		am.MemoryUsage + " state=used":    mi["MemTotal"] - mi["MemAvailable"],
		am.MemoryUsage + " state=free":    mi["MemFree"],
		am.MemoryUsage + " state=buffers": mi["Buffers"],
		am.MemoryUsage + " state=cached":  mi["Cached"] + mi["SReclaimable"],
		am.MemoryAvailable:                mi["MemAvailable"],
		am.MemoryUtilization:              (mi["MemTotal"] - mi["MemAvailable"]) / mi["MemTotal"],
		am.PagingUsage + " state=used":    mi["SwapTotal"] - mi["SwapFree"],
		am.PagingUsage + " state=free":    mi["SwapFree"],
	}
}

func key(s am.Sample) string {
	if st, ok := s.Tags["state"]; ok {
		return s.Name + " state=" + st
	}
	return s.Name
}

// TestMemoryMatchesProcMeminfo reads /proc/meminfo right before and right
// after the agent's memory and swap collectors run: each figure the agent
// reports must lie between the two readings, give or take 8 MiB (0.2 % for
// the utilization) — memory moves while we look.
func TestMemoryMatchesProcMeminfo(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/meminfo")
	}
	c, err := hostmetrics.New([]string{"memory", "swap"})
	if err != nil {
		t.Fatal(err)
	}
	before := expected(readMeminfo(t))
	samples, err := c.Collect(context.Background())
	after := expected(readMeminfo(t))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, s := range samples {
		got[key(s)] = s.Value
	}
	for k, b := range before {
		v, ok := got[k]
		if !ok {
			t.Errorf("the agent reports no %s", k)
			continue
		}
		lo, hi := min(b, after[k]), max(b, after[k])
		tol := 8.0 * (1 << 20)
		if k == am.MemoryUtilization {
			tol = 0.002
		}
		if v < lo-tol || v > hi+tol {
			t.Errorf("%s = %.0f, /proc/meminfo says %.0f..%.0f (±%.0f)", k, v, lo, hi, tol)
		}
	}
	if t.Failed() {
		t.Logf("agent: %v", got)
	}
}

func TestUnknownCollector(t *testing.T) {
	if _, err := hostmetrics.New([]string{"cpu", "gpu"}); err == nil {
		t.Fatal("an unknown collector was accepted")
	}
}

// TestEveryCollectorNamesItsSamples runs all collectors twice (rates need
// two readings) and checks the names the README documents appear, with
// valid names and finite values.
func TestEveryCollectorNamesItsSamples(t *testing.T) {
	c, err := hostmetrics.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Collect(context.Background()); err != nil {
		t.Logf("first collection: %v", err)
	}
	samples, err := c.Collect(context.Background())
	if err != nil {
		t.Logf("second collection: %v", err)
	}
	if err := (am.Batch{Samples: samples}).Validate(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range samples {
		seen[s.Name] = true
		if s.Name == am.CPUUtilization && (s.Value < 0 || s.Value > 1) {
			t.Errorf("cpu utilization %v outside 0..1", s.Value)
		}
	}
	for _, n := range []string{am.CPUUtilization, am.CPULogicalCount, am.MemoryUsage, am.MemoryUtilization,
		am.PagingUsage, am.FSUsage, am.FSUtilization, am.DiskIO, am.NetworkIO, am.NetworkIORate,
		am.CPULoad1m, am.CPULoad5m, am.CPULoad15m, am.Uptime} {
		if !seen[n] {
			t.Errorf("no %s sample", n)
		}
	}
}
