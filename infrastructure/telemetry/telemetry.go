// Package telemetry owns the process's Prometheus registry and the metrics
// that belong to no single adapter (queue lag, flush throughput).
package telemetry

import (
	"time"

	"github.com/pulsemetrics/pulse/domain/rollup"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Registry is the process-wide registry with Go and process collectors.
type Registry struct {
	*prometheus.Registry
	FlushedSamples prometheus.Counter
	FlushSeconds   prometheus.Histogram

	RollupRawRows     prometheus.Counter
	RollupBuckets     prometheus.Counter
	RollupPassSeconds prometheus.Histogram
	RollupPending     prometheus.Gauge
	JobRuns           *prometheus.CounterVec
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
	r.RollupRawRows = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pulse_rollup_raw_rows_total", Help: "Raw samples folded into rollups by the rollup job.",
	})
	r.RollupBuckets = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "pulse_rollup_buckets_written_total", Help: "Rollup rows written (every step together).",
	})
	r.RollupPassSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "pulse_rollup_pass_duration_seconds", Help: "Duration of one rollup pass (one transaction).",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
	r.RollupPending = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "pulse_rollup_pending", Help: "Pending ranges waiting for the rollup job after its last run.",
	})
	r.JobRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pulse_scheduled_job_runs_total", Help: "Runs of the scheduler's jobs by outcome.",
	}, []string{"job", "result"})
	reg.MustRegister(r.FlushedSamples, r.FlushSeconds, r.RollupRawRows, r.RollupBuckets, r.RollupPassSeconds, r.RollupPending, r.JobRuns)
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

// ObserveRollupPass records one rollup pass (used as rollupjob.Service.OnPass).
func (r *Registry) ObserveRollupPass(p rollup.Pass, took time.Duration) {
	r.RollupRawRows.Add(float64(p.RawRows))
	r.RollupBuckets.Add(float64(p.Buckets))
	r.RollupPassSeconds.Observe(took.Seconds())
}
