package email

import (
	"bytes"
	"fmt"
	"html/template"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The statuses of an alert and of a group: the outbox's notification kinds.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
	StatusNoData   = "nodata"
)

var statusTitles = map[string]string{
	StatusFiring:   "FIRING",
	StatusResolved: "RESOLVED",
	StatusNoData:   "NO DATA",
}

// Alert is one alert instance to tell about (the fields of slack.Alert).
type Alert struct {
	Rule        string
	RuleURL     string // the rule's page in Pulse; left out unless http(s)
	Status      string // firing, resolved or nodata; "" is the group's status
	Severity    string // info, warning or critical
	Instance    string
	Labels      map[string]string
	Annotations map[string]string // the rule's rendered templates (summary, description…)
	Value       *float64          // nil when there was no value (no data)
	Threshold   float64
	Condition   string // e.g. "avg(cpu)[5m] > 90"
	At          time.Time
}

// Message is a rendered email: a header-safe subject and both parts.
type Message struct {
	Subject, Text, HTML string
}

// Caps on user fields and on the message, so one alert storm or one long
// label cannot make a mail that servers refuse or readers cannot scan.
const (
	MaxSubject      = 200 // runes
	MaxAlertsShown  = 50
	maxRuleName     = 200
	maxInstance     = 300
	maxCondition    = 300
	maxWord         = 40
	maxLabelKey     = 100
	maxLabelValue   = 500
	maxLabels       = 50
	maxAnnotation   = 2000
	maxAnnotations  = 20
	maxURL          = 2000
	timeLayout      = "2006-01-02 15:04:05 UTC"
	unnamedRuleName = "(unnamed rule)"
)

// Render makes the email for a group of alerts of one rule (the rule and
// link come from the first). An empty group still renders (a subject and
// "no alerts"); the caller decides whether to send it.
func Render(alerts []Alert, groupStatus string) Message {
	v := view{Status: statusTitle(groupStatus), Count: len(alerts)}
	if len(alerts) > 0 {
		v.Rule = ruleName(alerts[0].Rule)
		v.URL = ruleLink(alerts[0].RuleURL)
	} else {
		v.Rule = unnamedRuleName
	}
	for i, a := range alerts {
		if i == MaxAlertsShown {
			v.More = len(alerts) - i
			break
		}
		v.Alerts = append(v.Alerts, alertView(a, groupStatus))
	}
	subject := fmt.Sprintf("[%s] %s (%d)", v.Status, v.Rule, len(alerts))
	return Message{
		Subject: clip(oneLine(subject), MaxSubject),
		Text:    renderText(v),
		HTML:    renderHTML(v),
	}
}

type view struct {
	Status string // FIRING, RESOLVED, NO DATA
	Rule   string
	URL    string
	Count  int
	Alerts []alertRow
	More   int // alerts not shown
}

type alertRow struct {
	Status      string // set when it differs from the group's
	Instance    string
	Severity    string
	Value       string // "93.5" or "none"
	Threshold   string
	Condition   string
	At          string
	Annotations []pair
	Labels      []pair
	MoreLabels  int
	MoreNotes   int
}

type pair struct{ Key, Value string }

func alertView(a Alert, group string) alertRow {
	r := alertRow{
		Instance:  field(a.Instance, maxInstance),
		Severity:  field(a.Severity, maxWord),
		Value:     "none",
		Threshold: formatNumber(a.Threshold),
		Condition: field(a.Condition, maxCondition),
	}
	if a.Status != "" && a.Status != group {
		r.Status = statusTitle(a.Status)
	}
	if a.Value != nil {
		r.Value = formatNumber(*a.Value)
	}
	if !a.At.IsZero() {
		r.At = a.At.UTC().Format(timeLayout)
	}
	for i, k := range annotationKeys(a.Annotations) {
		if i == maxAnnotations {
			r.MoreNotes = len(a.Annotations) - i
			break
		}
		r.Annotations = append(r.Annotations, pair{field(k, maxLabelKey), field(a.Annotations[k], maxAnnotation)})
	}
	for i, k := range slices.Sorted(maps.Keys(a.Labels)) {
		if i == maxLabels {
			r.MoreLabels = len(a.Labels) - i
			break
		}
		r.Labels = append(r.Labels, pair{field(k, maxLabelKey), field(a.Labels[k], maxLabelValue)})
	}
	return r
}

func renderText(v view) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", v.Status, v.Rule)
	fmt.Fprintf(&b, "%s\n", countText(v.Count))
	for i, a := range v.Alerts {
		b.WriteString("\n")
		if v.Count > 1 {
			fmt.Fprintf(&b, "Alert %d\n", i+1)
		}
		line := func(k, val string) {
			if val != "" {
				fmt.Fprintf(&b, "  %s: %s\n", k, val)
			}
		}
		line("Status", a.Status)
		line("Instance", a.Instance)
		line("Severity", a.Severity)
		fmt.Fprintf(&b, "  Value: %s (threshold %s)\n", a.Value, a.Threshold)
		line("Condition", a.Condition)
		line("At", a.At)
		for _, n := range a.Annotations {
			line(n.Key, n.Value)
		}
		if a.MoreNotes > 0 {
			fmt.Fprintf(&b, "  … +%d more annotations\n", a.MoreNotes)
		}
		if len(a.Labels) > 0 {
			parts := make([]string, 0, len(a.Labels))
			for _, l := range a.Labels {
				parts = append(parts, l.Key+"="+l.Value)
			}
			more := ""
			if a.MoreLabels > 0 {
				more = fmt.Sprintf(" … +%d more labels", a.MoreLabels)
			}
			fmt.Fprintf(&b, "  Labels: %s%s\n", strings.Join(parts, ", "), more)
		}
	}
	if v.More > 0 {
		fmt.Fprintf(&b, "\n… and %d more %s\n", v.More, plural(v.More, "alert", "alerts"))
	}
	if v.URL != "" {
		fmt.Fprintf(&b, "\nView rule in Pulse: %s\n", v.URL)
	}
	return b.String()
}

var htmlPart = template.Must(template.New("email").Funcs(template.FuncMap{
	"count": countText, "plural": plural, "add1": func(i int) int { return i + 1 },
}).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{.Status}}: {{.Rule}}</title></head>
<body style="font-family:sans-serif;font-size:14px;color:#222">
<h2 style="margin:0 0 4px">{{.Status}}: {{.Rule}}</h2>
<p style="margin:0 0 12px;color:#666">{{count .Count}}</p>
{{- range $i, $a := .Alerts}}
<table style="border-collapse:collapse;margin:0 0 12px" cellpadding="3">
{{- if gt $.Count 1}}
<tr><th colspan="2" style="text-align:left">Alert {{add1 $i}}</th></tr>
{{- end}}
{{- if $a.Status}}
<tr><td><b>Status</b></td><td>{{$a.Status}}</td></tr>
{{- end}}
{{- if $a.Instance}}
<tr><td><b>Instance</b></td><td><code>{{$a.Instance}}</code></td></tr>
{{- end}}
{{- if $a.Severity}}
<tr><td><b>Severity</b></td><td>{{$a.Severity}}</td></tr>
{{- end}}
<tr><td><b>Value</b></td><td><code>{{$a.Value}}</code> (threshold <code>{{$a.Threshold}}</code>)</td></tr>
{{- if $a.Condition}}
<tr><td><b>Condition</b></td><td><code>{{$a.Condition}}</code></td></tr>
{{- end}}
{{- if $a.At}}
<tr><td><b>At</b></td><td>{{$a.At}}</td></tr>
{{- end}}
{{- range $a.Annotations}}
<tr><td><b>{{.Key}}</b></td><td>{{.Value}}</td></tr>
{{- end}}
{{- if $a.MoreNotes}}
<tr><td colspan="2">… +{{$a.MoreNotes}} more annotations</td></tr>
{{- end}}
{{- if $a.Labels}}
<tr><td><b>Labels</b></td><td>{{range $a.Labels}}<code>{{.Key}}={{.Value}}</code> {{end}}{{if $a.MoreLabels}}… +{{$a.MoreLabels}} more labels{{end}}</td></tr>
{{- end}}
</table>
{{- end}}
{{- if .More}}
<p>… and {{.More}} more {{plural .More "alert" "alerts"}}</p>
{{- end}}
{{- if .URL}}
<p><a href="{{.URL}}">View rule in Pulse</a></p>
{{- end}}
</body></html>
`))

func renderHTML(v view) string {
	var b bytes.Buffer
	if err := htmlPart.Execute(&b, v); err != nil {
		// The template and the view are ours: a failure is a bug.
		panic("email: HTML template: " + err.Error())
	}
	return b.String()
}

func countText(n int) string { return fmt.Sprintf("%d %s", n, plural(n, "alert", "alerts")) }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func statusTitle(s string) string {
	if t, ok := statusTitles[s]; ok {
		return t
	}
	if s = field(s, maxWord); s == "" {
		return "ALERT"
	}
	return strings.ToUpper(s)
}

func ruleName(rule string) string {
	if r := field(rule, maxRuleName); r != "" {
		return r
	}
	return unnamedRuleName
}

// ruleLink is the rule's page when it is an absolute http(s) URL.
func ruleLink(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxURL || strings.ContainsFunc(s, isControl) {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.String()
}

// field is user text on one line (control characters, CR and LF become
// spaces, so it cannot forge lines of the text part), trimmed and capped.
func field(s string, max int) string {
	return clip(strings.TrimSpace(oneLine(s)), max)
}

func oneLine(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.Map(func(r rune) rune {
		if isControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}

func isControl(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) }

// clip cuts s to max runes, ending in "…" when cut.
func clip(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// annotationKeys puts summary and description first, then the rest in order.
func annotationKeys(m map[string]string) []string {
	rank := func(k string) int {
		switch k {
		case "summary":
			return 0
		case "description":
			return 1
		}
		return 2
	}
	return slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
}

// formatNumber shows a value as people write it: 1234567.5 rather than
// 1.2345675e+06, exponents only for the very large and very small.
func formatNumber(v float64) string {
	if a := math.Abs(v); a != 0 && (a < 1e-4 || a >= 1e15) || math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
