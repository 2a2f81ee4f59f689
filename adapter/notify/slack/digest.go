package slack

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// RuleCount is how many of a digest's alerts came from one rule.
type RuleCount struct {
	Rule string
	URL  string // the rule's page in Pulse; left out unless http(s)
	N    int
}

// DigestInfo is what exceeded a channel's budget over a window.
type DigestInfo struct {
	Count        int // the alerts folded in; at least the sum of ByRule
	Since, Until time.Time
	ByRule       []RuleCount
	// Status is the verb: firing (the default, "fired"), resolved or nodata.
	Status string
}

var digestVerb = map[string]string{
	"":             "fired",
	StatusFiring:   "fired",
	StatusResolved: "resolved",
	StatusNoData:   "stopped reporting data",
}

// Digest is the incoming-webhook body that folds many alerts into one
// message: "14 more alerts fired in the last 3 minutes: rule A ×9, rule B
// ×5", rules by count (most first), each linked to its page. Rules that
// would break Slack's limits are counted at the end instead of listed.
func Digest(d DigestInfo) ([]byte, error) {
	verb, ok := digestVerb[d.Status]
	if !ok {
		return nil, fmt.Errorf("slack: unknown digest status %q (want firing, resolved or nodata)", d.Status)
	}
	if d.Count < 1 {
		return nil, fmt.Errorf("slack: a digest needs at least one alert, got count %d", d.Count)
	}
	total := 0
	for _, r := range d.ByRule {
		if r.N < 1 {
			return nil, fmt.Errorf("slack: digest rule %q counts %d alerts, want at least 1", clip(r.Rule, maxRuleName), r.N)
		}
		if total += r.N; total > d.Count || total < 0 {
			return nil, errors.New("slack: digest rules count more alerts than the digest's count")
		}
	}
	rules := slices.Clone(d.ByRule)
	slices.SortStableFunc(rules, func(a, b RuleCount) int {
		return cmp.Or(cmp.Compare(b.N, a.N), strings.Compare(a.Rule, b.Rule))
	})

	emoji := statuses[cmp.Or(d.Status, StatusFiring)].emoji
	lead := alertsWord(d.Count, "more ") + " " + verb
	if w := window(d.Since, d.Until); w != "" {
		lead += " in the last " + w
	}
	head := headerBlock(emoji + " " + alertsWord(d.Count, "more ") + " " + verb)

	fallbackText := fit(digestFallback(lead, rules, d.Count), MaxFallback)
	blocks := []block{head}
	used := width(fallbackText) + blockWidth(head) + moreRoom
	text := lead
	if len(rules) > 0 {
		text += ":"
	}
	listed, alerts := 0, 0
	for _, r := range rules {
		item := " " + link(r.URL, ruleName(r.Rule)) + fmt.Sprintf(" ×%d", r.N)
		if listed > 0 {
			item = "," + item
		}
		// An item is at most maxURL plus an escaped rule name, well under
		// a section, so it always fits a section of its own.
		if width(text)+width(item) > MaxSection {
			// Start a new section, unless that would leave no block for
			// the count of the rules left out.
			if len(blocks)+2 >= MaxBlocks || used+width(text) > MaxMessage {
				break
			}
			blocks = append(blocks, sectionBlock(text))
			used += width(text)
			text, item = "", strings.TrimPrefix(strings.TrimPrefix(item, ","), " ")
		}
		if used+width(text)+width(item) > MaxMessage {
			break
		}
		text += item
		listed++
		alerts += r.N
	}
	if tail := digestTail(len(rules)-listed, d.Count-alerts, listed > 0); tail != "" {
		if width(text)+width(tail) > MaxSection {
			blocks = append(blocks, sectionBlock(text))
			text = strings.TrimPrefix(tail, " ")
		} else {
			text += tail
		}
	}
	blocks = append(blocks, sectionBlock(strings.TrimPrefix(text, " ")))
	return encode(payload{Text: fallbackText, Blocks: blocks})
}

// digestTail counts what the list leaves out: rules that did not fit,
// and alerts the caller counted without naming their rule.
func digestTail(rules, alerts int, listed bool) string {
	switch {
	case rules > 0:
		return fmt.Sprintf(" … and %d more %s (%s)", rules, plural(rules, "rule", "rules"), alertsWord(alerts, ""))
	case alerts > 0 && listed:
		return fmt.Sprintf(" and %s", alertsWord(alerts, "other "))
	}
	return ""
}

// digestFallback is the digest's text without links, cut by fit.
func digestFallback(lead string, rules []RuleCount, count int) string {
	if len(rules) == 0 {
		return lead
	}
	var b strings.Builder
	b.WriteString(lead + ":")
	named := 0
	for i, r := range rules {
		named += r.N
		if b.Len() > MaxFallback*4 {
			continue // fit cuts it anyway; no need to build more
		}
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %s ×%d", ruleName(r.Rule), r.N)
	}
	if count > named {
		b.WriteString(" and " + alertsWord(count-named, "other "))
	}
	return b.String()
}

func alertsWord(n int, adj string) string {
	return fmt.Sprintf("%d %s%s", n, adj, plural(n, "alert", "alerts"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// window says how long a digest's window was, in the largest unit that
// reads naturally: "45 seconds", "3 minutes", "2 hours", "3 days". It is
// "" when the window is unknown or empty.
func window(since, until time.Time) string {
	if since.IsZero() || until.IsZero() || !until.After(since) {
		return ""
	}
	d := until.Sub(since)
	round := func(unit time.Duration) int64 { return int64(math.Round(float64(d) / float64(unit))) }
	switch {
	case d < 59500*time.Millisecond:
		n := max(round(time.Second), 1)
		return fmt.Sprintf("%d %s", n, plural(int(n), "second", "seconds"))
	case round(time.Minute) < 60:
		n := round(time.Minute)
		return fmt.Sprintf("%d %s", n, plural(int(n), "minute", "minutes"))
	case round(time.Hour) < 48:
		n := round(time.Hour)
		return fmt.Sprintf("%d %s", n, plural(int(n), "hour", "hours"))
	}
	n := round(24 * time.Hour)
	return fmt.Sprintf("%d %s", n, plural(int(n), "day", "days"))
}
