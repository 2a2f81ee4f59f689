package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// JobSucceeded records that this process ran a scheduled job to its end at
// at (pulse_scheduled_job_last_success_timestamp_seconds{job}), so that a
// job that stopped running shows as a growing age rather than as nothing.
func (r *Registry) JobSucceeded(job string, at time.Time) {
	g := registerShared(r, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "pulse_scheduled_job_last_success_timestamp_seconds",
		Help: "When this process last ran the scheduled job to its end (Unix seconds).",
	}, []string{"job"}))
	g.WithLabelValues(job).Set(float64(at.UnixMilli()) / 1000)
}
