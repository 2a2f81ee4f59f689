package mcp

import (
	"context"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// figure is one of the process's Prometheus families that pulse_health
// reports, under a short key; a counter's rate is computed over the window.
type figure struct {
	key, family string
	counter     bool
}

var figures = []figure{
	{"queue_waiting", "pulse_queue_waiting", false},
	{"queue_pending", "pulse_queue_pending", false},
	{"queue_oldest_age_seconds", "pulse_queue_oldest_age_seconds", false},
	{"queue_dead_letters", "pulse_queue_dead_letters", false},
	{"rollup_pending", "pulse_rollup_pending", false},
	{"live_streams", "pulse_live_streams", false},
	{"http_samples_accepted", "pulse_ingest_samples_accepted_total", true},
	{"mqtt_samples_accepted", "pulse_mqtt_samples_accepted_total", true},
	{"samples_flushed", "pulse_flushed_samples_total", true},
}

const (
	lagSum   = "pulse_flush_lag_seconds_sum"
	lagCount = "pulse_flush_lag_seconds_count"
)

type healthInput struct {
	SampleSeconds *float64 `json:"sample_seconds,omitempty" jsonschema:"seconds between the two reads of /metrics that the rates come from (0: totals only)"`
}

type healthOutput struct {
	URL           string             `json:"url"`
	Readiness     Readiness          `json:"readiness" jsonschema:"GET /readyz: the database, queue and MQTT door checks"`
	Figures       map[string]float64 `json:"figures" jsonschema:"the process's gauges and counter totals, from GET /metrics (anonymous: no per-tenant series); a figure this process does not export is absent"`
	Rates         map[string]float64 `json:"rates_per_second,omitempty" jsonschema:"the counters' increase per second over the window"`
	FlushLagMean  *float64           `json:"flush_lag_mean_seconds,omitempty" jsonschema:"mean time from a batch's acceptance (202) to its storage, over the batches stored in the window"`
	WindowSeconds float64            `json:"window_seconds"`
	MetricsError  string             `json:"metrics_error,omitempty" jsonschema:"why /metrics could not be read (readiness is still reported)"`
	Scope         string             `json:"scope"`
}

const healthScope = "Process-wide figures of the Pulse process at the URL (in distributed mode: that role's process only), " +
	"as any client may read them: /readyz and the anonymous /metrics exposition. A tenant token reads no per-tenant " +
	"series there (only a platform token does) and not the Health page's recorded history (/ui/api/health/*, a dashboard session)."

func (t *tools) addHealth(s *mcpsdk.Server) {
	in := schemaFor[healthInput](func(p map[string]*jsonschema.Schema) {
		def(p["sample_seconds"], 2.0)
		between(p["sample_seconds"], 0, 30)
	})
	mcpsdk.AddTool(s, &mcpsdk.Tool{
		Name: "pulse_health",
		Description: "Pulse's health at " + t.at + ": readiness (GET /readyz: database, queue, MQTT door) and, from the anonymous " +
			"GET /metrics read twice sample_seconds apart, the queue's depth and oldest entry age (its lag), dead letters, the flush lag " +
			"and the ingest rates (HTTP, MQTT, stored samples per second). Process-wide, not per tenant: a tenant token may read no more.",
		InputSchema: in,
		Annotations: readOnly("Pulse health"),
	}, t.health)
}

func (t *tools) health(ctx context.Context, _ *mcpsdk.CallToolRequest, in healthInput) (*mcpsdk.CallToolResult, healthOutput, error) {
	out := healthOutput{URL: t.where, Figures: map[string]float64{}, Scope: healthScope}
	ready, err := t.b.Readiness(ctx)
	if err != nil {
		return nil, out, err
	}
	if ready.Checks == nil {
		ready.Checks = map[string]string{}
	}
	out.Readiness = ready
	wait := 2 * time.Second
	if in.SampleSeconds != nil {
		wait = time.Duration(*in.SampleSeconds * float64(time.Second))
	}
	first, err := t.b.Figures(ctx)
	began := time.Now()
	if err != nil {
		out.MetricsError = err.Error()
		return nil, out, nil
	}
	second := first
	if wait > 0 {
		select {
		case <-ctx.Done():
			return nil, out, ctx.Err()
		case <-time.After(wait):
		}
		if second, err = t.b.Figures(ctx); err != nil {
			out.MetricsError = err.Error()
			second = first
		}
	}
	elapsed := time.Since(began).Seconds()
	for _, f := range figures {
		v, ok := second[f.family]
		if !ok {
			continue
		}
		out.Figures[f.key] = v
		if f.counter && wait > 0 && elapsed > 0 {
			if out.Rates == nil {
				out.Rates = map[string]float64{}
			}
			out.Rates[f.key] = max(0, v-first[f.family]) / elapsed // a restart resets a counter
		}
	}
	if n := second[lagCount] - first[lagCount]; wait > 0 && n > 0 {
		mean := (second[lagSum] - first[lagSum]) / n
		out.FlushLagMean = &mean
	}
	if wait > 0 {
		out.WindowSeconds = elapsed
	}
	return nil, out, nil
}
