package mcp

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// The points query_metric reads over its pages by default and at most:
// enough for a chart, little enough for a model's context.
const (
	defaultQueryLimit = 2000
	maxQueryLimit     = 50000
)

type queryInput struct {
	Name      string            `json:"name" jsonschema:"the metric name"`
	Tags      map[string]string `json:"tags,omitempty" jsonschema:"only the series carrying every one of these tag pairs"`
	From      string            `json:"from,omitempty" jsonschema:"start: RFC 3339, Unix seconds or milliseconds, or now"`
	To        string            `json:"to,omitempty" jsonschema:"end (exclusive), as from; default now"`
	Range     string            `json:"range,omitempty" jsonschema:"the span when from or to is missing, e.g. 15m, 1h, 7d; default 1h"`
	Interval  string            `json:"interval,omitempty" jsonschema:"auto picks the finest resolution whose points fit max_points; raw is the samples; or a rollup step (1m, 5m, 1h)"`
	Agg       string            `json:"agg,omitempty" jsonschema:"what a rollup point's value is"`
	MaxPoints int               `json:"max_points,omitempty" jsonschema:"Pulse's max_points: the page size, and what interval auto fits (Pulse's default 1000)"`
	Limit     int               `json:"limit,omitempty" jsonschema:"the most points to read, following Pulse's pages; next_cursor says where the rest starts"`
	Cursor    string            `json:"cursor,omitempty" jsonschema:"a next_cursor from an earlier call, to read on from there"`
}

type queryOutput struct {
	Name       string   `json:"name"`
	Interval   string   `json:"interval" jsonschema:"what the points are: raw samples or rollup buckets of that step"`
	Agg        string   `json:"agg"`
	From       string   `json:"from"`
	To         string   `json:"to"`
	Series     []Series `json:"series"`
	Points     int      `json:"points" jsonschema:"points in all series"`
	Pages      int      `json:"pages"`
	NextCursor string   `json:"next_cursor,omitempty" jsonschema:"set when more points remain: pass it as cursor"`
}

func (t *tools) addQuery(s *mcpsdk.Server) {
	in := schemaFor[queryInput](func(p map[string]*jsonschema.Schema) {
		def(p["interval"], "auto")
		enum(p["agg"], "avg", "min", "max", "sum", "count")
		def(p["agg"], "avg")
		def(p["limit"], defaultQueryLimit)
		between(p["limit"], 1, maxQueryLimit)
		between(p["max_points"], 0, 100000)
	})
	mcpsdk.AddTool(s, &mcpsdk.Tool{
		Name: "query_metric",
		Description: "Read one metric's points from Pulse at " + t.at + " (GET /api/metrics/query) for the token's tenant: " +
			"one entry per series (tag set) with points {ts (Unix ms), value, min, max, count} as Pulse returns them. " +
			"Use interval raw for the samples themselves, auto (the default) for a chart-sized answer from the rollups.",
		InputSchema: in,
		Annotations: readOnly("Query a metric"),
	}, t.query)
}

func (t *tools) query(ctx context.Context, _ *mcpsdk.CallToolRequest, in queryInput) (*mcpsdk.CallToolResult, queryOutput, error) {
	var out queryOutput
	start, end, err := window(in.From, in.To, "range", in.Range, time.Hour, t.now())
	if err != nil {
		return nil, out, err
	}
	limit := in.Limit
	if limit <= 0 {
		limit = defaultQueryLimit
	}
	q := Query{Name: in.Name, Tags: in.Tags, Start: start, End: end, Interval: in.Interval, Agg: in.Agg, MaxPoints: in.MaxPoints, Cursor: in.Cursor}
	out = queryOutput{Name: in.Name, From: stamp(start), To: stamp(end), Series: []Series{}}
	for {
		page, err := t.b.Query(ctx, q)
		if err != nil {
			return nil, out, err
		}
		out.Pages++
		out.Name, out.Interval, out.Agg = page.Name, page.Interval, page.Agg
		for _, s := range page.Series {
			if s.Tags == nil {
				s.Tags = map[string]string{} // the output schema wants an object
			}
			out.Points += len(s.Points)
			// A series cut by a page boundary goes on in the next page.
			if n := len(out.Series); n > 0 && maps.Equal(out.Series[n-1].Tags, s.Tags) {
				out.Series[n-1].Points = append(out.Series[n-1].Points, s.Points...)
				continue
			}
			out.Series = append(out.Series, s)
		}
		if page.NextCursor == nil || *page.NextCursor == "" {
			return nil, out, nil
		}
		if out.Points >= limit {
			out.NextCursor = *page.NextCursor
			return nil, out, nil
		}
		if *page.NextCursor == q.Cursor {
			return nil, out, fmt.Errorf("Pulse returned the same cursor twice (%s): stopped after %d pages", q.Cursor, out.Pages)
		}
		q.Cursor = *page.NextCursor
	}
}

type namesInput struct {
	Prefix string `json:"prefix,omitempty" jsonschema:"only names starting with this (a literal prefix)"`
	Limit  int    `json:"limit,omitempty" jsonschema:"the most names to list (Pulse's default when 0)"`
}

func (t *tools) addNames(s *mcpsdk.Server) {
	in := schemaFor[namesInput](func(p map[string]*jsonschema.Schema) { between(p["limit"], 0, 1000) })
	mcpsdk.AddTool(s, &mcpsdk.Tool{
		Name: "list_metrics",
		Description: "List the token's tenant's metric names at " + t.at + " (GET /api/metrics/names), in byte order, " +
			"each with its tag keys and their first values (at most 10 a key).",
		InputSchema: in,
		Annotations: readOnly("List metric names"),
	}, func(ctx context.Context, _ *mcpsdk.CallToolRequest, in namesInput) (*mcpsdk.CallToolResult, Names, error) {
		n, err := t.b.Names(ctx, in.Prefix, in.Limit)
		if n.Names == nil {
			n.Names = []NameInfo{}
		}
		return nil, n, err
	})
}
