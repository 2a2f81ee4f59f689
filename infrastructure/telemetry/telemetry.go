// Package telemetry owns the process's Prometheus registry and the metrics
// that belong to no single adapter (queue lag, flush throughput).
package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Registry is the process-wide registry with Go and process collectors.
type Registry struct {
	*prometheus.Registry
	FlushedSamples prometheus.Counter
	FlushSeconds   prometheus.Histogram
}

// NewRegistry returns a registry with the standard collectors and Pulse's own.
func NewRegistry(role string) *Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	r := &Registry{
		Registry: reg,
		FlushedSamples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_flushed_samples_total", Help: "Samples committed to the store by the workers.",
		}),
		FlushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "pulse_flush_duration_seconds", Help: "Duration of one committed store write.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
	}
	reg.MustRegister(r.FlushedSamples, r.FlushSeconds)
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "pulse_build_info", Help: "Always 1; the role label names the binary's role.",
		ConstLabels: prometheus.Labels{"role": role},
	})
	info.Set(1)
	reg.MustRegister(info)
	return r
}

// ObserveFlush records one committed write (used as flush.Worker.OnFlushed).
func (r *Registry) ObserveFlush(samples int, took time.Duration) {
	r.FlushedSamples.Add(float64(samples))
	r.FlushSeconds.Observe(took.Seconds())
}
