// Package alert holds Pulse's alerting rules and their pure logic: a rule's
// validation, the matchers that pick its series, the aggregate it reads over
// a window, the state machine of its instances, the annotation templates,
// the aligned evaluation times and the preview over past data. It knows no
// I/O and no clock: every function is given the time.
package alert

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"time"
)

// Agg is the aggregate a rule reads over its window.
type Agg string

// The aggregates a rule may read.
const (
	AggAvg   Agg = "avg"
	AggMin   Agg = "min"
	AggMax   Agg = "max"
	AggSum   Agg = "sum"
	AggCount Agg = "count"
	AggLast  Agg = "last"
)

// Aggs lists every aggregate, for messages and the UI.
var Aggs = []Agg{AggAvg, AggMin, AggMax, AggSum, AggCount, AggLast}

// Comparator compares the aggregate with the threshold.
type Comparator string

// The comparators.
const (
	GT Comparator = ">"
	GE Comparator = ">="
	LT Comparator = "<"
	LE Comparator = "<="
	EQ Comparator = "=="
	NE Comparator = "!="
)

// Comparators lists every comparator.
var Comparators = []Comparator{GT, GE, LT, LE, EQ, NE}

// Breaches reports whether value against threshold meets the condition.
func (c Comparator) Breaches(value, threshold float64) bool {
	switch c {
	case GT:
		return value > threshold
	case GE:
		return value >= threshold
	case LT:
		return value < threshold
	case LE:
		return value <= threshold
	case EQ:
		return value == threshold
	case NE:
		return value != threshold
	}
	return false
}

// NoDataPolicy says what a window without samples means.
type NoDataPolicy string

// The no-data policies (Grafana's names).
const (
	NoDataState    NoDataPolicy = "nodata"    // the instance goes NoData (and notifies)
	NoDataAlerting NoDataPolicy = "alerting"  // counts as a breach
	NoDataOK       NoDataPolicy = "ok"        // counts as healthy
	NoDataKeepLast NoDataPolicy = "keep_last" // the instance keeps its state
)

// NoDataPolicies lists every policy.
var NoDataPolicies = []NoDataPolicy{NoDataState, NoDataAlerting, NoDataOK, NoDataKeepLast}

// Severity ranks a rule.
type Severity string

// The severities.
const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Severities lists every severity.
var Severities = []Severity{SeverityInfo, SeverityWarning, SeverityCritical}

// Window bounds.
const (
	MinWindow = 10 * time.Second
	MaxWindow = 24 * time.Hour
	// MaxFor bounds for and keep_firing_for.
	MaxFor = 7 * 24 * time.Hour
	// DefaultCadence is a rule's evaluation interval when none is given.
	DefaultCadence = time.Minute
	// DefaultMinCadence is PULSE_ALERT_MIN_CADENCE's default.
	DefaultMinCadence = 10 * time.Second
	// MaxCadence bounds the evaluation interval.
	MaxCadence = 24 * time.Hour
)

// Size limits of user input.
const (
	MaxNameLen        = 200
	MaxMatchers       = 20
	MaxGroupBy        = 10
	MaxLabels         = 30
	MaxAnnotations    = 20
	MaxTemplateLen    = 4096
	MaxChannels       = 20
	maxLabelKeyLen    = 100
	maxLabelValueLen  = 1000
	maxMatcherValue   = 1000
	maxRenderedOutput = 8192
)

// Rule is an alerting rule. Durations are whole milliseconds or more.
type Rule struct {
	ID            int64
	TenantID      int64
	Name          string
	Metric        string
	Matchers      Matchers
	Agg           Agg
	Window        time.Duration
	Op            Comparator
	Threshold     float64
	Cadence       time.Duration
	For           time.Duration
	KeepFiringFor time.Duration
	NoData        NoDataPolicy
	GroupBy       []string
	Severity      Severity
	Labels        map[string]string
	Annotations   map[string]string
	Channels      []int64
	Paused        bool
}

// FieldErrors maps a rule's JSON field name to what is wrong with it.
type FieldErrors map[string]string

// InvalidRuleError lists every bad field of a rule (HTTP 422).
type InvalidRuleError struct{ Fields FieldErrors }

func (e *InvalidRuleError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	msg := "invalid rule:"
	for i, k := range keys {
		if i > 0 {
			msg += ";"
		}
		msg += " " + k + ": " + e.Fields[k]
	}
	return msg
}

// Policy is what a deployment allows (PULSE_ALERT_MIN_CADENCE).
type Policy struct {
	MinCadence time.Duration
}

// Normalize fills a rule's defaults: cadence 1 m, agg avg, no-data
// "nodata", severity warning, empty maps.
func (r Rule) Normalize() Rule {
	if r.Cadence == 0 {
		r.Cadence = DefaultCadence
	}
	if r.Agg == "" {
		r.Agg = AggAvg
	}
	if r.NoData == "" {
		r.NoData = NoDataState
	}
	if r.Severity == "" {
		r.Severity = SeverityWarning
	}
	return r.WithEmptyCollections()
}

// WithEmptyCollections gives r's maps and slices empty values instead of
// nil (a rule read back or answered has [] and {}, never null).
func (r Rule) WithEmptyCollections() Rule {
	if r.Labels == nil {
		r.Labels = map[string]string{}
	}
	if r.Annotations == nil {
		r.Annotations = map[string]string{}
	}
	if r.Matchers == nil {
		r.Matchers = Matchers{}
	}
	if r.GroupBy == nil {
		r.GroupBy = []string{}
	}
	if r.Channels == nil {
		r.Channels = []int64{}
	}
	return r
}

// Validate checks a normalized rule and compiles its matchers; it answers
// an *InvalidRuleError naming every bad field, or nil.
func (r *Rule) Validate(p Policy) error {
	if p.MinCadence <= 0 {
		p.MinCadence = DefaultMinCadence
	}
	bad := FieldErrors{}
	if r.Name == "" || len(r.Name) > MaxNameLen {
		bad["name"] = fmt.Sprintf("is required, at most %d characters", MaxNameLen)
	}
	if err := validMetricName(r.Metric); err != "" {
		bad["metric"] = err
	}
	if len(r.Matchers) > MaxMatchers {
		bad["matchers"] = fmt.Sprintf("at most %d matchers", MaxMatchers)
	}
	for i := range r.Matchers {
		if err := r.Matchers[i].compile(); err != nil {
			bad[fmt.Sprintf("matchers[%d]", i)] = err.Error()
		}
	}
	if !slices.Contains(Aggs, r.Agg) {
		bad["agg"] = fmt.Sprintf("must be one of %v", Aggs)
	}
	if !slices.Contains(Comparators, r.Op) {
		bad["op"] = fmt.Sprintf("must be one of %v", Comparators)
	}
	if math.IsNaN(r.Threshold) || math.IsInf(r.Threshold, 0) {
		bad["threshold"] = "must be a finite number"
	}
	switch {
	case r.Cadence < p.MinCadence:
		bad["cadence"] = fmt.Sprintf("must be at least %s (PULSE_ALERT_MIN_CADENCE)", p.MinCadence)
	case r.Cadence > MaxCadence:
		bad["cadence"] = "must be at most 24h"
	case r.Cadence%time.Second != 0:
		bad["cadence"] = "must be whole seconds"
	}
	switch {
	case r.Window < MinWindow || r.Window > MaxWindow:
		bad["window"] = "must be between 10s and 24h"
	case r.Window%time.Second != 0:
		bad["window"] = "must be whole seconds"
	case r.Window < r.Cadence:
		// A window shorter than the cadence leaves samples that no
		// evaluation reads: they could breach and never be seen.
		bad["window"] = fmt.Sprintf("must be at least the cadence (%s), or samples between evaluations are never read", r.Cadence)
	}
	if r.For < 0 || r.For > MaxFor {
		bad["for"] = "must be between 0s and 168h (7 days)"
	}
	if r.KeepFiringFor < 0 || r.KeepFiringFor > MaxFor {
		bad["keep_firing_for"] = "must be between 0s and 168h (7 days)"
	}
	if !slices.Contains(NoDataPolicies, r.NoData) {
		bad["no_data"] = fmt.Sprintf("must be one of %v", NoDataPolicies)
	}
	if len(r.GroupBy) > MaxGroupBy {
		bad["group_by"] = fmt.Sprintf("at most %d tag keys", MaxGroupBy)
	}
	for i, k := range r.GroupBy {
		if k == "" || len(k) > maxLabelKeyLen || slices.Contains(r.GroupBy[:i], k) {
			bad["group_by"] = "tag keys must be non-empty, distinct and at most 100 characters"
		}
	}
	if !slices.Contains(Severities, r.Severity) {
		bad["severity"] = fmt.Sprintf("must be one of %v", Severities)
	}
	if msg := validPairs(r.Labels, MaxLabels, maxLabelValueLen); msg != "" {
		bad["labels"] = msg
	}
	if msg := validPairs(r.Annotations, MaxAnnotations, MaxTemplateLen); msg != "" {
		bad["annotations"] = msg
	}
	for k, v := range r.Annotations {
		if len(v) > MaxTemplateLen {
			bad["annotations."+k] = fmt.Sprintf("at most %d characters", MaxTemplateLen)
		} else if _, err := parseTemplate(v); err != nil {
			bad["annotations."+k] = err.Error()
		}
	}
	if len(r.Channels) > MaxChannels {
		bad["channels"] = fmt.Sprintf("at most %d channels", MaxChannels)
	}
	for _, c := range r.Channels {
		if c <= 0 {
			bad["channels"] = "channel ids are positive integers"
		}
	}
	if len(bad) > 0 {
		return &InvalidRuleError{Fields: bad}
	}
	return nil
}

func validPairs(m map[string]string, maxEntries, maxValue int) string {
	if len(m) > maxEntries {
		return fmt.Sprintf("at most %d entries", maxEntries)
	}
	for k, v := range m {
		if k == "" || len(k) > maxLabelKeyLen || len(v) > maxValue {
			return fmt.Sprintf("keys must be 1 to %d characters, values at most %d", maxLabelKeyLen, maxValue)
		}
	}
	return ""
}

var metricNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:\-]*$`)

func validMetricName(name string) string {
	if name == "" {
		return "is required"
	}
	if len(name) > 255 || !metricNameRE.MatchString(name) {
		return "must be a metric name ([A-Za-z_][A-Za-z0-9_.:-]*, at most 255 bytes)"
	}
	return ""
}
