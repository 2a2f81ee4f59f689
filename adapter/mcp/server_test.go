package mcp_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/pulsemetrics/pulse/adapter/mcp"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/synth"
)

var toolNames = []string{"create_alert_rule", "generate_burst", "list_alerts", "list_metrics", "pulse_health", "query_metric"}

// connect serves b over in-memory transports and returns the client's session.
func connect(t *testing.T, b mcp.Backend, now time.Time) *mcpsdk.ClientSession {
	t.Helper()
	ctx := context.Background()
	srv := mcp.NewServer(b, mcp.Options{Where: "http://pulse.test", Now: func() time.Time { return now }})
	st, ct := mcpsdk.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := mcpsdk.NewClient(&mcpsdk.Implementation{Name: "test", Version: "v0"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close(); ss.Wait() })
	return cs
}

// call calls a tool and returns its result; a protocol error fails the test.
func call(t *testing.T, cs *mcpsdk.ClientSession, name string, args any) *mcpsdk.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcpsdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("%s: protocol error %v", name, err)
	}
	return res
}

func text(res *mcpsdk.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcpsdk.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// structured decodes a successful result's structured content into out.
func structured(t *testing.T, res *mcpsdk.CallToolResult, out any) {
	t.Helper()
	if res.IsError {
		t.Fatalf("tool error: %s", text(res))
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
}

// Before any tool call, initialize names the server and tools/list lists
// every tool with an object input schema describing its parameters.
func TestInitializeAndListTools(t *testing.T) {
	cs := connect(t, &fakePulse{}, time.Now())
	init := cs.InitializeResult()
	if init.ServerInfo.Name != "pulse" || init.Capabilities.Tools == nil {
		t.Fatalf("initialize = %+v", init)
	}
	list, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
		schema, _ := tool.InputSchema.(map[string]any)
		if schema["type"] != "object" || schema["properties"] == nil || tool.Description == "" {
			t.Errorf("%s: schema %v, description %q", tool.Name, tool.InputSchema, tool.Description)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, toolNames) {
		t.Fatalf("tools = %v, want %v", names, toolNames)
	}
	burst := list.Tools[slices.IndexFunc(list.Tools, func(t *mcpsdk.Tool) bool { return t.Name == "generate_burst" })]
	props := burst.InputSchema.(map[string]any)["properties"].(map[string]any)
	for _, p := range []string{"name", "pattern", "amplitude", "offset", "noise", "period", "tags", "every", "duration", "from", "to", "seed"} {
		if props[p] == nil {
			t.Errorf("generate_burst has no %s parameter", p)
		}
	}
	if enum, _ := props["pattern"].(map[string]any)["enum"].([]any); len(enum) != len(synth.Patterns) {
		t.Errorf("pattern enum = %v", enum)
	}
	if req, _ := burst.InputSchema.(map[string]any)["required"].([]any); len(req) != 1 || req[0] != "name" {
		t.Errorf("required = %v, want [name]", req)
	}
}

// generate_burst posts the plan's samples in batches of 5,000, and
// query_metric reads them back over Pulse's pages, exactly.
func TestBurstThenQuery(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	fake := &fakePulse{}
	cs := connect(t, fake, now)
	args := map[string]any{"name": "demo.cpu", "pattern": "sine", "amplitude": 10, "offset": 50, "noise": 1,
		"period": "10m", "tags": []string{"host=web-{1..2}"}, "every": "1s", "duration": "50m", "seed": 7}
	var got struct {
		Samples, Series, Steps, Batches int
		From, To                        string
	}
	structured(t, call(t, cs, "generate_burst", args), &got)
	if got.Samples != 6000 || got.Series != 2 || got.Steps != 3000 || got.Batches != 2 || got.From != "2026-12-04T11:10:00.000Z" || got.To != "2026-12-04T12:00:00.000Z" {
		t.Fatalf("burst = %+v", got)
	}
	if !slices.Equal(fake.batches, []int{5000, 1000}) {
		t.Errorf("batches = %v", fake.batches)
	}
	var q struct {
		Series []mcp.Series
		Points int
		Pages  int
	}
	structured(t, call(t, cs, "query_metric", map[string]any{"name": "demo.cpu", "from": got.From, "to": got.To, "interval": "raw", "limit": 10000}), &q)
	if q.Points != 6000 || q.Pages != 6 || len(q.Series) != 2 {
		t.Fatalf("query: %d points in %d pages, %d series", q.Points, q.Pages, len(q.Series))
	}
	plan, err := synth.NewPlan(synth.Spec{Name: "demo.cpu", Pattern: synth.Sine, Amplitude: 10, Offset: 50, Noise: 1, Period: 10 * time.Minute,
		Tags: []string{"host=web-{1..2}"}, Every: time.Second, Start: now.Add(-50 * time.Minute), End: now, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]mcp.Point{}
	_ = plan.Generate(100, func(b []metric.Input) error {
		for _, s := range b {
			want[s.Tags["host"]] = append(want[s.Tags["host"]], mcp.Point{TS: s.TS.UnixMilli(), Value: s.Value, Min: s.Value, Max: s.Value, Count: 1})
		}
		return nil
	})
	for _, s := range q.Series {
		if !slices.Equal(s.Points, want[s.Tags["host"]]) {
			t.Errorf("series %v differs from the plan", s.Tags)
		}
	}
	// A limit stops early and hands back the cursor.
	var part struct {
		Points     int
		NextCursor string `json:"next_cursor"`
	}
	structured(t, call(t, cs, "query_metric", map[string]any{"name": "demo.cpu", "to": got.To, "range": "1h", "interval": "raw", "limit": 1500}), &part)
	if part.Points != 2000 || part.NextCursor == "" {
		t.Errorf("limited query = %+v", part)
	}
}

// Bad input is a tool error naming the problem, never a protocol error;
// the session goes on serving.
func TestBadInputIsAToolError(t *testing.T) {
	fake := &fakePulse{}
	cs := connect(t, fake, time.Now())
	for _, c := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"generate_burst", map[string]any{"name": "x", "pattern": "zigzag"}, "pattern"},
		{"generate_burst", map[string]any{"pattern": "sine"}, "name"},
		{"generate_burst", map[string]any{"name": "x", "amplitude": -1}, "amplitude"},
		{"generate_burst", map[string]any{"name": "x", "every": "10 parsecs"}, "every"},
		{"generate_burst", map[string]any{"name": "1bad"}, "name"},
		{"generate_burst", map[string]any{"name": "x", "tags": []string{"host=web-{1..9}"}, "every": "1ms", "duration": "1h"}, "at most 1000000"},
		{"generate_burst", map[string]any{"name": "x", "from": "yesterday"}, "from"},
		{"generate_burst", map[string]any{"name": "x", "colour": "red"}, "colour"},
		{"query_metric", map[string]any{"name": "x", "range": "a while"}, "range"},
		{"query_metric", map[string]any{"name": "x", "from": "2026-12-04T12:00:00Z", "to": "2026-12-04T11:00:00Z"}, "end after"},
		{"query_metric", map[string]any{"name": "x", "agg": "median"}, "agg"},
		{"query_metric", map[string]any{"name": ""}, "name is required"},
		{"create_alert_rule", map[string]any{"name": "r", "metric": "x", "op": ">", "threshold": 1}, "window"},
		{"list_alerts", map[string]any{"state": "on fire"}, "state"},
		{"pulse_health", map[string]any{"sample_seconds": 600}, "sample_seconds"},
	} {
		res := call(t, cs, c.tool, c.args)
		t.Logf("%s: %s", c.tool, text(res))
		if !res.IsError || !strings.Contains(text(res), c.want) {
			t.Errorf("%s %v: IsError=%v %q, want an error naming %q", c.tool, c.args, res.IsError, text(res), c.want)
		}
	}
	if len(fake.samples) != 0 {
		t.Errorf("%d samples sent by refused calls", len(fake.samples))
	}
	// A failing backend is a tool error too, saying how far the burst got.
	fake.ingestFn = func(n int) error {
		if n == 1 {
			return errors.New("Pulse answered 429 Too Many Requests")
		}
		return nil
	}
	res := call(t, cs, "generate_burst", map[string]any{"name": "x", "every": "1s", "duration": "3h"})
	if !res.IsError || !strings.Contains(text(res), "5000 of 10800 samples were accepted") || !strings.Contains(text(res), "429") {
		t.Errorf("failing ingest: %v %q", res.IsError, text(res))
	}
	if res := call(t, cs, "list_metrics", map[string]any{}); res.IsError {
		t.Errorf("the session no longer serves: %s", text(res))
	}
}
