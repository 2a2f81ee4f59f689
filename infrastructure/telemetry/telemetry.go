// Package telemetry owns the process's Prometheus registry and the metrics
// that belong to no single adapter (flush throughput, queue, rollups).
// Groups of metrics are registered when the role that feeds them is built,
// so a process exposes only what it does: an API replica has no rollup
// counters standing at zero.
package telemetry

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pulsemetrics/pulse/domain/rollup"
	"github.com/pulsemetrics/pulse/usecase/flush"
)

// Registry is the process-wide registry with Go and process collectors.
type Registry struct {
	*prometheus.Registry

	flushOnce  sync.Once
	flush      *Flush
	rollupOnce sync.Once
	rollup     *Rollup
	queueOnce  sync.Once
	alertsOnce sync.Once
	alerts     *Alerts
	notifyOnce sync.Once
	notify     *Notifications
}

// NewRegistry returns a registry with the standard collectors and the
// build info of the role.
func NewRegistry(role string) *Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "pulse_build_info", Help: "Always 1; the role label names the binary's role.",
		ConstLabels: prometheus.Labels{"role": role},
	})
	info.Set(1)
	reg.MustRegister(info)
	return &Registry{Registry: reg}
}

// Flush is the workers' metrics.
type Flush struct {
	// Samples counts every sample the workers wrote, whatever became of it.
	Samples prometheus.Counter
	Seconds prometheus.Histogram
	// stored, repeated and deduped are per tenant (by slug).
	stored, repeated, deduped *prometheus.CounterVec
	tenantName                func(id int64) string
}

// Flush registers (once) and returns the workers' metrics; tenantName
// labels them (nil or an empty answer: the tenant id).
func (r *Registry) Flush(tenantName func(id int64) string) *Flush {
	r.flushOnce.Do(func() {
		f := &Flush{
			Samples: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "pulse_flushed_samples_total", Help: "Samples written by the workers: stored, repeats and deduplicated together.",
			}),
			Seconds: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name: "pulse_flush_duration_seconds", Help: "Duration of one committed store write.",
				Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
			}),
			stored: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "pulse_samples_stored_total", Help: "Samples stored as new rows, by tenant.",
			}, []string{"tenant"}),
			repeated: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "pulse_samples_duplicate_total",
				Help: "Samples not stored because their series already held a value at their ts (first write wins; includes batches delivered again after a crash), by tenant.",
			}, []string{"tenant"}),
			deduped: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "pulse_samples_deduplicated_total", Help: "Samples not stored because their dedupe_id was seen within the window, by tenant.",
			}, []string{"tenant"}),
			tenantName: tenantName,
		}
		r.MustRegister(f.Samples, f.Seconds, f.stored, f.repeated, f.deduped)
		r.flush = f
	})
	return r.flush
}

// Observe records one committed write (flush.Worker.OnFlushed).
func (f *Flush) Observe(w flush.Written, took time.Duration) {
	f.Samples.Add(float64(w.Samples()))
	f.Seconds.Observe(took.Seconds())
	for id, c := range w {
		name := ""
		if f.tenantName != nil {
			name = f.tenantName(id)
		}
		if name == "" {
			name = strconv.FormatInt(id, 10)
		}
		addIf(f.stored, name, c.Stored)
		addIf(f.repeated, name, c.Repeated)
		addIf(f.deduped, name, c.Deduped)
	}
}

func addIf(v *prometheus.CounterVec, tenant string, n int) {
	if n > 0 {
		v.WithLabelValues(tenant).Add(float64(n))
	}
}

// Rollup is the scheduler's metrics.
type Rollup struct {
	RawRows     prometheus.Counter
	Buckets     prometheus.Counter
	PassSeconds prometheus.Histogram
	Pending     prometheus.Gauge
	JobRuns     *prometheus.CounterVec
}

// Rollup registers (once) and returns the scheduler's metrics.
func (r *Registry) Rollup() *Rollup {
	r.rollupOnce.Do(func() {
		m := &Rollup{
			RawRows: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "pulse_rollup_raw_rows_total", Help: "Raw samples folded into rollups by the rollup job.",
			}),
			Buckets: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "pulse_rollup_buckets_written_total", Help: "Rollup rows written (every step together).",
			}),
			PassSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name: "pulse_rollup_pass_duration_seconds", Help: "Duration of one rollup pass (one transaction).",
				Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
			}),
			Pending: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: "pulse_rollup_pending", Help: "Pending ranges waiting for the rollup job after its last run.",
			}),
			JobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "pulse_scheduled_job_runs_total", Help: "Runs of the scheduler's jobs by outcome.",
			}, []string{"job", "result"}),
		}
		r.MustRegister(m.RawRows, m.Buckets, m.PassSeconds, m.Pending, m.JobRuns)
		r.rollup = m
	})
	return r.rollup
}

// ObservePass records one rollup pass (rollupjob.Service.OnPass).
func (m *Rollup) ObservePass(p rollup.Pass, took time.Duration) {
	m.RawRows.Add(float64(p.RawRows))
	m.Buckets.Add(float64(p.Buckets))
	m.PassSeconds.Observe(took.Seconds())
}
