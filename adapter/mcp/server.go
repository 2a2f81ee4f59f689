// Package mcp is Pulse's Model Context Protocol door for local development:
// an MCP server (github.com/modelcontextprotocol/go-sdk) whose tools act as
// one tenant through a Backend, the running Pulse's HTTP API in practice
// (httpbackend). It holds no state of its own; the gate (Gate) keeps it
// out of CI and off unless asked for.
package mcp

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// Backend is what the tools need of a Pulse, for the token's tenant.
// Errors are shown to the MCP client as they read, so they must say what
// went wrong in a person's words.
type Backend interface {
	// Ingest sends one batch of samples (at most IngestBatch) and returns
	// how many were accepted.
	Ingest(ctx context.Context, samples []metric.Input) (int, error)
	// Query reads one page of a chart query.
	Query(ctx context.Context, q Query) (QueryPage, error)
	// Names lists the metric names starting with prefix.
	Names(ctx context.Context, prefix string, limit int) (Names, error)
	// AlertRules and Alerts return Pulse's answers as they came.
	AlertRules(ctx context.Context, page, perPage int) (json.RawMessage, error)
	Alerts(ctx context.Context, f AlertFilter) (json.RawMessage, error)
	// CreateAlertRule stores the rule (the API's Rule JSON) and returns the stored rule.
	CreateAlertRule(ctx context.Context, rule json.RawMessage) (json.RawMessage, error)
	// Readiness is what /readyz says; Figures the process's own figures
	// (Prometheus families summed over their label sets), as anyone may
	// read them.
	Readiness(ctx context.Context) (Readiness, error)
	Figures(ctx context.Context) (map[string]float64, error)
}

// IngestBatch is the number of samples per Ingest call.
const IngestBatch = 5000

// DefaultURL is the Pulse the tools talk to when PULSE_URL is not set:
// what `make run` serves.
const DefaultURL = "http://localhost:8080"

// Query is one page's request; zero fields take Pulse's defaults.
type Query struct {
	Name       string
	Tags       map[string]string
	Start, End time.Time
	Interval   string
	Agg        string
	MaxPoints  int
	Cursor     string
}

// QueryPage, Series and Point are GET /api/metrics/query's answer.
type QueryPage struct {
	Name       string   `json:"name"`
	Interval   string   `json:"interval"`
	Agg        string   `json:"agg"`
	Series     []Series `json:"series"`
	NextCursor *string  `json:"next_cursor"`
}

type Series struct {
	Tags   map[string]string `json:"tags"`
	Points []Point           `json:"points"`
}

type Point struct {
	TS    int64   `json:"ts" jsonschema:"Unix milliseconds (a rollup bucket's start)"`
	Value float64 `json:"value"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Count int64   `json:"count"`
}

// Names is GET /api/metrics/names's answer.
type Names struct {
	Names []NameInfo `json:"names"`
	More  bool       `json:"more" jsonschema:"further names match the prefix"`
}

type NameInfo struct {
	Name string    `json:"name"`
	Tags []TagInfo `json:"tags"`
}

type TagInfo struct {
	Key        string   `json:"key"`
	Values     []string `json:"values" jsonschema:"the first values in byte order (at most 10)"`
	MoreValues bool     `json:"more_values"`
}

// AlertFilter narrows GET /api/alerts.
type AlertFilter struct {
	State  string
	RuleID int64
	Cursor string
}

// Readiness is GET /readyz's answer (200 or 503 alike).
type Readiness struct {
	Status   string            `json:"status" jsonschema:"ok, degraded (works, needs an operator) or unavailable"`
	Checks   map[string]string `json:"checks"`
	Failing  []string          `json:"failing,omitempty"`
	Degraded []string          `json:"degraded,omitempty"`
}

// Options tune the server. Where names the Pulse the backend talks to,
// for the tool descriptions; Now is the clock (default time.Now); Logger
// gets the SDK's session logs (default: none).
type Options struct {
	Where   string
	Version string
	Now     func() time.Time
	Logger  *slog.Logger
}

// NewServer returns the MCP server with every tool registered.
func NewServer(b Backend, opts Options) *mcpsdk.Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	// The descriptions say where the tools act and how that was chosen.
	at := opts.Where + " (PULSE_URL; " + DefaultURL + " when unset)"
	s := mcpsdk.NewServer(&mcpsdk.Implementation{Name: "pulse", Title: "Pulse metrics", Version: opts.Version}, &mcpsdk.ServerOptions{
		Logger:       opts.Logger,
		Instructions: "Tools of one Pulse tenant (the token's) at " + at + ": generate synthetic metrics, query and list them, read and create alert rules, read Pulse's health.",
	})
	t := &tools{b: b, now: opts.Now, where: opts.Where, at: at}
	t.addBurst(s)
	t.addQuery(s)
	t.addNames(s)
	t.addAlerts(s)
	t.addHealth(s)
	return s
}

// tools carries what every handler shares.
type tools struct {
	b     Backend
	now   func() time.Time
	where string // the URL
	at    string // the URL and how it was chosen, for descriptions
}

// readOnly and writes are the tools' annotations.
func readOnly(title string) *mcpsdk.ToolAnnotations {
	no := false
	return &mcpsdk.ToolAnnotations{Title: title, ReadOnlyHint: true, IdempotentHint: true, DestructiveHint: &no}
}

func writes(title string, idempotent bool) *mcpsdk.ToolAnnotations {
	no := false
	return &mcpsdk.ToolAnnotations{Title: title, IdempotentHint: idempotent, DestructiveHint: &no}
}
