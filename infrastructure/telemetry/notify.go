package telemetry

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// Notifications is the dispatcher's metrics (notification.Observer).
type Notifications struct {
	attempts *prometheus.CounterVec
	took     *prometheus.HistogramVec
	latency  prometheus.Histogram
	depth    *prometheus.GaugeVec
}

// Notifications registers (once) and returns the dispatcher's metrics.
func (r *Registry) Notifications() *Notifications {
	r.notifyOnce.Do(func() {
		m := &Notifications{
			attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "pulse_notifications_total",
				Help: "Notification delivery attempts by channel type and result: sent, retry (failed, tried again later), dead (failed for good).",
			}, []string{"channel_type", "result"}),
			took: prometheus.NewHistogramVec(prometheus.HistogramOpts{
				Name: "pulse_notification_delivery_seconds", Help: "Duration of one successful delivery (the receiver's answer included).",
				Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
			}, []string{"channel_type"}),
			latency: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name: "pulse_notification_latency_seconds", Help: "Time from an alert's transition to its notification's delivery.",
				Buckets: []float64{0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 300, 1800},
			}),
			depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
				Name: "pulse_notification_queue_depth",
				Help: "The dispatcher's backlog by stage: outbox (transitions not yet expanded), deliveries (waiting, held or silenced), messages (waiting for an attempt).",
			}, []string{"stage"}),
		}
		for _, k := range notify.Kinds {
			for _, res := range []string{notification.ResultSent, notification.ResultRetry, notification.ResultDead} {
				m.attempts.WithLabelValues(string(k), res)
			}
		}
		r.MustRegister(m.attempts, m.took, m.latency, m.depth)
		r.notify = m
	})
	return r.notify
}

// Delivered records one attempt.
func (m *Notifications) Delivered(kind notify.Kind, result string, took time.Duration) {
	if kind == "" {
		kind = "unknown"
	}
	m.attempts.WithLabelValues(string(kind), result).Inc()
	if result == notification.ResultSent {
		m.took.WithLabelValues(string(kind)).Observe(took.Seconds())
	}
}

// Latency records a delivery's time since its transition.
func (m *Notifications) Latency(d time.Duration) { m.latency.Observe(max(d, 0).Seconds()) }

// Depth sets the backlog gauges.
func (m *Notifications) Depth(d notification.Depth) {
	m.depth.WithLabelValues("outbox").Set(float64(d.Outbox))
	m.depth.WithLabelValues("deliveries").Set(float64(d.Deliveries))
	m.depth.WithLabelValues("messages").Set(float64(d.Queued))
}
