package mcp_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/mcp"
)

func TestGate(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string // "" = may start
	}{
		{map[string]string{}, "USE_MCP=true"},
		{map[string]string{"USE_MCP": "1"}, "USE_MCP=true"},
		{map[string]string{"USE_MCP": "true", "CI": "true"}, "CI is set"},
		{map[string]string{"USE_MCP": "TRUE", "CI": "1"}, "CI is set"},
		{map[string]string{"USE_MCP": "true"}, ""},
		{map[string]string{"USE_MCP": "true", "CI": ""}, ""},
	} {
		err := mcp.Gate(func(k string) string { return c.env[k] })
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: %v, want a start", c.env, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n")):
			t.Errorf("%v: %v, want one line naming %q", c.env, err, c.want)
		}
	}
}

// create_alert_rule sends only the fields given (Pulse fills the
// defaults), and list_alerts returns Pulse's answers as they came.
func TestAlertTools(t *testing.T) {
	fake := &fakePulse{}
	cs := connect(t, fake, time.Now())
	res := call(t, cs, "create_alert_rule", map[string]any{"name": "High load", "metric": "cpu.load", "window": "5m", "op": ">", "threshold": 0.9,
		"matchers": []map[string]any{{"tag": "host", "op": "=", "value": "a"}}, "group_by": []string{"host"}})
	if res.IsError {
		t.Fatal(text(res))
	}
	want := `{"name":"High load","metric":"cpu.load","matchers":[{"tag":"host","op":"=","value":"a"}],"window":"5m","op":">","threshold":0.9,"group_by":["host"]}`
	if len(fake.rules) != 1 || string(fake.rules[0]) != want {
		t.Fatalf("sent %s, want %s", fake.rules, want)
	}
	var both struct {
		Rules  struct{ Total int }
		Alerts struct{ Data []any }
	}
	structured(t, call(t, cs, "list_alerts", map[string]any{}), &both)
	if both.Rules.Total != 1 || both.Alerts.Data == nil {
		t.Errorf("list_alerts = %+v", both)
	}
	var rulesOnly map[string]json.RawMessage
	structured(t, call(t, cs, "list_alerts", map[string]any{"what": "rules"}), &rulesOnly)
	if _, ok := rulesOnly["alerts"]; ok || rulesOnly["rules"] == nil {
		t.Errorf("what=rules gave %v", rulesOnly)
	}
	if res := call(t, cs, "create_alert_rule", map[string]any{"name": "r", "metric": "x", "window": "5m", "op": "~", "threshold": 1}); !res.IsError {
		t.Errorf("op ~ accepted")
	}
}

// pulse_health reports readiness, the figures and the counters' rates
// over the window; without /metrics it still reports readiness.
func TestHealthTool(t *testing.T) {
	fake := &fakePulse{figures: []map[string]float64{
		{"pulse_queue_waiting": 3, "pulse_ingest_samples_accepted_total": 100, "pulse_flush_lag_seconds_sum": 1, "pulse_flush_lag_seconds_count": 10},
		{"pulse_queue_waiting": 4, "pulse_ingest_samples_accepted_total": 110, "pulse_flush_lag_seconds_sum": 2, "pulse_flush_lag_seconds_count": 20},
	}}
	cs := connect(t, fake, time.Now())
	var h struct {
		Readiness mcp.Readiness
		Figures   map[string]float64
		Rates     map[string]float64 `json:"rates_per_second"`
		Lag       *float64           `json:"flush_lag_mean_seconds"`
		Window    float64            `json:"window_seconds"`
	}
	structured(t, call(t, cs, "pulse_health", map[string]any{"sample_seconds": 0.05}), &h)
	if h.Readiness.Status != "ok" || h.Figures["queue_waiting"] != 4 || h.Figures["http_samples_accepted"] != 110 {
		t.Fatalf("health = %+v", h)
	}
	if r := h.Rates["http_samples_accepted"]; r <= 0 || r > 10/0.05 || h.Window < 0.05 || h.Lag == nil || *h.Lag != 0.1 {
		t.Errorf("rate %v over %v s, lag %v", r, h.Window, h.Lag)
	}
	var bare struct {
		Readiness    mcp.Readiness
		MetricsError string `json:"metrics_error"`
	}
	structured(t, call(t, connect(t, &fakePulse{}, time.Now()), "pulse_health", map[string]any{"sample_seconds": 0}), &bare)
	if bare.Readiness.Status != "ok" || bare.MetricsError == "" {
		t.Errorf("without /metrics: %+v", bare)
	}
}
