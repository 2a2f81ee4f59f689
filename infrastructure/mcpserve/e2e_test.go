package mcpserve_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/synth"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/mcpserve"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
	"github.com/pulsemetrics/pulse/usecase/flush"
)

// pulse is `pulse serve`'s wiring (embedded mode, SQLite in a temp dir)
// behind an httptest server, with a tenant and a token of every scope.
type pulse struct {
	URL, Token string
	p          *wiring.Pipeline
}

func startPulse(t *testing.T) *pulse {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg, finish := config.Register(fs, func(string) string { return "" })
	if err := fs.Parse([]string{"--data-dir", t.TempDir(), "--http-addr", "127.0.0.1:0", "--mqtt-listen", "127.0.0.1:0", "--log-level", "error"}); err != nil {
		t.Fatal(err)
	}
	if err := finish(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, cleanup, err := wiring.AssemblePipeline(ctx, cfg, "all")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	if _, err := p.Tenancy.CreateTenant(ctx, audit.CLI(), "acme", "", 0); err != nil {
		t.Fatal(err)
	}
	tok, err := p.Tenancy.CreateToken(ctx, audit.CLI(), "acme", token.Spec{Name: "mcp", Scopes: []token.Scope{token.ScopeIngest, token.ScopeRead, token.ScopeAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.Handler)
	t.Cleanup(srv.Close)
	return &pulse{URL: srv.URL, Token: tok.Plain, p: p}
}

// flush stores what the queue holds, as the workers of `pulse serve` would.
func (s *pulse) flush(t *testing.T) {
	t.Helper()
	for _, w := range s.p.Workers {
		fw, ok := w.(*flush.Worker)
		for ok {
			n, err := fw.FlushOnce(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
	}
}

// session is the MCP server as `pulse mcp` assembles it, over in-memory transports.
func session(t *testing.T, env map[string]string) *mcpsdk.ClientSession {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, _, err := mcpserve.Assemble(func(k string) string { return env[k] }, quiet, quiet)
	if err != nil {
		t.Fatal(err)
	}
	st, ct := mcpsdk.NewInMemoryTransports()
	ss, err := srv.Connect(context.Background(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := mcpsdk.NewClient(&mcpsdk.Implementation{Name: "e2e", Version: "v0"}, nil).Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close(); ss.Wait() })
	return cs
}

func call(t *testing.T, cs *mcpsdk.ClientSession, name string, args any, out any) *mcpsdk.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcpsdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error %v", name, err)
	}
	if out != nil {
		if res.IsError {
			t.Fatalf("%s: %s", name, res.Content[0].(*mcpsdk.TextContent).Text)
		}
		b, _ := json.Marshal(res.StructuredContent)
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: %v in %s", name, err, b)
		}
	}
	return res
}

type point struct {
	TS    int64   `json:"ts"`
	Value float64 `json:"value"`
	Count int64   `json:"count"`
}

// Against a real Pulse over its HTTP API: generate_burst posts the burst
// in batches of 5,000 and query_metric returns exactly the generated
// points; the other tools read and write the same tenant.
func TestToolsAgainstPulse(t *testing.T) {
	pl := startPulse(t)
	cs := session(t, map[string]string{"PULSE_URL": pl.URL, "PULSE_TOKEN": pl.Token})
	list, err := cs.ListTools(context.Background(), nil)
	if err != nil || len(list.Tools) != 6 {
		t.Fatalf("tools/list: %v, %v", list, err)
	}

	from := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	spec := synth.Spec{Name: "mcp.e2e", Pattern: synth.Sawtooth, Amplitude: 5, Offset: 20, Noise: 0.5, Period: 15 * time.Minute,
		Tags: []string{"host=web-{1..3}", "dc={eu,us}"}, Every: time.Second, Start: from, End: from.Add(1000 * time.Second), Seed: 42}
	var burst struct{ Samples, Series, Batches int }
	call(t, cs, "generate_burst", map[string]any{"name": spec.Name, "pattern": "sawtooth", "amplitude": 5, "offset": 20, "noise": 0.5,
		"period": "15m", "tags": spec.Tags, "every": "1s", "from": from.Format(time.RFC3339), "to": spec.End.Format(time.RFC3339), "seed": 42}, &burst)
	if burst.Samples != 6000 || burst.Series != 6 || burst.Batches != 2 {
		t.Fatalf("generate_burst = %+v", burst)
	}
	pl.flush(t)

	var q struct {
		Interval string
		Series   []struct {
			Tags   map[string]string
			Points []point
		}
	}
	call(t, cs, "query_metric", map[string]any{"name": spec.Name, "from": from.Format(time.RFC3339), "to": spec.End.Format(time.RFC3339), "interval": "raw", "limit": 10000}, &q)
	plan, err := synth.NewPlan(spec)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]point{}
	_ = plan.Generate(1000, func(b []metric.Input) error {
		for _, s := range b {
			k := s.Tags["host"] + "/" + s.Tags["dc"]
			want[k] = append(want[k], point{TS: s.TS.UnixMilli(), Value: s.Value, Count: 1})
		}
		return nil
	})
	if q.Interval != "raw" || len(q.Series) != 6 {
		t.Fatalf("query: interval %s, %d series", q.Interval, len(q.Series))
	}
	for _, s := range q.Series {
		if k := s.Tags["host"] + "/" + s.Tags["dc"]; !slices.Equal(s.Points, want[k]) {
			t.Errorf("series %s: %d points differ from the %d generated", k, len(s.Points), len(want[k]))
		}
	}

	var names struct {
		Names []struct {
			Name string
			Tags []struct{ Key string }
		}
	}
	call(t, cs, "list_metrics", map[string]any{"prefix": "mcp."}, &names)
	if len(names.Names) != 1 || names.Names[0].Name != spec.Name || len(names.Names[0].Tags) != 2 {
		t.Errorf("list_metrics = %+v", names)
	}

	var rule struct {
		ID      int64
		Cadence string
	}
	call(t, cs, "create_alert_rule", map[string]any{"name": "Sawtooth high", "metric": spec.Name, "window": "5m", "op": ">", "threshold": 24,
		"group_by": []string{"host"}}, &rule)
	if rule.ID == 0 || rule.Cadence != "1m" {
		t.Errorf("stored rule = %+v (Pulse's defaults filled in)", rule)
	}
	res := call(t, cs, "create_alert_rule", map[string]any{"name": "Too fine", "metric": spec.Name, "window": "1s", "op": ">", "threshold": 1}, nil)
	if msg := res.Content[0].(*mcpsdk.TextContent).Text; !res.IsError || !strings.Contains(msg, "422") || !strings.Contains(msg, "window") {
		t.Errorf("bad rule: %v %q", res.IsError, msg)
	}
	var alerts struct {
		Rules  struct{ Total int }
		Alerts struct{ Data []any }
	}
	call(t, cs, "list_alerts", map[string]any{}, &alerts)
	if alerts.Rules.Total != 1 || alerts.Alerts.Data == nil {
		t.Errorf("list_alerts = %+v", alerts)
	}

	var health struct {
		Readiness struct{ Status string }
		Figures   map[string]float64
	}
	call(t, cs, "pulse_health", map[string]any{"sample_seconds": 0}, &health)
	if health.Readiness.Status != "ok" || health.Figures["http_samples_accepted"] != 6000 || health.Figures["queue_waiting"] != 0 {
		t.Errorf("pulse_health = %+v", health)
	}
}

// A token Pulse does not know is a tool error that says what to fix.
func TestBadTokenIsAToolError(t *testing.T) {
	pl := startPulse(t)
	cs := session(t, map[string]string{"PULSE_URL": pl.URL, "PULSE_TOKEN": "pulse_nope_nope"})
	res := call(t, cs, "list_metrics", map[string]any{}, nil)
	if msg := res.Content[0].(*mcpsdk.TextContent).Text; !res.IsError || !strings.Contains(msg, "401") || !strings.Contains(msg, "PULSE_TOKEN") {
		t.Errorf("unknown token: %v %q", res.IsError, msg)
	}
}
