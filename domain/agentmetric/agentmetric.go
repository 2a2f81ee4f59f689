// Package agentmetric is what pulse-agent measures: the sample it produces,
// the batch it ships once per interval and the metric names it uses, named
// after the OpenTelemetry system semantic conventions. No I/O, no clock.
package agentmetric

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"time"
)

// Sample is one measurement of the host; the batch carries its time.
type Sample struct {
	Name  string
	Value float64
	Tags  map[string]string
}

// Batch is every sample of one collection, all taken at At. It is the unit
// the agent publishes, spools and drains.
type Batch struct {
	At      time.Time
	Samples []Sample
}

// The metric names pulse-agent publishes. Utilizations are 0–1 ratios,
// sizes are bytes, times are seconds, counters are cumulative since boot.
const (
	CPUUtilization    = "system.cpu.utilization"     // tag cpu: "total" or the logical CPU number
	CPULogicalCount   = "system.cpu.logical.count"   //
	CPULoad1m         = "system.cpu.load_average.1m" //
	CPULoad5m         = "system.cpu.load_average.5m" //
	CPULoad15m        = "system.cpu.load_average.15m"
	MemoryUsage       = "system.memory.usage"           // tag state: used, free, buffers, cached, available
	MemoryLimit       = "system.memory.limit"           // total RAM
	MemoryAvailable   = "system.linux.memory.available" // MemAvailable
	MemoryUtilization = "system.memory.utilization"     // used / total
	PagingUsage       = "system.paging.usage"           // swap; tag state: used, free
	PagingUtilization = "system.paging.utilization"     // swap used / total (absent without swap)
	FSUsage           = "system.filesystem.usage"       // tags device, mountpoint, type, state: used, free, reserved
	FSUtilization     = "system.filesystem.utilization"
	FSInodesUsage     = "system.filesystem.inodes.usage" // tags device, mountpoint, type, state: used, free
	DiskIO            = "system.disk.io"                 // bytes; tags device, direction: read, write
	DiskOperations    = "system.disk.operations"         // tags device, direction
	DiskIOTime        = "system.disk.io_time"            // seconds busy; tag device
	NetworkIO         = "system.network.io"              // bytes; tags device, direction: receive, transmit
	NetworkIORate     = "system.network.io.rate"         // bytes per second over the last interval
	NetworkPackets    = "system.network.packets"         // tags device, direction
	NetworkErrors     = "system.network.errors"          // tags device, direction
	NetworkDropped    = "system.network.dropped"         // tags device, direction
	Uptime            = "system.uptime"                  // seconds since boot

	// The agent's own figures, in every batch.
	SpoolDropped = "pulse.agent.spool.dropped" // batches dropped from a full or expired spool since the spool was created
	SpoolBatches = "pulse.agent.spool.batches" // batches waiting in the spool
	SpoolBytes   = "pulse.agent.spool.bytes"   // their size on disk
)

var validName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:-]*$`)

// Validate reports the first sample Pulse would refuse: a bad name, a
// non-finite value. The agent checks its own output before spooling it.
func (b Batch) Validate() error {
	for i, s := range b.Samples {
		if len(s.Name) > 200 || !validName.MatchString(s.Name) {
			return fmt.Errorf("sample %d: invalid metric name %q", i, s.Name)
		}
		if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
			return fmt.Errorf("sample %d (%s): value %v is not finite", i, s.Name, s.Value)
		}
	}
	return nil
}

// WithTags returns a copy of the batch in which every sample also carries
// tags (a sample's own tag wins over one of tags with the same key).
func (b Batch) WithTags(tags map[string]string) Batch {
	out := Batch{At: b.At, Samples: make([]Sample, len(b.Samples))}
	for i, s := range b.Samples {
		t := make(map[string]string, len(s.Tags)+len(tags))
		maps.Copy(t, tags)
		maps.Copy(t, s.Tags)
		out.Samples[i] = Sample{Name: s.Name, Value: s.Value, Tags: t}
	}
	return out
}
