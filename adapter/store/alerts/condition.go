package alerts

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
)

// ruleCols are the columns of an alert.Rule, then next_eval_at (scanRule).
const ruleCols = "r.id, r.tenant_id, r.name, r.metric, r.condition_json, r.`window`, r.cadence, r.paused, r.next_eval_at"

// condition is condition_json: every field of a rule that has no column of
// its own. Durations are milliseconds.
type condition struct {
	Matchers        []matcher          `json:"matchers"`
	Agg             alert.Agg          `json:"agg"`
	Op              alert.Comparator   `json:"op"`
	Threshold       float64            `json:"threshold"`
	ForMS           int64              `json:"for_ms"`
	KeepFiringForMS int64              `json:"keep_firing_for_ms"`
	NoData          alert.NoDataPolicy `json:"no_data"`
	GroupBy         []string           `json:"group_by"`
	Severity        alert.Severity     `json:"severity"`
	Labels          map[string]string  `json:"labels"`
	Annotations     map[string]string  `json:"annotations"`
	Channels        []int64            `json:"channels"`
}

type matcher struct {
	Tag   string        `json:"tag"`
	Op    alert.MatchOp `json:"op"`
	Value string        `json:"value"`
}

func conditionJSON(r alert.Rule) (string, error) {
	r = r.WithEmptyCollections()
	c := condition{
		Matchers: make([]matcher, len(r.Matchers)), Agg: r.Agg, Op: r.Op, Threshold: r.Threshold,
		ForMS: r.For.Milliseconds(), KeepFiringForMS: r.KeepFiringFor.Milliseconds(), NoData: r.NoData,
		GroupBy: r.GroupBy, Severity: r.Severity, Labels: r.Labels, Annotations: r.Annotations, Channels: r.Channels,
	}
	for i, m := range r.Matchers {
		c.Matchers[i] = matcher{Tag: m.Tag, Op: m.Op, Value: m.Value}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("condition: %w", err)
	}
	return string(b), nil
}

// permissive validates nothing a stored rule could fail on its cadence:
// reading a rule back runs Validate only to compile its matchers.
var permissive = alert.Policy{MinCadence: time.Nanosecond}

func parseCondition(r *alert.Rule, s string) error {
	var c condition
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return fmt.Errorf("rule %d: condition: %w", r.ID, err)
	}
	r.Matchers = make(alert.Matchers, len(c.Matchers))
	for i, m := range c.Matchers {
		r.Matchers[i] = alert.Matcher{Tag: m.Tag, Op: m.Op, Value: m.Value}
	}
	r.Agg, r.Op, r.Threshold = c.Agg, c.Op, c.Threshold
	r.For, r.KeepFiringFor = time.Duration(c.ForMS)*time.Millisecond, time.Duration(c.KeepFiringForMS)*time.Millisecond
	r.NoData, r.GroupBy, r.Severity = c.NoData, c.GroupBy, c.Severity
	r.Labels, r.Annotations, r.Channels = c.Labels, c.Annotations, c.Channels
	*r = (*r).WithEmptyCollections()
	// Validate compiles every matcher whatever else it finds: a rule stored
	// under an older policy (or limits) still matches what it matched.
	_ = r.Validate(permissive)
	return nil
}

type scanner interface{ Scan(dest ...any) error }

// scanRule reads ruleCols and then extra.
func scanRule(sc scanner, extra ...any) (alert.Rule, int64, error) {
	var (
		r               alert.Rule
		cond            string
		window, cadence int64
		next            int64
	)
	dest := append([]any{&r.ID, &r.TenantID, &r.Name, &r.Metric, &cond, &window, &cadence, &r.Paused, &next}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return alert.Rule{}, 0, err
	}
	r.Window, r.Cadence = time.Duration(window)*time.Millisecond, time.Duration(cadence)*time.Millisecond
	if err := parseCondition(&r, cond); err != nil {
		return alert.Rule{}, 0, err
	}
	return r, next, nil
}
