package slack

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func ptr(v float64) *float64 { return &v }

var at = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func cpuAlert() Alert {
	return Alert{
		Rule: "High CPU", RuleURL: "https://pulse.example.com/alerts/rules/42", Status: StatusFiring,
		Severity: "critical", Instance: "host=web-1",
		Labels:      map[string]string{"host": "web-1", "alertname": "High CPU", "env": "prod"},
		Annotations: map[string]string{"summary": "CPU at 95% on web-1", "runbook": "restart it"},
		Value:       ptr(95.5), Threshold: 90, Condition: "avg(cpu)[5m0s] > 90", At: at,
	}
}

// golden compares a body with testdata/name, indented; -update rewrites it.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatalf("indent: %v", err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("%s differs (run with -update after checking the change):\ngot:\n%s\nwant:\n%s", name, pretty.Bytes(), want)
	}
}

func TestMessageGolden(t *testing.T) {
	resolved := cpuAlert()
	resolved.Status, resolved.Value = StatusResolved, ptr(42)
	resolved.Annotations = map[string]string{"summary": "CPU back to normal on web-1"}
	nodata := cpuAlert()
	nodata.Status, nodata.Value, nodata.Annotations = StatusNoData, nil, nil
	second := cpuAlert()
	second.Instance, second.Labels, second.Value, second.Annotations = "host=web-2", map[string]string{"host": "web-2"}, ptr(91), nil
	for _, c := range []struct {
		name   string
		alerts []Alert
		status string
	}{
		{"firing.golden.json", []Alert{cpuAlert()}, StatusFiring},
		{"resolved.golden.json", []Alert{resolved}, StatusResolved},
		{"nodata.golden.json", []Alert{nodata}, StatusNoData},
		{"group.golden.json", []Alert{cpuAlert(), second, resolved}, StatusFiring},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Message(c.alerts, c.status)
			if err != nil {
				t.Fatal(err)
			}
			checkBody(t, got)
			golden(t, c.name, got)
		})
	}
}

func TestMessageHeaderAndFallback(t *testing.T) {
	for _, c := range []struct{ status, header string }{
		{StatusFiring, "🔥 FIRING: High CPU"},
		{StatusResolved, "✅ RESOLVED: High CPU"},
		{StatusNoData, "⚠️ NO DATA: High CPU"},
	} {
		a := cpuAlert()
		a.Status = c.status
		b := checkBody(t, must(Message([]Alert{a}, c.status)))
		if b.header() != c.header {
			t.Errorf("header %q, want %q", b.header(), c.header)
		}
		if want := c.header + " — critical · host=web-1 · value 95.5 vs threshold 90"; b.Text != want {
			t.Errorf("fallback %q, want %q", b.Text, want)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestMessageLongRuleName(t *testing.T) {
	for _, unit := range []string{"r", "é", "🔥", "&"} {
		a := cpuAlert()
		a.Rule = strings.Repeat(unit, 500)
		b := checkBody(t, must(Message([]Alert{a}, StatusFiring)))
		h := b.header()
		if width(h) > MaxHeader || !strings.HasSuffix(h, "…") || !strings.HasPrefix(h, "🔥 FIRING: "+esc(unit)) {
			t.Errorf("%q: header %d wide: %q", unit, width(h), h)
		}
		if utf8.RuneCountInString(h) > MaxHeader {
			t.Errorf("%q: header has %d runes", unit, utf8.RuneCountInString(h))
		}
		if strings.Contains(h, "&amp…") || strings.HasSuffix(strings.TrimSuffix(h, "…"), "&") {
			t.Errorf("%q: header cut inside an entity: %q", unit, h)
		}
	}
}

func TestMessageLongLabel(t *testing.T) {
	a := cpuAlert()
	a.Labels = map[string]string{"big": strings.Repeat("x", 10000), "zone": "eu-1"}
	a.Annotations = map[string]string{"description": strings.Repeat("é<", 5000)}
	b := checkBody(t, must(Message([]Alert{a}, StatusFiring)))
	s := b.sections()[0]
	if width(s) > MaxSection {
		t.Fatalf("section %d wide", width(s))
	}
	for _, want := range []string{"*Value:* `95.5` vs threshold `90`", "`big=xxx", "`zone=eu-1`"} {
		if !strings.Contains(s, want) {
			t.Errorf("section lacks %q: %.300q", want, s)
		}
	}

	// So many labels that they cannot all fit: whole ones, then a count.
	a.Labels = map[string]string{}
	for i := range 400 {
		a.Labels[fmt.Sprintf("k%03d", i)] = strings.Repeat("v", 20)
	}
	s = checkBody(t, must(Message([]Alert{a}, StatusFiring))).sections()[0]
	shown := strings.Count(s, "`k")
	if !strings.HasSuffix(s, fmt.Sprintf(" … +%d more labels", 400-shown)) || shown == 0 {
		t.Errorf("labels: %d shown, tail %q", shown, s[len(s)-40:])
	}
}

var moreRE = regexp.MustCompile(`^… and (\d+) more alerts?`)

func TestMessageManyAlerts(t *testing.T) {
	for _, c := range []struct{ n, shown int }{{1, 1}, {47, 47}, {48, 48}, {49, 47}, {200, 47}} {
		t.Run(strconv.Itoa(c.n), func(t *testing.T) {
			alerts := make([]Alert, c.n)
			for i := range alerts {
				alerts[i] = cpuAlert()
				alerts[i].Instance = fmt.Sprintf("host=web-%d", i)
			}
			b := checkBody(t, must(Message(alerts, StatusFiring)))
			if len(b.Blocks) > MaxBlocks {
				t.Fatalf("%d blocks", len(b.Blocks))
			}
			secs := b.sections()
			shown := 0
			for _, s := range secs {
				if strings.HasPrefix(s, "*Instance:*") {
					shown++
				}
			}
			if shown != c.shown {
				t.Errorf("%d alerts shown, want %d", shown, c.shown)
			}
			m := moreRE.FindStringSubmatch(secs[len(secs)-1])
			switch {
			case c.shown == c.n && m != nil:
				t.Errorf("all shown, yet %q", secs[len(secs)-1])
			case c.shown < c.n && (m == nil || m[1] != strconv.Itoa(c.n-c.shown)):
				t.Errorf("last section %q, want … and %d more", secs[len(secs)-1], c.n-c.shown)
			}
		})
	}
}

func TestMessageMoreByStatus(t *testing.T) {
	alerts := make([]Alert, 60)
	for i := range alerts {
		alerts[i] = cpuAlert()
		if i >= 50 {
			alerts[i].Status = StatusResolved
		}
	}
	secs := checkBody(t, must(Message(alerts, StatusFiring))).sections()
	if got, want := secs[len(secs)-1], "… and 13 more alerts (3 firing, 10 resolved)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !strings.HasPrefix(secs[0], "*Instance:*") || strings.Contains(secs[0], "resolved") {
		t.Errorf("an alert of the group's status needs no status line: %q", secs[0])
	}
}

// Big alerts reach the message's total text budget before 50 blocks;
// the count of the rest stays exact.
func TestMessageTextBudget(t *testing.T) {
	alerts := make([]Alert, 45)
	for i := range alerts {
		alerts[i] = cpuAlert()
		for k := range 10 {
			alerts[i].Labels[fmt.Sprint("label", k)] = strings.Repeat("v", 300)
		}
	}
	b := checkBody(t, must(Message(alerts, StatusFiring)))
	secs := b.sections()
	m := moreRE.FindStringSubmatch(secs[len(secs)-1])
	if m == nil {
		t.Fatalf("no … and N more: %q", secs[len(secs)-1])
	}
	if n, _ := strconv.Atoi(m[1]); n+len(secs)-1 != len(alerts) || len(b.Blocks) == MaxBlocks {
		t.Errorf("%d shown + %d more ≠ %d", len(secs)-1, n, len(alerts))
	}
}

func TestMessageEscapesUserText(t *testing.T) {
	a := Alert{
		Rule: "<!channel> & <https://evil.example|click>", RuleURL: "https://pulse.example.com/r/1?a=1&b=<2>|x",
		Severity: "<@U123>", Instance: "host=<!here>",
		Labels:      map[string]string{"<k>": "a & b", "tick": "a`b"},
		Annotations: map[string]string{"summary": "see <https://evil.example|here>\n> quote"},
		Condition:   "max(x)[1m0s] > 1", Value: ptr(2), Threshold: 1,
	}
	raw := must(Message([]Alert{a}, StatusFiring))
	b := checkBody(t, raw)
	for _, bad := range []string{"<!channel>", "<@U123>", "<!here>", "<https://evil"} {
		if bytes.Contains(raw, []byte(bad)) {
			t.Errorf("body carries %q: %s", bad, raw)
		}
	}
	if want := "🔥 FIRING: &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"; b.header() != want {
		t.Errorf("header %q, want %q", b.header(), want)
	}
	s := b.sections()[0]
	for _, want := range []string{"`&lt;k&gt;=a &amp; b`", "`tick=aˋb`", "*Condition:* `max(x)[1m0s] &gt; 1`",
		"*summary:* see &lt;https://evil.example|here&gt; &gt; quote", "*Severity:* &lt;@U123&gt;"} {
		if !strings.Contains(s, want) {
			t.Errorf("section lacks %q:\n%s", want, s)
		}
	}
	if !strings.Contains(string(raw), "<https://pulse.example.com/r/1?a=1&amp;b=%3C2%3E%7Cx|View rule in Pulse>") {
		t.Errorf("rule link not escaped as expected: %s", raw)
	}
}

func TestMessageLinkOnlyToWebAddresses(t *testing.T) {
	for _, u := range []string{"", "javascript:alert(1)", "slack://open", "https://", "not a url", "ftp://x/y",
		"https://x/" + strings.Repeat("a", maxURL)} {
		a := cpuAlert()
		a.RuleURL = u
		raw := must(Message([]Alert{a}, StatusFiring))
		checkBody(t, raw)
		if bytes.Contains(raw, []byte("<")) {
			t.Errorf("%.40q: a link was made: %s", u, raw)
		}
		if !bytes.Contains(raw, []byte(`"View rule in Pulse"`)) {
			t.Errorf("%.40q: the footer lost its label", u)
		}
	}
}

func TestMessageRefuses(t *testing.T) {
	if _, err := Message(nil, StatusFiring); err == nil {
		t.Error("no alerts: no error")
	}
	if _, err := Message([]Alert{cpuAlert()}, "pending"); err == nil || !strings.Contains(err.Error(), `"pending"`) {
		t.Errorf("unknown status: %v", err)
	}
}

func TestMessageUnnamedAndInvalidUTF8(t *testing.T) {
	a := Alert{Rule: "  ", Instance: "\xff\xfe", Labels: map[string]string{"\xc3": "\x80"}}
	b := checkBody(t, must(Message([]Alert{a}, StatusNoData)))
	if b.header() != "⚠️ NO DATA: (unnamed rule)" {
		t.Errorf("header %q", b.header())
	}
	if s := b.sections()[0]; !strings.Contains(s, "*Value:* none (threshold `0`)") || !strings.Contains(s, "\uFFFD") {
		t.Errorf("section %q", s)
	}
}
