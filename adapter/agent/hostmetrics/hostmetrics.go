// Package hostmetrics measures the host with gopsutil (no cgo) and names
// the figures after the OpenTelemetry system semantic conventions (see
// domain/agentmetric). A Collector keeps the previous CPU times and network
// counters, so utilizations and rates cover the time since the last call.
package hostmetrics

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pulsemetrics/pulse/domain/agentmetric"
)

// Names are the collectors, in the order they run; --collectors picks among them.
var Names = []string{"cpu", "memory", "swap", "filesystem", "disk", "network", "load", "uptime"}

// Collector measures the enabled parts of the host. Collect must not be
// called concurrently.
type Collector struct {
	enabled []string
	mu      sync.Mutex
	cpu     cpuState
	net     netState
}

// New enables the named collectors (nil or empty: all of them).
func New(names []string) (*Collector, error) {
	if len(names) == 0 {
		names = Names
	}
	var enabled []string
	for _, n := range names {
		n = strings.TrimSpace(strings.ToLower(n))
		if n == "" {
			continue
		}
		if !slices.Contains(Names, n) {
			return nil, fmt.Errorf("unknown collector %q (known: %s)", n, strings.Join(Names, ","))
		}
		if !slices.Contains(enabled, n) {
			enabled = append(enabled, n)
		}
	}
	if len(enabled) == 0 {
		return nil, errors.New("no collector enabled")
	}
	sort.Slice(enabled, func(i, j int) bool { return slices.Index(Names, enabled[i]) < slices.Index(Names, enabled[j]) })
	return &Collector{enabled: enabled}, nil
}

// Enabled lists the enabled collectors.
func (c *Collector) Enabled() []string { return slices.Clone(c.enabled) }

// Collect runs every enabled collector. A collector that fails is skipped
// and its error joined to the others; the samples of the rest are returned.
func (c *Collector) Collect(ctx context.Context) ([]agentmetric.Sample, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var (
		out  []agentmetric.Sample
		errs []error
	)
	for _, n := range c.enabled {
		var (
			s   []agentmetric.Sample
			err error
		)
		switch n {
		case "cpu":
			s, err = c.collectCPU(ctx)
		case "memory":
			s, err = collectMemory(ctx)
		case "swap":
			s, err = collectSwap(ctx)
		case "filesystem":
			s, err = collectFilesystems(ctx)
		case "disk":
			s, err = collectDisks(ctx)
		case "network":
			s, err = c.collectNetwork(ctx, time.Now())
		case "load":
			s, err = collectLoad(ctx)
		case "uptime":
			s, err = collectUptime(ctx)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n, err))
		}
		out = append(out, s...)
	}
	return out, errors.Join(errs...)
}

func sample(name string, v float64, kv ...string) agentmetric.Sample {
	var tags map[string]string
	if len(kv) > 0 {
		tags = make(map[string]string, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			tags[kv[i]] = kv[i+1]
		}
	}
	return agentmetric.Sample{Name: name, Value: v, Tags: tags}
}

// ratio is a/b, 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
