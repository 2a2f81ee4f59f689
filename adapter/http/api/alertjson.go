package api

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

// ruleBody is a rule on the wire (the contract of docs/architecture.md:
// fields are added, never renamed). Durations are Go duration strings.
type ruleBody struct {
	Name          string            `json:"name"`
	Metric        string            `json:"metric"`
	Matchers      []matcherBody     `json:"matchers"`
	Agg           string            `json:"agg"`
	Window        string            `json:"window"`
	Op            string            `json:"op"`
	Threshold     *float64          `json:"threshold"`
	Cadence       string            `json:"cadence"`
	For           string            `json:"for"`
	KeepFiringFor string            `json:"keep_firing_for"`
	NoData        string            `json:"no_data"`
	GroupBy       []string          `json:"group_by"`
	Severity      string            `json:"severity"`
	Labels        map[string]string `json:"labels"`
	Annotations   map[string]string `json:"annotations"`
	Channels      []int64           `json:"channels"`
	Paused        bool              `json:"paused"`
}

type matcherBody struct {
	Tag   string `json:"tag"`
	Op    string `json:"op"`
	Value string `json:"value"`
}

// ruleAnswer is a stored rule: the body plus what evaluations left.
type ruleAnswer struct {
	ID int64 `json:"id"`
	ruleBody
	State            alert.State `json:"state"`
	Firing           int         `json:"firing"`
	LastEvaluatedAt  *string     `json:"last_evaluated_at"`
	NextEvaluationAt *string     `json:"next_evaluation_at"`
	LastError        string      `json:"last_error"`
	CreatedAt        *string     `json:"created_at"`
	UpdatedAt        *string     `json:"updated_at"`
}

// toRule reads a body into a rule, with every field it could not parse
// (durations, a missing threshold) by its JSON name.
func (b ruleBody) toRule() (alert.Rule, alert.FieldErrors) {
	bad := alert.FieldErrors{}
	dur := func(field, v string) time.Duration {
		if v == "" {
			return 0
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			bad[field] = fmt.Sprintf("%q is not a duration (e.g. 30s, 5m, 1h)", truncateForMessage(v))
		}
		return d
	}
	r := alert.Rule{
		Name: b.Name, Metric: b.Metric, Agg: alert.Agg(b.Agg), Op: alert.Comparator(b.Op),
		Window: dur("window", b.Window), Cadence: dur("cadence", b.Cadence), For: dur("for", b.For),
		KeepFiringFor: dur("keep_firing_for", b.KeepFiringFor), NoData: alert.NoDataPolicy(b.NoData),
		GroupBy: b.GroupBy, Severity: alert.Severity(b.Severity), Labels: b.Labels, Annotations: b.Annotations,
		Channels: b.Channels, Paused: b.Paused,
	}
	if b.Window == "" {
		bad["window"] = "is required (e.g. 5m)"
	}
	if b.Threshold == nil {
		bad["threshold"] = "is required"
	} else {
		r.Threshold = *b.Threshold
	}
	for _, m := range b.Matchers {
		r.Matchers = append(r.Matchers, alert.Matcher{Tag: m.Tag, Op: alert.MatchOp(m.Op), Value: m.Value})
	}
	return r, bad
}

func truncateForMessage(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// invalidRule merges the adapter's parse errors with the domain's
// validation, so one answer lists every bad field.
func invalidRule(r alert.Rule, parse alert.FieldErrors, p alert.Policy) error {
	n := r.Normalize()
	all := alert.FieldErrors{}
	if err := n.Validate(p); err != nil {
		if ie, ok := err.(*alert.InvalidRuleError); ok {
			all = ie.Fields
		}
	}
	for k, v := range parse {
		all[k] = v
	}
	return &alert.InvalidRuleError{Fields: all}
}

func bodyOf(r alert.Rule) ruleBody {
	th := r.Threshold
	b := ruleBody{
		Name: r.Name, Metric: r.Metric, Agg: string(r.Agg), Window: shortDuration(r.Window), Op: string(r.Op),
		Threshold: &th, Cadence: shortDuration(r.Cadence), For: shortDuration(r.For),
		KeepFiringFor: shortDuration(r.KeepFiringFor), NoData: string(r.NoData), GroupBy: r.GroupBy,
		Severity: string(r.Severity), Labels: r.Labels, Annotations: r.Annotations, Channels: r.Channels,
		Paused: r.Paused, Matchers: make([]matcherBody, 0, len(r.Matchers)),
	}
	for _, m := range r.Matchers {
		b.Matchers = append(b.Matchers, matcherBody{Tag: m.Tag, Op: string(m.Op), Value: m.Value})
	}
	if b.GroupBy == nil {
		b.GroupBy = []string{}
	}
	if b.Labels == nil {
		b.Labels = map[string]string{}
	}
	if b.Annotations == nil {
		b.Annotations = map[string]string{}
	}
	if b.Channels == nil {
		b.Channels = []int64{}
	}
	return b
}

func ruleAnswerOf(r alerting.StoredRule) ruleAnswer {
	a := ruleAnswer{
		ID: r.ID, ruleBody: bodyOf(r.Rule), State: r.State, Firing: r.Firing, LastError: r.LastError,
		LastEvaluatedAt: msTime(r.LastEvaluatedAt), CreatedAt: msTime(r.CreatedAt), UpdatedAt: msTime(r.UpdatedAt),
	}
	if a.State == "" {
		a.State = alert.Normal
	}
	if !r.Paused {
		a.NextEvaluationAt = msTime(r.NextEvalAt)
	}
	return a
}

// shortDuration writes 5m for 5m0s and 1h for 1h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// rfc3339ms is how alert times are written.
const rfc3339ms = "2006-01-02T15:04:05.000Z07:00"

func msTime(ms int64) *string {
	if ms <= 0 {
		return nil
	}
	s := time.UnixMilli(ms).UTC().Format(rfc3339ms)
	return &s
}

func tagMap(t metric.Tags) map[string]string {
	m := t.Map()
	if m == nil {
		m = map[string]string{}
	}
	return m
}

func valueOf(v float64, has bool) *float64 {
	if !has {
		return nil
	}
	return &v
}

type episodeAnswer struct {
	ID           int64             `json:"id"`
	RuleID       int64             `json:"rule_id"`
	Instance     string            `json:"instance"`
	Labels       map[string]string `json:"labels"`
	FiredAt      *string           `json:"fired_at"`
	ResolvedAt   *string           `json:"resolved_at"`
	SampleValues []sampleValue     `json:"sample_values"`
}

type sampleValue struct {
	TS    string  `json:"ts"`
	Value float64 `json:"value"`
}

func episodeOf(e alerting.Episode) episodeAnswer {
	a := episodeAnswer{ID: e.ID, RuleID: e.RuleID, Instance: e.InstanceKey, Labels: tagMap(e.Labels),
		FiredAt: msTime(e.FiredAt), ResolvedAt: msTime(e.ResolvedAt), SampleValues: make([]sampleValue, 0, len(e.SampleValues))}
	for _, v := range e.SampleValues {
		a.SampleValues = append(a.SampleValues, sampleValue{TS: *msTime(max(v.TS, 1)), Value: v.Value})
	}
	return a
}

type instanceAnswer struct {
	ID              int64             `json:"id"`
	RuleID          int64             `json:"rule_id"`
	RuleName        string            `json:"rule_name"`
	Instance        string            `json:"instance"`
	Labels          map[string]string `json:"labels"`
	State           alert.State       `json:"state"`
	Value           *float64          `json:"value"`
	Since           *string           `json:"since"`
	ActiveSince     *string           `json:"active_since"`
	LastEvaluatedAt *string           `json:"last_evaluated_at"`
	Episode         *episodeAnswer    `json:"episode"`
}

func instanceOf(r alerting.InstanceRow) instanceAnswer {
	a := instanceAnswer{ID: r.ID, RuleID: r.RuleID, RuleName: r.RuleName, Instance: r.Key, Labels: tagMap(r.Labels),
		State: r.State, Value: valueOf(r.Value, r.HasValue), Since: msTime(r.Since), ActiveSince: msTime(r.ActiveAt),
		LastEvaluatedAt: msTime(r.LastEval)}
	if r.Episode != nil {
		e := episodeOf(*r.Episode)
		a.Episode = &e
	}
	return a
}

type transitionAnswer struct {
	ID       int64             `json:"id,omitempty"`
	Instance string            `json:"instance"`
	Labels   map[string]string `json:"labels"`
	From     alert.State       `json:"from"`
	To       alert.State       `json:"to"`
	At       *string           `json:"at"`
	Value    *float64          `json:"value"`
	Note     string            `json:"note,omitempty"`
}

func historyOf(h alerting.HistoryEntry) transitionAnswer {
	return transitionAnswer{ID: h.ID, Instance: h.InstanceKey, Labels: tagMap(h.Labels), From: h.From, To: h.To,
		At: msTime(h.At), Value: valueOf(h.Value, h.HasValue), Note: h.Note}
}

type previewBody struct {
	Rule  ruleBody `json:"rule"`
	Start string   `json:"start"`
	End   string   `json:"end"`
}

type intervalAnswer struct {
	Instance string            `json:"instance"`
	Labels   map[string]string `json:"labels"`
	Start    *string           `json:"start"`
	End      *string           `json:"end"`
}

type previewAnswer struct {
	Evaluations   int                `json:"evaluations"`
	Fired         int                `json:"fired"`
	Notifications int                `json:"notifications"`
	Transitions   []transitionAnswer `json:"transitions"`
	Intervals     []intervalAnswer   `json:"intervals"`
}

func previewOf(p alert.PreviewResult) previewAnswer {
	a := previewAnswer{Evaluations: p.Evaluations, Fired: p.Fired, Notifications: p.Notifications,
		Transitions: make([]transitionAnswer, 0, len(p.Transitions)), Intervals: make([]intervalAnswer, 0, len(p.Intervals))}
	for _, t := range p.Transitions {
		a.Transitions = append(a.Transitions, transitionAnswer{Instance: t.Key, Labels: tagMap(t.Labels), From: t.From, To: t.To,
			At: msTime(t.At), Value: valueOf(t.Value, t.HasValue)})
	}
	for _, iv := range p.Intervals {
		a.Intervals = append(a.Intervals, intervalAnswer{Instance: iv.Key, Labels: tagMap(iv.Labels), Start: msTime(iv.Start), End: msTime(iv.End)})
	}
	return a
}

type outboxAnswer struct {
	ID          int64   `json:"id"`
	RuleID      int64   `json:"rule_id"`
	Kind        string  `json:"kind"`
	Instance    string  `json:"instance"`
	At          *string `json:"at"`
	Payload     rawJSON `json:"payload"`
	CreatedAt   *string `json:"created_at"`
	DeliveredAt *string `json:"delivered_at"`
}

// rawJSON is a stored JSON document written as is.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

func cursorString(next int64) *string {
	if next <= 0 {
		return nil
	}
	s := strconv.FormatInt(next, 10)
	return &s
}
