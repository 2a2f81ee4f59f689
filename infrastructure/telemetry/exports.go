package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsemetrics/pulse/usecase/export"
)

// Exports is the export jobs' metrics (export.Observer), registered by the
// roles that run the jobs (worker, serve).
type Exports struct {
	finished *prometheus.CounterVec
	rows     prometheus.Counter
	took     prometheus.Histogram
}

// Exports registers (once per registry) and returns the jobs' metrics.
func (r *Registry) Exports() *Exports {
	m := &Exports{
		finished: registerShared(r, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_exports_total", Help: "CSV export jobs finished, by status: done or failed.",
		}, []string{"status"})),
		rows: registerShared(r, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_export_rows_total", Help: "Rows written by the CSV export jobs (failed ones' too).",
		})),
		took: registerShared(r, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "pulse_export_duration_seconds", Help: "Duration of one CSV export job, from its claim to its end.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14), // 50 ms to about 7 minutes
		})),
	}
	for _, s := range []string{export.StatusDone, export.StatusFailed} {
		m.finished.WithLabelValues(s)
	}
	return m
}

// Finished records one job.
func (m *Exports) Finished(status string, rows int64, took time.Duration) {
	m.finished.WithLabelValues(status).Inc()
	m.rows.Add(float64(rows))
	m.took.Observe(took.Seconds())
}
