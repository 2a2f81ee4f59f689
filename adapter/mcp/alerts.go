package mcp

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/google/jsonschema-go/jsonschema"
	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

type alertsInput struct {
	What    string `json:"what,omitempty" jsonschema:"rules (GET /api/alert-rules: each rule with its state and firing count), alerts (GET /api/alerts: the current instances) or both"`
	State   string `json:"state,omitempty" jsonschema:"alerts: only instances in this state"`
	RuleID  int64  `json:"rule_id,omitempty" jsonschema:"alerts: only this rule's instances"`
	Cursor  string `json:"cursor,omitempty" jsonschema:"alerts: the next_cursor of an earlier answer"`
	Page    int    `json:"page,omitempty" jsonschema:"rules: the page (from 1)"`
	PerPage int    `json:"per_page,omitempty" jsonschema:"rules: rules per page"`
}

// The states of an alert instance (openapi AlertState).
var alertStates = []string{"normal", "pending", "firing", "recovering", "nodata", "error"}

func (t *tools) addAlerts(s *mcpsdk.Server) {
	in := schemaFor[alertsInput](func(p map[string]*jsonschema.Schema) {
		enum(p["what"], "both", "rules", "alerts")
		def(p["what"], "both")
		enum(p["state"], alertStates...)
		between(p["rule_id"], 0, 1<<53)
		between(p["page"], 0, 1<<31-1)
		between(p["per_page"], 0, 1000)
	})
	mcpsdk.AddTool(s, &mcpsdk.Tool{
		Name: "list_alerts",
		Description: "Read the token's tenant's alerting at " + t.at + ": the rules (GET /api/alert-rules, with each rule's state, " +
			"firing count and last evaluation) and the current alert instances (GET /api/alerts, with value, state and open episode), as Pulse returns them.",
		InputSchema: in,
		Annotations: readOnly("List alert rules and alerts"),
	}, t.listAlerts)

	rule := schemaFor[ruleInput](func(p map[string]*jsonschema.Schema) {
		enum(p["agg"], "avg", "min", "max", "sum", "count", "last")
		enum(p["op"], ">", ">=", "<", "<=", "==", "!=")
		enum(p["no_data"], "nodata", "alerting", "ok", "keep_last")
		enum(p["severity"], "info", "warning", "critical")
		enum(p["matchers"].Items.Properties["op"], "=", "!=", "=~", "!~")
	})
	mcpsdk.AddTool(s, &mcpsdk.Tool{
		Name: "create_alert_rule",
		Description: "Create an alert rule for the token's tenant at " + t.at + " (POST /api/alert-rules; the token needs the admin scope). " +
			"The fields are the API's Rule: absent ones take Pulse's defaults (agg avg, cadence 1m, for 0s, keep_firing_for 0s, " +
			"no_data nodata, severity warning). Returns the stored rule with its id; a bad field is an error naming every bad field.",
		InputSchema: rule,
		Annotations: writes("Create an alert rule", false),
	}, t.createRule)
}

func (t *tools) listAlerts(ctx context.Context, _ *mcpsdk.CallToolRequest, in alertsInput) (*mcpsdk.CallToolResult, any, error) {
	out := map[string]json.RawMessage{}
	if in.What != "alerts" {
		raw, err := t.b.AlertRules(ctx, in.Page, in.PerPage)
		if err != nil {
			return nil, nil, err
		}
		out["rules"] = raw
	}
	if in.What != "rules" {
		raw, err := t.b.Alerts(ctx, AlertFilter{State: in.State, RuleID: in.RuleID, Cursor: in.Cursor})
		if err != nil {
			return nil, nil, err
		}
		out["alerts"] = raw
	}
	return nil, out, nil
}

type matcher struct {
	Tag   string `json:"tag" jsonschema:"a tag key"`
	Op    string `json:"op" jsonschema:"equal (=), not equal (!=), matches the RE2 regular expression, anchored (=~), does not match (!~)"`
	Value string `json:"value"`
}

// ruleInput is openapi's Rule; omitted fields stay out of the JSON sent,
// so Pulse applies its defaults and its validation.
type ruleInput struct {
	Name          string            `json:"name" jsonschema:"the rule's name (1-200 characters)"`
	Metric        string            `json:"metric" jsonschema:"the metric the rule reads"`
	Matchers      []matcher         `json:"matchers,omitempty" jsonschema:"pick the metric's series by tag; all must hold (at most 20)"`
	Agg           string            `json:"agg,omitempty" jsonschema:"the aggregate over the window; default avg"`
	Window        string            `json:"window" jsonschema:"Go duration the aggregate is read over, 10s to 24h, at least the cadence (e.g. 5m)"`
	Op            string            `json:"op" jsonschema:"compares the aggregate with the threshold"`
	Threshold     float64           `json:"threshold"`
	Cadence       string            `json:"cadence,omitempty" jsonschema:"Go duration between evaluations (10s to 24h by default); default 1m"`
	For           string            `json:"for,omitempty" jsonschema:"Go duration a breach lasts (pending) before it fires, 0s to 168h; default 0s"`
	KeepFiringFor string            `json:"keep_firing_for,omitempty" jsonschema:"Go duration a firing instance stays firing once healthy, 0s to 168h; default 0s"`
	NoData        string            `json:"no_data,omitempty" jsonschema:"what a window without samples means; default nodata"`
	GroupBy       []string          `json:"group_by,omitempty" jsonschema:"tag keys: one alert instance per group (none: one per series)"`
	Severity      string            `json:"severity,omitempty" jsonschema:"default warning"`
	Labels        map[string]string `json:"labels,omitempty" jsonschema:"added to every notification"`
	Annotations   map[string]string `json:"annotations,omitempty" jsonschema:"Go templates rendered per notification, e.g. {\"summary\": \"{{.Labels.host}} at {{.Value}}\"}"`
	Channels      []int64           `json:"channels,omitempty" jsonschema:"notification channel ids"`
	Paused        bool              `json:"paused,omitempty" jsonschema:"a paused rule is not evaluated"`
}

func (t *tools) createRule(ctx context.Context, _ *mcpsdk.CallToolRequest, in ruleInput) (*mcpsdk.CallToolResult, any, error) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false) // the rule as written: ">" stays ">"
	if err := enc.Encode(in); err != nil {
		return nil, nil, err
	}
	stored, err := t.b.CreateAlertRule(ctx, bytes.TrimSpace(body.Bytes()))
	if err != nil {
		return nil, nil, err
	}
	return nil, stored, nil
}
