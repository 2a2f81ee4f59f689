package hostmetrics

import (
	"context"
	"strconv"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"

	am "github.com/pulsemetrics/pulse/domain/agentmetric"
)

type cpuState struct {
	total cpu.TimesStat
	per   []cpu.TimesStat
	ok    bool
}

// busyAndAll are a CPU's non-idle and total seconds. On Linux guest time is
// already inside user and nice, so it is not added again.
func busyAndAll(t cpu.TimesStat) (busy, all float64) {
	all = t.User + t.System + t.Idle + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal
	return all - t.Idle - t.Iowait, all
}

func utilization(prev, cur cpu.TimesStat) float64 {
	b0, a0 := busyAndAll(prev)
	b1, a1 := busyAndAll(cur)
	if a1 <= a0 {
		return 0
	}
	return min(max((b1-b0)/(a1-a0), 0), 1)
}

// collectCPU is system.cpu.utilization (busy share since the last call,
// total and per logical CPU). On the very first call it measures over a
// 250 ms window so that --once reports something meaningful.
func (c *Collector) collectCPU(ctx context.Context) ([]am.Sample, error) {
	read := func() (cpu.TimesStat, []cpu.TimesStat, error) {
		tot, err := cpu.TimesWithContext(ctx, false)
		if err != nil || len(tot) == 0 {
			return cpu.TimesStat{}, nil, err
		}
		per, err := cpu.TimesWithContext(ctx, true)
		return tot[0], per, err
	}
	if !c.cpu.ok {
		t, p, err := read()
		if err != nil {
			return nil, err
		}
		c.cpu = cpuState{total: t, per: p, ok: true}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	t, p, err := read()
	if err != nil {
		return nil, err
	}
	out := []am.Sample{
		sample(am.CPUUtilization, utilization(c.cpu.total, t), "cpu", "total"),
		sample(am.CPULogicalCount, float64(len(p))),
	}
	if len(p) == len(c.cpu.per) {
		for i := range p {
			out = append(out, sample(am.CPUUtilization, utilization(c.cpu.per[i], p[i]), "cpu", strconv.Itoa(i)))
		}
	}
	c.cpu = cpuState{total: t, per: p, ok: true}
	return out, nil
}

// collectMemory reads /proc/meminfo (through gopsutil): used is
// MemTotal − MemAvailable, cached includes SReclaimable.
func collectMemory(ctx context.Context) ([]am.Sample, error) {
	v, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return nil, err
	}
	return []am.Sample{
		sample(am.MemoryUsage, float64(v.Used), "state", "used"),
		sample(am.MemoryUsage, float64(v.Free), "state", "free"),
		sample(am.MemoryUsage, float64(v.Buffers), "state", "buffers"),
		sample(am.MemoryUsage, float64(v.Cached), "state", "cached"),
		sample(am.MemoryAvailable, float64(v.Available)),
		sample(am.MemoryLimit, float64(v.Total)),
		sample(am.MemoryUtilization, ratio(float64(v.Used), float64(v.Total))),
	}, nil
}

// collectSwap is the paging space: used and free bytes, and the used share
// when there is swap at all.
func collectSwap(ctx context.Context) ([]am.Sample, error) {
	s, err := mem.SwapMemoryWithContext(ctx)
	if err != nil {
		return nil, err
	}
	out := []am.Sample{
		sample(am.PagingUsage, float64(s.Used), "state", "used"),
		sample(am.PagingUsage, float64(s.Free), "state", "free"),
	}
	if s.Total > 0 {
		out = append(out, sample(am.PagingUtilization, ratio(float64(s.Used), float64(s.Total))))
	}
	return out, nil
}

func collectLoad(ctx context.Context) ([]am.Sample, error) {
	l, err := load.AvgWithContext(ctx)
	if err != nil {
		return nil, err
	}
	return []am.Sample{
		sample(am.CPULoad1m, l.Load1), sample(am.CPULoad5m, l.Load5), sample(am.CPULoad15m, l.Load15),
	}, nil
}

func collectUptime(ctx context.Context) ([]am.Sample, error) {
	u, err := host.UptimeWithContext(ctx)
	if err != nil {
		return nil, err
	}
	return []am.Sample{sample(am.Uptime, float64(u))}, nil
}
