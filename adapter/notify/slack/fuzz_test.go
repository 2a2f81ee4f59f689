package slack

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

var fuzzStatuses = []string{StatusFiring, StatusResolved, StatusNoData, ""}

// FuzzMessage: whatever the alerts say and however many there are, the
// body is valid JSON and UTF-8, within every Slack limit, with no link or
// mention but ours (checkBody), and "… and N more" counts exactly what
// was left out. Only an unknown group status is refused.
func FuzzMessage(f *testing.F) {
	f.Add("High CPU", "https://pulse.example.com/alerts/rules/42", "critical", "host=web-1", "env", "prod",
		"CPU at 95% on web-1", "avg(cpu)[5m0s] > 90", 95.5, true, 90.0, int64(1764064800), uint16(1), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, rule, url, severity, instance, key, value, summary, condition string,
		v float64, hasValue bool, threshold float64, unix int64, n uint16, group, mix uint8) {
		count := int(n%300) + 1
		groupStatus := fuzzStatuses[int(group)%len(fuzzStatuses)]
		if group >= 200 {
			groupStatus = severity // anything at all: refused unless a status
		}
		alerts := make([]Alert, count)
		for i := range alerts {
			a := Alert{
				Rule: rule, RuleURL: url, Severity: severity, Instance: instance + strconv.Itoa(i),
				Labels:      map[string]string{key: value, "i": strconv.Itoa(i), value: key},
				Annotations: map[string]string{"summary": summary, key: strings.Repeat(value, int(mix%8))},
				Threshold:   threshold, Condition: condition, At: time.Unix(unix%(1<<40), 0),
			}
			if hasValue {
				a.Value = &v
			}
			if mix&1 == 1 {
				a.Status = fuzzStatuses[(i+int(mix))%len(fuzzStatuses)]
			}
			if mix&2 == 2 {
				a.Rule = strings.Repeat(rule, i%5)
			}
			alerts[i] = a
		}
		raw, err := Message(alerts, groupStatus)
		if _, known := statuses[groupStatus]; !known {
			if err == nil {
				t.Fatalf("group status %q accepted", groupStatus)
			}
			return
		}
		if err != nil {
			t.Fatalf("Message: %v", err)
		}
		b := checkBody(t, raw)
		secs := b.sections()
		shown := len(secs)
		// An alert's section starts with '*' or a status emoji, never "…".
		if m := moreRE.FindStringSubmatch(secs[len(secs)-1]); m != nil {
			more, _ := strconv.Atoi(m[1])
			if shown-1+more != count {
				t.Fatalf("%d shown + %d more ≠ %d alerts", shown-1, more, count)
			}
		} else if shown != count {
			t.Fatalf("%d of %d alerts shown and no … and N more", shown, count)
		}
	})
}

// FuzzDigest: a digest is refused or within every limit.
func FuzzDigest(f *testing.F) {
	f.Add("rule A", "https://pulse.example.com/alerts/rules/1", uint16(14), uint16(2), int64(180), uint8(0))
	f.Add("<!channel> & é", "https://x/?a=1&b=2|3", uint16(9000), uint16(4000), int64(-5), uint8(3))
	f.Fuzz(func(t *testing.T, rule, url string, count, rules uint16, seconds int64, status uint8) {
		d := DigestInfo{Count: int(count), Since: at, Until: at.Add(time.Duration(seconds) * time.Second),
			Status: fuzzStatuses[int(status)%len(fuzzStatuses)]}
		for i := range int(rules % 3000) {
			d.ByRule = append(d.ByRule, RuleCount{Rule: rule + strconv.Itoa(i), URL: url, N: 1 + i%3})
		}
		raw, err := Digest(d)
		if err != nil {
			return
		}
		checkBody(t, raw)
	})
}
