package slack

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The statuses of an alert and of a group: the outbox's notification kinds.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
	StatusNoData   = "nodata"
)

type statusLook struct{ emoji, title string }

var statuses = map[string]statusLook{
	StatusFiring:   {"🔥", "FIRING"},
	StatusResolved: {"✅", "RESOLVED"},
	StatusNoData:   {"⚠️", "NO DATA"},
}

var severityEmoji = map[string]string{"critical": "🔴", "warning": "🟠", "info": "🔵"}

// Alert is one alert instance to tell about: a notification's fields as
// the message shows them.
type Alert struct {
	Rule     string
	RuleURL  string // the rule's page in Pulse; left out unless http(s)
	Status   string // firing, resolved or nodata; "" is the group's status
	Severity string // info, warning or critical
	Instance string
	Labels   map[string]string
	// Annotations are the rule's rendered templates (summary, description…).
	Annotations map[string]string
	Value       *float64 // nil when there was no value (no data)
	Threshold   float64
	Condition   string // e.g. "avg(cpu)[5m] > 90"
	At          time.Time
}

// Caps on single user fields, so one long field cannot crowd the others
// out of a section (the section's own limit still applies on top).
const (
	maxRuleName   = 200
	maxInstance   = 300
	maxCondition  = 300
	maxWord       = 40 // a severity or a status
	maxLabelKey   = 100
	maxLabelValue = 500
	maxAnnotation = 600
	// maxAnnotations is what all annotations of an alert may take, so the
	// labels keep at least a third of the section.
	maxAnnotations = 1200
	// moreRoom is kept free for the "… and N more" section.
	moreRoom = 200
)

// Message is the incoming-webhook body for a group of alerts of one rule
// (the rule, URL and header come from the first): a header with the
// group's status, one section per alert, a context with the link, and
// the fallback text. Alerts that would break Slack's limits are counted
// in a last "… and N more" section instead of shown.
func Message(alerts []Alert, groupStatus string) ([]byte, error) {
	if len(alerts) == 0 {
		return nil, errors.New("slack: a message needs at least one alert")
	}
	look, ok := statuses[groupStatus]
	if !ok {
		return nil, fmt.Errorf("slack: unknown group status %q (want firing, resolved or nodata)", groupStatus)
	}
	first := alerts[0]
	title := look.emoji + " " + look.title + ": " + ruleName(first.Rule)
	head := headerBlock(title)
	foot := footer(first.RuleURL, len(alerts))

	// Each alert needs one block; the header and the footer take two, and
	// the "… and N more" section one more whenever alerts are left over.
	slots := MaxBlocks - 2
	text := fit(fallback(alerts, look), MaxFallback)
	used := width(text) + blockWidth(head) + blockWidth(foot) + moreRoom
	var shown []block
	for i, a := range alerts {
		if left := len(alerts) - i - 1; left > 0 && len(shown)+1 >= slots {
			break
		}
		s := sectionBlock(alertText(a, groupStatus))
		if used+blockWidth(s) > MaxMessage {
			break
		}
		used += blockWidth(s)
		shown = append(shown, s)
	}
	blocks := append([]block{head}, shown...)
	if rest := alerts[len(shown):]; len(rest) > 0 {
		blocks = append(blocks, sectionBlock(moreText(rest, groupStatus)))
	}
	blocks = append(blocks, foot)
	return encode(payload{Text: text, Blocks: blocks})
}

func ruleName(rule string) string {
	if strings.TrimSpace(rule) == "" {
		return "(unnamed rule)"
	}
	return escClip(rule, maxRuleName)
}

// alertText is one alert's section: what it is, how bad, the value
// against the threshold, when, what the rule says about it, its labels.
func alertText(a Alert, group string) string {
	var lines []string
	status := a.Status
	if status == "" {
		status = group
	}
	if status != group {
		lines = append(lines, statusWord(status))
	}
	if a.Instance != "" {
		lines = append(lines, "*Instance:* "+code(a.Instance, maxInstance))
	}
	if a.Severity != "" {
		sev := escClip(a.Severity, maxWord)
		if e, ok := severityEmoji[a.Severity]; ok {
			sev = e + " " + sev
		}
		lines = append(lines, "*Severity:* "+sev)
	}
	value := "*Value:* none (threshold " + code(formatNumber(a.Threshold), maxWord) + ")"
	if a.Value != nil {
		value = "*Value:* " + code(formatNumber(*a.Value), maxWord) + " vs threshold " + code(formatNumber(a.Threshold), maxWord)
	}
	lines = append(lines, value)
	if a.Condition != "" {
		lines = append(lines, "*Condition:* "+code(a.Condition, maxCondition))
	}
	if !a.At.IsZero() {
		lines = append(lines, "*At:* "+a.At.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	lines = append(lines, annotationLines(a.Annotations)...)
	text := strings.Join(lines, "\n")
	if len(a.Labels) > 0 {
		text += "\n" + labelsLine(a.Labels, MaxSection-width(text)-1)
	}
	return text
}

func statusWord(status string) string {
	if look, ok := statuses[status]; ok {
		return look.emoji + " *" + strings.ToLower(look.title) + "*"
	}
	return "*" + escClip(status, maxWord) + "*"
}

// annotationLines shows the annotations within their share of the
// section, counting those left out.
func annotationLines(m map[string]string) []string {
	var lines []string
	room := maxAnnotations
	keys := annotationKeys(m)
	for i, k := range keys {
		if room < 2*maxWord {
			return append(lines, fmt.Sprintf("… +%d more annotations", len(keys)-i))
		}
		l := "*" + escClip(k, maxLabelKey) + ":* " + escClip(m[k], min(maxAnnotation, room))
		lines = append(lines, l)
		room -= width(l)
	}
	return lines
}

// annotationKeys puts summary and description first, as people read
// them first, then the rest in order.
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

// labelsLine lists the labels sorted by key, as many whole ones as fit
// in room, and counts the others: a label cut in half would be a wrong
// label.
func labelsLine(labels map[string]string, room int) string {
	keys := slices.Sorted(maps.Keys(labels))
	line := "*Labels:*"
	const tail = 24 // " … +NNNNNNNNN more labels"
	for i, k := range keys {
		l := " " + code(clip(k, maxLabelKey)+"="+clip(labels[k], maxLabelValue), maxLabelKey+maxLabelValue+1)
		limit := room
		if i < len(keys)-1 {
			limit -= tail
		}
		if width(line)+width(l) > limit {
			return line + fmt.Sprintf(" … +%d more labels", len(keys)-i)
		}
		line += l
	}
	return line
}

// moreText counts the alerts left out, by status when they differ from
// the group's.
func moreText(rest []Alert, group string) string {
	counts := map[string]int{}
	for _, a := range rest {
		s := a.Status
		if s == "" {
			s = group
		}
		counts[s]++
	}
	text := fmt.Sprintf("… and %d more", len(rest))
	if len(rest) == 1 {
		text += " alert"
	} else {
		text += " alerts"
	}
	if len(counts) == 1 && counts[group] > 0 {
		return text
	}
	var parts []string
	for _, s := range []string{StatusFiring, StatusResolved, StatusNoData} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
			delete(counts, s)
		}
	}
	if n := sum(counts); n > 0 {
		parts = append(parts, fmt.Sprintf("%d other", n))
	}
	return text + " (" + strings.Join(parts, ", ") + ")"
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func footer(ruleURL string, n int) block {
	elems := []string{link(ruleURL, "View rule in Pulse")}
	if n > 1 {
		elems = append(elems, fmt.Sprintf("%d alerts", n))
	}
	return contextBlock(elems...)
}

// fallback is the top-level text: what a notification or a client
// without blocks shows.
func fallback(alerts []Alert, look statusLook) string {
	a := alerts[0]
	text := look.emoji + " " + look.title + ": " + ruleName(a.Rule)
	if len(alerts) > 1 {
		return text + fmt.Sprintf(" — %d alerts", len(alerts))
	}
	var parts []string
	if a.Severity != "" {
		parts = append(parts, escClip(a.Severity, maxWord))
	}
	if a.Instance != "" {
		parts = append(parts, escClip(a.Instance, maxInstance))
	}
	if a.Value != nil {
		parts = append(parts, "value "+formatNumber(*a.Value)+" vs threshold "+formatNumber(a.Threshold))
	}
	if len(parts) == 0 {
		return text
	}
	return text + " — " + strings.Join(parts, " · ")
}

// formatNumber shows a value as people write it: 1234567.5 rather than
// 1.2345675e+06, exponents only for the very large and very small.
func formatNumber(v float64) string {
	if a := math.Abs(v); a != 0 && (a < 1e-4 || a >= 1e15) || math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
