package notify

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Flood protection defaults.
const (
	DefaultPerMinute = 10          // messages per tenant and channel per minute
	SlackPerSecond   = 1           // messages per Slack webhook URL per second
	budgetWindow     = time.Minute // NewBudget's window
)

// Budget is a sliding-window rate limit: at most N messages in any window
// (a minute for NewBudget). It keeps the times of the sends still inside
// the window. Times are Unix milliseconds and must not go backwards. One
// Budget per (tenant, channel), or per Slack webhook URL; the zero Budget
// allows nothing.
type Budget struct {
	n      int
	window int64 // ms
	sent   []int64
}

// NewBudget is a budget of perMinute messages per minute; perMinute < 1 is
// DefaultPerMinute.
func NewBudget(perMinute int) Budget {
	if perMinute < 1 {
		perMinute = DefaultPerMinute
	}
	return NewBudgetWindow(perMinute, budgetWindow)
}

// NewSlackBudget is Slack's per-webhook-URL budget: one message a second.
func NewSlackBudget() Budget { return NewBudgetWindow(SlackPerSecond, time.Second) }

// NewBudgetWindow is a budget of n messages per window; n < 1 is 1 and a
// window under a millisecond is one millisecond.
func NewBudgetWindow(n int, window time.Duration) Budget {
	n = max(n, 1)
	return Budget{n: n, window: max(window.Milliseconds(), 1), sent: make([]int64, 0, n)}
}

// prune forgets the sends that have left the window at now.
func (b *Budget) prune(now int64) {
	i := 0
	for i < len(b.sent) && b.sent[i]+b.window <= now {
		i++
	}
	if i > 0 {
		b.sent = append(b.sent[:0], b.sent[i:]...)
	}
}

// Allow reports whether a message may be sent at now, and if so counts it.
func (b *Budget) Allow(now int64) bool {
	b.prune(now)
	if b.n < 1 || len(b.sent) >= b.n {
		return false
	}
	b.sent = append(b.sent, now)
	return true
}

// Remaining is how many messages may still be sent at now.
func (b *Budget) Remaining(now int64) int {
	b.prune(now)
	return max(b.n-len(b.sent), 0)
}

// NextFree is the earliest time, at or after now, a message may be sent.
// The zero Budget is never free: it answers -1.
func (b *Budget) NextFree(now int64) int64 {
	b.prune(now)
	if b.n < 1 {
		return -1
	}
	if len(b.sent) < b.n {
		return now
	}
	return b.sent[len(b.sent)-b.n] + b.window
}

// Plan sends groups, in order, while budget allows at now, and holds the
// rest for one digest sent when the budget frees: every group is in
// exactly one of send or held, none dropped. A nil budget sends all.
func Plan(groups []Group, budget *Budget, now int64) (send []Group, held []Group) {
	for _, g := range groups {
		if budget == nil || budget.Allow(now) {
			send = append(send, g)
		} else {
			held = append(held, g)
		}
	}
	return send, held
}

// Held is what a digest folds: Count notifications of one rule, the
// latest (or only) at At (Unix ms).
type Held struct {
	RuleID int64
	Rule   string
	At     int64
	Count  int
}

// HeldOf turns held groups into Held, one per group, counting its items;
// rule names a rule by id (nil leaves Rule empty). At is the group's
// newest item's.
func HeldOf(groups []Group, rule func(ruleID int64) string) []Held {
	out := make([]Held, 0, len(groups))
	for _, g := range groups {
		h := Held{RuleID: g.RuleID, At: g.FirstAt, Count: len(g.Items)}
		for _, it := range g.Items {
			h.At = max(h.At, it.At)
		}
		if rule != nil {
			h.Rule = rule(g.RuleID)
		}
		out = append(out, h)
	}
	return out
}

// RuleCount is one rule's share of a digest.
type RuleCount struct {
	RuleID int64
	Rule   string
	N      int
}

// Digest folds what flood protection held: Count notifications from Since
// to Until (Unix ms), by rule.
type Digest struct {
	Count  int
	Since  int64
	Until  int64
	ByRule []RuleCount
}

// Fold folds held into one digest. Counts are exact (a Count below 1 is
// one); ByRule has one entry per rule id, ordered by count descending,
// then name, then id.
func Fold(held []Held) Digest {
	var d Digest
	index := map[int64]int{}
	for i, h := range held {
		n := max(h.Count, 1)
		d.Count += n
		if i == 0 || h.At < d.Since {
			d.Since = h.At
		}
		if i == 0 || h.At > d.Until {
			d.Until = h.At
		}
		j, ok := index[h.RuleID]
		if !ok {
			j = len(d.ByRule)
			index[h.RuleID] = j
			d.ByRule = append(d.ByRule, RuleCount{RuleID: h.RuleID, Rule: h.Rule})
		}
		d.ByRule[j].N += n
		if d.ByRule[j].Rule == "" {
			d.ByRule[j].Rule = h.Rule
		}
	}
	slices.SortFunc(d.ByRule, func(a, b RuleCount) int {
		return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.RuleID, b.RuleID))
	})
	return d
}

// Text renders the digest in one line, naming at most maxRules rules
// (0 or less: all), e.g. "14 more alerts fired in the last 3 minutes:
// rule A ×9, rule B ×5".
func (d Digest) Text(maxRules int) string {
	noun := "alerts"
	if d.Count == 1 {
		noun = "alert"
	}
	mins := (d.Until - d.Since + 59_999) / 60_000
	span := "minute"
	if mins > 1 {
		span = fmt.Sprintf("%d minutes", mins)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d more %s fired in the last %s", d.Count, noun, span)
	rules := d.ByRule
	if maxRules > 0 && len(rules) > maxRules {
		rules = rules[:maxRules]
	}
	for i, r := range rules {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		name := r.Rule
		if name == "" {
			name = fmt.Sprintf("rule %d", r.RuleID)
		}
		fmt.Fprintf(&b, "%s%s ×%d", sep, name, r.N)
	}
	if len(rules) < len(d.ByRule) {
		b.WriteString(" …")
	}
	return b.String()
}
