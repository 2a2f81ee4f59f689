package ingestor

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the ingestor's Prometheus series.
type metrics struct {
	messages *prometheus.CounterVec // result
	rejected *prometheus.CounterVec // tenant, reason
	samples  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_mqtt_messages_total",
			Help: "MQTT messages taken by the ingestor, by result (accepted: durable in the queue; rejected: counted and dropped).",
		}, []string{"result"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pulse_mqtt_rejected_total",
			Help: "MQTT messages rejected, by tenant slug (\"unknown\" when the topic names no known tenant) and reason.",
		}, []string{"tenant", "reason"}),
		samples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pulse_mqtt_samples_accepted_total",
			Help: "Samples accepted from MQTT (durable in the queue).",
		}),
	}
	if reg != nil {
		m.messages = register(reg, m.messages)
		m.rejected = register(reg, m.rejected)
		m.samples = register(reg, m.samples)
	}
	return m
}

// AcceptedSamples returns the pulse_mqtt_samples_accepted_total counter
// that the ingestors registered with reg share (registering it if none did),
// so a caller can read it without gathering the whole registry.
func AcceptedSamples(reg prometheus.Registerer) prometheus.Counter {
	return newMetrics(reg).samples
}

// register registers c, or returns the collector already registered under
// its name (a second ingestor in the same process shares the series).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if prev, ok := are.ExistingCollector.(C); ok {
				return prev
			}
		}
		panic(err) // a name clash with another kind of metric: a programming error
	}
	return c
}
