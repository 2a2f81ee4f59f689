package main

import (
	"fmt"
	"net/http"
	"runtime"

	"github.com/pulsemetrics/pulse/adapter/agent/spool"
	"github.com/pulsemetrics/pulse/adapter/mqtt/publish"
	"github.com/pulsemetrics/pulse/usecase/agentloop"
)

// handler serves the agent's own /metrics (Prometheus text format, written
// by hand to keep the binary small), /healthz (the process runs) and
// /readyz (connected to the broker).
func handler(loop *agentloop.Service, sp *spool.Spool, pub *publish.Publisher) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !pub.Connected() {
			http.Error(w, "not connected to the broker", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		c := &loop.Counters
		st := sp.Stats()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		connected := 0
		if pub.Connected() {
			connected = 1
		}
		for _, m := range []struct {
			name, kind, help string
			v                float64
		}{
			{"pulse_agent_batches_collected_total", "counter", "Batches collected.", float64(c.Collected.Load())},
			{"pulse_agent_collect_errors_total", "counter", "Collections with at least one failed collector.", float64(c.CollectErrors.Load())},
			{"pulse_agent_batches_published_live_total", "counter", "Batches acknowledged by the broker when sent live.", float64(c.PublishedLive.Load())},
			{"pulse_agent_batches_published_spooled_total", "counter", "Spooled batches acknowledged by the broker.", float64(c.PublishedSpooled.Load())},
			{"pulse_agent_batches_spooled_total", "counter", "Batches written to the spool.", float64(c.Spooled.Load())},
			{"pulse_agent_publish_errors_total", "counter", "Publishes not acknowledged.", float64(c.PublishErrors.Load())},
			{"pulse_agent_spool_dropped_total", "counter", "Batches dropped from the spool (size or age bound, corruption) since it was created.", float64(st.Dropped)},
			{"pulse_agent_spool_batches", "gauge", "Batches waiting in the spool.", float64(st.Batches)},
			{"pulse_agent_spool_bytes", "gauge", "Bytes of the spool on disk.", float64(st.Bytes)},
			{"pulse_agent_broker_connected", "gauge", "1 when connected to the broker.", float64(connected)},
			{"go_memstats_heap_inuse_bytes", "gauge", "Heap bytes in use.", float64(ms.HeapInuse)},
			{"go_goroutines", "gauge", "Goroutines.", float64(runtime.NumGoroutine())},
		} {
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %g\n", m.name, m.help, m.name, m.kind, m.name, m.v)
		}
	})
	return mux
}
