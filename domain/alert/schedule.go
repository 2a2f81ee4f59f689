package alert

import (
	"hash/fnv"
	"strconv"
	"time"
)

// Offset is a rule's stable place inside its cadence (Unix ms modulo the
// cadence), so that thousands of rules with one cadence spread over it
// instead of all running at second 0. It depends only on the rule's id.
func Offset(ruleID int64, cadence time.Duration) int64 {
	c := cadence.Milliseconds()
	if c <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(strconv.FormatInt(ruleID, 10)))
	// Whole seconds, so due times read well in the history.
	secs := c / 1000
	if secs == 0 {
		return 0
	}
	return int64(h.Sum64()%uint64(secs)) * 1000
}

// DueAfter is the rule's first evaluation time strictly after t (Unix ms):
// the next k × cadence + offset.
func DueAfter(ruleID int64, cadence time.Duration, t int64) int64 {
	c := cadence.Milliseconds()
	if c <= 0 {
		return t + 1
	}
	off := Offset(ruleID, cadence)
	k := floorDiv(t-off, c) + 1
	return k*c + off
}

// DueAtOrBefore is the rule's latest evaluation time at or before t.
func DueAtOrBefore(ruleID int64, cadence time.Duration, t int64) int64 {
	c := cadence.Milliseconds()
	if c <= 0 {
		return t
	}
	off := Offset(ruleID, cadence)
	return floorDiv(t-off, c)*c + off
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// CatchUp decides the time to evaluate a rule that was due at due and is
// claimed at now: due itself when the scheduler is on time (less than one
// cadence late), else the latest due time at or before now — after
// downtime a rule is evaluated once at "now", never once per missed step —
// and how many due times were skipped.
func CatchUp(ruleID int64, cadence time.Duration, due, now int64) (at int64, skipped int64) {
	c := cadence.Milliseconds()
	if c <= 0 {
		// No cadence to align to (DueAtOrBefore is now): never skip.
		return max(due, now), 0
	}
	if now-due < c {
		return due, 0
	}
	at = DueAtOrBefore(ruleID, cadence, now)
	return at, (at - due) / c
}
