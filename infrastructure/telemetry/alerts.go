package telemetry

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Alerts is the alert scheduler's metrics (alerting.Observer).
type Alerts struct {
	evaluations *prometheus.CounterVec
	duration    prometheus.Histogram
	lag         prometheus.Histogram
	firing      *prometheus.GaugeVec
	tenantName  func(id int64) string

	mu   sync.Mutex
	seen map[string]bool // tenant labels set last time, so a tenant back to 0 reads 0
}

// Alerts registers (once) and returns the alert scheduler's metrics;
// tenantName labels pulse_alerts_firing (nil or "": the tenant id).
func (r *Registry) Alerts(tenantName func(id int64) string) *Alerts {
	r.alertsOnce.Do(func() {
		m := &Alerts{
			evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "pulse_alert_evaluations_total",
				Help: "Alert rule evaluations by result: ok, error (the samples could not be read), conflict (another replica recorded it), failed (not recorded; retried).",
			}, []string{"result"}),
			duration: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name: "pulse_alert_eval_duration_seconds", Help: "Duration of one rule's evaluation and commit.",
				Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
			}),
			lag: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name: "pulse_alert_eval_lag_seconds", Help: "How late an evaluation started after its due time.",
				Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300},
			}),
			firing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
				Name: "pulse_alerts_firing", Help: "Alert instances firing (or recovering) per tenant.",
			}, []string{"tenant"}),
			tenantName: tenantName,
			seen:       map[string]bool{},
		}
		for _, res := range []string{"ok", "error", "conflict", "failed"} {
			m.evaluations.WithLabelValues(res)
		}
		r.MustRegister(m.evaluations, m.duration, m.lag, m.firing)
		r.alerts = m
	})
	return r.alerts
}

// Evaluated records one evaluation.
func (m *Alerts) Evaluated(result string, took, lag time.Duration) {
	m.evaluations.WithLabelValues(result).Inc()
	m.duration.Observe(took.Seconds())
	m.lag.Observe(max(lag, 0).Seconds())
}

// Firing sets the per-tenant gauge; tenants no longer listed read 0.
func (m *Alerts) Firing(byTenant map[int64]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := map[string]bool{}
	for id, n := range byTenant {
		label := ""
		if m.tenantName != nil {
			label = m.tenantName(id)
		}
		if label == "" {
			label = strconv.FormatInt(id, 10)
		}
		m.firing.WithLabelValues(label).Set(float64(n))
		now[label] = true
	}
	for label := range m.seen {
		if !now[label] {
			m.firing.WithLabelValues(label).Set(0)
		}
	}
	m.seen = now
}
