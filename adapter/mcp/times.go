package mcp

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pulsemetrics/pulse/adapter/samplejson"
)

// parseTime reads a tool's time: "now", RFC 3339, or Unix seconds or
// milliseconds, as Pulse's own API takes them.
func parseTime(field, s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "now") {
		return now, nil
	}
	t, msg := samplejson.ParseTimeParam(s)
	if msg != "" {
		return time.Time{}, fmt.Errorf("%s %q %s (or \"now\")", field, s, msg)
	}
	return t, nil
}

// parseSpan reads a Go duration ("90s", "1h30m") or a number of days or
// weeks ("7d", "2w"), which chart ranges are usually given in.
func parseSpan(field, s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			if v, err := strconv.ParseFloat(n, 64); err == nil && v > 0 {
				return time.Duration(v * float64(unit)), nil
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s %q: want a positive duration such as 90s, 15m, 1h or 7d", field, s)
	}
	return d, nil
}

// window resolves from/to/span (at most two given; span, the field
// spanField, defaults to def) into [start, end); end defaults to now.
func window(from, to, spanField, span string, def time.Duration, now time.Time) (time.Time, time.Time, error) {
	if from != "" && to != "" && span != "" {
		return time.Time{}, time.Time{}, fmt.Errorf("give at most two of from, to and %s", spanField)
	}
	var start, end time.Time
	var err error
	d := def
	if span != "" {
		if d, err = parseSpan(spanField, span); err != nil {
			return start, end, err
		}
	}
	if from != "" {
		if start, err = parseTime("from", from, now); err != nil {
			return start, end, err
		}
	}
	if to != "" {
		if end, err = parseTime("to", to, now); err != nil {
			return start, end, err
		}
	}
	switch {
	case from != "" && to == "" && span != "":
		end = start.Add(d)
	case from != "" && to == "":
		end = now
	case from == "":
		if to == "" {
			end = now
		}
		start = end.Add(-d)
	}
	if !end.After(start) {
		return start, end, fmt.Errorf("the range must end after it starts (from %s, to %s)", stamp(start), stamp(end))
	}
	return start, end, nil
}

// stamp is how the tools print a time: RFC 3339 in UTC, to the millisecond.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
