package hostmetrics

import (
	"context"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/disk"
	gnet "github.com/shirou/gopsutil/v4/net"

	am "github.com/pulsemetrics/pulse/domain/agentmetric"
)

// pseudoFS are filesystem types that hold no user data on a disk: kernel
// interfaces, memory-backed and container plumbing. Their mounts are skipped.
var pseudoFS = map[string]bool{
	"proc": true, "sysfs": true, "devtmpfs": true, "devpts": true, "tmpfs": true, "ramfs": true,
	"cgroup": true, "cgroup2": true, "securityfs": true, "debugfs": true, "tracefs": true,
	"pstore": true, "bpf": true, "configfs": true, "fusectl": true, "mqueue": true,
	"hugetlbfs": true, "autofs": true, "binfmt_misc": true, "nsfs": true, "rpc_pipefs": true,
	"efivarfs": true, "selinuxfs": true, "squashfs": true, "fuse.lxcfs": true, "fuse.gvfsd-fuse": true,
	"nfsd": true, "overlay": false, "none": true,
}

// collectFilesystems is usage per mountpoint of real filesystems (overlay
// included: it is a container's root). A mountpoint that is a file (a
// bind-mounted /etc/hosts) or mounted twice is reported once or not at all.
func collectFilesystems(ctx context.Context) ([]am.Sample, error) {
	parts, err := disk.PartitionsWithContext(ctx, true)
	if err != nil && len(parts) == 0 {
		return nil, err
	}
	seen := map[string]bool{}
	var out []am.Sample
	for _, p := range parts {
		if pseudoFS[p.Fstype] || seen[p.Mountpoint] {
			continue
		}
		if fi, err := os.Stat(p.Mountpoint); err != nil || !fi.IsDir() {
			continue
		}
		u, err := disk.UsageWithContext(ctx, p.Mountpoint)
		if err != nil || u.Total == 0 {
			continue
		}
		seen[p.Mountpoint] = true
		tags := []string{"device", p.Device, "mountpoint", p.Mountpoint, "type", p.Fstype}
		with := func(kv ...string) []string { return append(append([]string{}, tags...), kv...) }
		// Total = used + free for unprivileged users + reserved for root.
		reserved := float64(u.Total) - float64(u.Used) - float64(u.Free)
		out = append(out,
			sample(am.FSUsage, float64(u.Used), with("state", "used")...),
			sample(am.FSUsage, float64(u.Free), with("state", "free")...),
			sample(am.FSUsage, max(reserved, 0), with("state", "reserved")...),
			sample(am.FSUtilization, ratio(float64(u.Used), float64(u.Used+u.Free)), tags...),
		)
		if u.InodesTotal > 0 {
			out = append(out,
				sample(am.FSInodesUsage, float64(u.InodesUsed), with("state", "used")...),
				sample(am.FSInodesUsage, float64(u.InodesFree), with("state", "free")...))
		}
	}
	return out, nil
}

// collectDisks is cumulative I/O per block device (loop and RAM devices skipped).
func collectDisks(ctx context.Context) ([]am.Sample, error) {
	io, err := disk.IOCountersWithContext(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(io))
	for n := range io {
		if strings.HasPrefix(n, "loop") || strings.HasPrefix(n, "ram") || strings.HasPrefix(n, "zram") {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	var out []am.Sample
	for _, n := range names {
		d := io[n]
		out = append(out,
			sample(am.DiskIO, float64(d.ReadBytes), "device", n, "direction", "read"),
			sample(am.DiskIO, float64(d.WriteBytes), "device", n, "direction", "write"),
			sample(am.DiskOperations, float64(d.ReadCount), "device", n, "direction", "read"),
			sample(am.DiskOperations, float64(d.WriteCount), "device", n, "direction", "write"),
			sample(am.DiskIOTime, float64(d.IoTime)/1000, "device", n),
		)
	}
	return out, nil
}

type netState struct {
	at   time.Time
	prev map[string]gnet.IOCountersStat
}

// collectNetwork is cumulative counters per interface and, from the second
// call on, the byte rates since the previous call.
func (c *Collector) collectNetwork(ctx context.Context, now time.Time) ([]am.Sample, error) {
	io, err := gnet.IOCountersWithContext(ctx, true)
	if err != nil {
		return nil, err
	}
	sort.Slice(io, func(i, j int) bool { return io[i].Name < io[j].Name })
	var out []am.Sample
	cur := make(map[string]gnet.IOCountersStat, len(io))
	secs := now.Sub(c.net.at).Seconds()
	for _, n := range io {
		cur[n.Name] = n
		d := n.Name
		out = append(out,
			sample(am.NetworkIO, float64(n.BytesRecv), "device", d, "direction", "receive"),
			sample(am.NetworkIO, float64(n.BytesSent), "device", d, "direction", "transmit"),
			sample(am.NetworkPackets, float64(n.PacketsRecv), "device", d, "direction", "receive"),
			sample(am.NetworkPackets, float64(n.PacketsSent), "device", d, "direction", "transmit"),
			sample(am.NetworkErrors, float64(n.Errin), "device", d, "direction", "receive"),
			sample(am.NetworkErrors, float64(n.Errout), "device", d, "direction", "transmit"),
			sample(am.NetworkDropped, float64(n.Dropin), "device", d, "direction", "receive"),
			sample(am.NetworkDropped, float64(n.Dropout), "device", d, "direction", "transmit"),
		)
		if p, ok := c.net.prev[d]; ok && secs > 0 && n.BytesRecv >= p.BytesRecv && n.BytesSent >= p.BytesSent {
			out = append(out,
				sample(am.NetworkIORate, float64(n.BytesRecv-p.BytesRecv)/secs, "device", d, "direction", "receive"),
				sample(am.NetworkIORate, float64(n.BytesSent-p.BytesSent)/secs, "device", d, "direction", "transmit"))
		}
	}
	c.net = netState{at: now, prev: cur}
	return out, nil
}
