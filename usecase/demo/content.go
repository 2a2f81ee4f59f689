package demo

import (
	"strings"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/dashboard"
	"github.com/pulsemetrics/pulse/domain/synth"
)

// The demo's fixed names.
const (
	Tenant     = "demo"
	TenantName = "Demo"
	Email      = "admin@demo.local"
	Dashboard  = "Hosts overview"
	RuleName   = "High CPU"
	TokenName  = "demo"
	// Every and Days are the backfill: a sample a minute per series for a
	// week (10,080 points per series).
	Every = time.Minute
	Days  = 7
)

// Specs are the demo's generated metrics over [from, to): three hosts
// (host=web-1…3) with the pulse-agent's metric names and tags, fixed seeds.
func Specs(from, to time.Time) []synth.Spec {
	day := 24 * time.Hour
	spec := func(name string, p synth.Pattern, offset, amplitude, noise float64, period time.Duration, seed uint64, tags ...string) synth.Spec {
		if len(tags) == 0 || !strings.HasPrefix(tags[0], "host=") {
			tags = append([]string{"host=web-{1..3}"}, tags...)
		}
		return synth.Spec{Name: name, Pattern: p, Offset: offset, Amplitude: amplitude, Noise: noise, Period: period,
			Tags: tags, Every: Every, Start: from, End: to, Seed: seed}
	}
	return []synth.Spec{
		// A daily cycle of load between about 10 % and 75 %; web-3 is
		// busier and goes over 90 % for a few hours a day (the alert rule).
		spec("system.cpu.utilization", synth.Sine, 0.4, 0.3, 0.05, day, 101, "host=web-{1..2}", "cpu=total"),
		spec("system.cpu.utilization", synth.Sine, 0.55, 0.38, 0.05, day, 106, "host=web-3", "cpu=total"),
		// Memory wanders around 60 %.
		spec("system.memory.utilization", synth.RandomWalk, 0.6, 0.05, 0.005, 0, 102),
		// Traffic in and out, bytes per second, with the daily cycle.
		spec("system.network.io.rate", synth.Sine, 2.5e6, 1.8e6, 3e5, day, 103, "device=eth0", "direction={receive,transmit}"),
		// The root file system fills up over two days, then is cleaned.
		spec("system.filesystem.utilization", synth.Sawtooth, 0.55, 0.2, 0.003, 2*day, 104, "device=sda1", "mountpoint=/"),
		// Load average follows the CPU's cycle.
		spec("system.cpu.load_average.1m", synth.Sine, 1.6, 1.1, 0.25, day, 105),
	}
}

// Widgets are the dashboard's panels (the widget model charts one metric
// with tag filters; a counter cannot be drawn as a rate, so the network
// panels chart the agent's own rate gauge).
func Widgets() []dashboard.WidgetSpec {
	return []dashboard.WidgetSpec{
		{Title: "CPU utilisation per host", Metric: "system.cpu.utilization", Tags: map[string]string{"cpu": "total"}, Agg: "avg", Chart: "line"},
		{Title: "Memory utilisation", Metric: "system.memory.utilization", Agg: "avg", Chart: "area"},
		{Title: "Network received (bytes/s)", Metric: "system.network.io.rate", Tags: map[string]string{"direction": "receive"}, Agg: "avg", Chart: "line"},
		{Title: "Network transmitted (bytes/s)", Metric: "system.network.io.rate", Tags: map[string]string{"direction": "transmit"}, Agg: "avg", Chart: "line"},
		{Title: "Disk usage of /", Metric: "system.filesystem.utilization", Tags: map[string]string{"mountpoint": "/"}, Agg: "max", Chart: "line"},
		{Title: "Load average (1m)", Metric: "system.cpu.load_average.1m", Agg: "avg", Chart: "bar"},
	}
}

// Rule is the alert rule "High CPU": web-3's daily peak fires it.
func Rule() alert.Rule {
	return alert.Rule{
		Name: RuleName, Metric: "system.cpu.utilization",
		Matchers: alert.Matchers{{Tag: "cpu", Op: alert.MatchEqual, Value: "total"}},
		Agg:      alert.AggAvg, Window: 5 * time.Minute, Op: alert.GT, Threshold: 0.9,
		Cadence: time.Minute, For: 5 * time.Minute, NoData: alert.NoDataOK, GroupBy: []string{"host"},
		Severity:    alert.SeverityWarning,
		Annotations: map[string]string{"summary": "CPU of {{.Labels.host}} at {{.Value}} (over 90 % for 5 minutes)"},
	}
}
