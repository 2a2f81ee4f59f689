package dashboard

import (
	"fmt"
	"strings"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/rollup"
)

// Agg is how a widget aggregates points within a bucket: the query API's
// aggregate (the widget's chart asks for it).
type Agg = rollup.Agg

// Chart is how a widget is drawn.
type Chart string

// The aggregations and chart types.
const (
	AggAvg   = rollup.AggAvg
	AggMin   = rollup.AggMin
	AggMax   = rollup.AggMax
	AggSum   = rollup.AggSum
	AggCount = rollup.AggCount

	ChartLine Chart = "line"
	ChartArea Chart = "area"
	ChartBar  Chart = "bar"
)

// Widget is one chart of a dashboard.
type Widget struct {
	ID          int64
	DashboardID int64
	Title       string
	Metric      string
	Tags        map[string]string
	Agg         Agg
	Chart       Chart
	Position    int
}

// WidgetSpec is a widget as a form sends it. Empty Agg and Chart take avg
// and line; an empty Title takes the metric name.
type WidgetSpec struct {
	Title  string
	Metric string
	Tags   map[string]string
	Agg    string
	Chart  string
}

// NewWidget validates spec and returns the widget (without ids or
// position), or a *ValidationError naming every bad field.
func NewWidget(spec WidgetSpec) (Widget, error) {
	fields := map[string]string{}
	title := strings.TrimSpace(spec.Title)
	if title == "" {
		title = spec.Metric
	}
	if msg := checkText("title", title, 0, MaxTitleChars); msg != "" {
		fields["title"] = msg
	}
	lim := metric.DefaultLimits()
	// A sample with this name and tags would be valid: the same rules.
	_, errs := metric.New(metric.Input{Name: spec.Metric, Value: 0, HasValue: true, Tags: spec.Tags}, lim, time.Unix(0, 0))
	for _, fe := range errs {
		switch {
		case fe.Field == "name":
			fields["metric"] = strings.Replace(fe.Message, "name", "metric", 1)
		case strings.HasPrefix(fe.Field, "tags"):
			if _, seen := fields["tags"]; !seen {
				fields["tags"] = tagMessage(fe)
			}
		}
	}
	agg, err := rollup.ParseAgg(spec.Agg) // "" is avg
	if err != nil {
		fields["agg"] = "agg must be one of avg, min, max, sum, count"
	}
	chart := Chart(spec.Chart)
	switch chart {
	case "":
		chart = ChartLine
	case ChartLine, ChartArea, ChartBar:
	default:
		fields["chart"] = "chart must be one of line, area, bar"
	}
	if len(fields) > 0 {
		return Widget{}, &ValidationError{Fields: fields}
	}
	tags := make(map[string]string, len(spec.Tags))
	for k, v := range spec.Tags {
		tags[k] = v
	}
	return Widget{Title: title, Metric: spec.Metric, Tags: tags, Agg: agg, Chart: chart}, nil
}

func tagMessage(fe metric.FieldError) string {
	if key, ok := strings.CutPrefix(fe.Field, "tags."); ok {
		return fmt.Sprintf("tag %q: %s", key, fe.Message)
	}
	return strings.Replace(fe.Message, "per sample", "per widget", 1)
}
