package telemetry

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsemetrics/pulse/usecase/flush"
)

// statsTimeout bounds one scrape's look at the queue.
const statsTimeout = 2 * time.Second

// queueCollector reads the queue's stats at each scrape.
type queueCollector struct {
	src                                            flush.StatsSource
	waiting, pending, oldest, dead, unreadable, up *prometheus.Desc
}

// RegisterQueue exposes the queue's depth, pending entries, oldest-entry
// age, dead letters and unreadable entries (read at each scrape). Every
// role that enqueues or drains calls it; the first call registers.
func (r *Registry) RegisterQueue(src flush.StatsSource) {
	r.queueOnce.Do(func() { r.registerQueue(src) })
}

func (r *Registry) registerQueue(src flush.StatsSource) {
	r.MustRegister(&queueCollector{
		src:        src,
		waiting:    prometheus.NewDesc("pulse_queue_waiting", "Queue entries (requests) not yet delivered to a worker.", nil, nil),
		pending:    prometheus.NewDesc("pulse_queue_pending", "Queue entries delivered to a worker and not yet acknowledged.", nil, nil),
		oldest:     prometheus.NewDesc("pulse_queue_oldest_age_seconds", "Age of the oldest unacknowledged queue entry (0 when empty).", nil, nil),
		dead:       prometheus.NewDesc("pulse_queue_dead_letters", "Entries in the queue's dead-letter store (each one is accepted data not stored).", nil, nil),
		unreadable: prometheus.NewDesc("pulse_queue_unreadable_total", "Queue entries this process found undecodable and dead-lettered since it started.", nil, nil),
		up:         prometheus.NewDesc("pulse_queue_up", "1 when the queue answered this scrape's look at it.", nil, nil),
	})
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.waiting, c.pending, c.oldest, c.dead, c.unreadable, c.up} {
		ch <- d
	}
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), statsTimeout)
	defer cancel()
	st, err := c.src.Stats(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(st.Waiting))
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, st.OldestAge.Seconds())
	ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(st.DeadLetters))
	ch <- prometheus.MustNewConstMetric(c.unreadable, prometheus.CounterValue, float64(st.Unreadable))
}
