package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsemetrics/pulse/usecase/live"
)

// RegisterLive exposes a hub's figures, read when scraped.
func (r *Registry) RegisterLive(h *live.Hub) {
	st := h.Stats()
	r.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pulse_live_streams", Help: "Live streams open on this process."},
			func() float64 { return float64(h.Open()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pulse_live_streams_opened_total", Help: "Live streams opened."},
			func() float64 { return float64(st.Opened.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pulse_live_streams_refused_total", Help: "Live streams refused by a connection cap (429)."},
			func() float64 { return float64(st.Refused.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pulse_live_streams_slow_total", Help: "Live streams ended because the client did not keep up."},
			func() float64 { return float64(st.Slow.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pulse_live_entries_total", Help: "Committed batches the hub received from the live feed."},
			func() float64 { return float64(st.Entries.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "pulse_live_points_delivered_total", Help: "Points handed to live streams' writers."},
			func() float64 { return float64(st.Points.Load()) }),
	)
}
