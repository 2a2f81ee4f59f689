package slack

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDigestExample(t *testing.T) {
	d := DigestInfo{Count: 14, Since: at, Until: at.Add(3 * time.Minute), ByRule: []RuleCount{
		{Rule: "rule B", URL: "https://pulse.example.com/alerts/rules/2", N: 5},
		{Rule: "rule A", URL: "https://pulse.example.com/alerts/rules/1", N: 9},
	}}
	raw := must(Digest(d))
	b := checkBody(t, raw)
	if want := "14 more alerts fired in the last 3 minutes: rule A ×9, rule B ×5"; b.Text != want {
		t.Errorf("fallback %q, want %q", b.Text, want)
	}
	want := "14 more alerts fired in the last 3 minutes: <https://pulse.example.com/alerts/rules/1|rule A> ×9, " +
		"<https://pulse.example.com/alerts/rules/2|rule B> ×5"
	if secs := b.sections(); len(secs) != 1 || secs[0] != want {
		t.Errorf("sections %q, want [%q]", secs, want)
	}
	if b.header() != "🔥 14 more alerts fired" {
		t.Errorf("header %q", b.header())
	}
	golden(t, "digest.golden.json", raw)
	if d.ByRule[0].Rule != "rule B" {
		t.Error("Digest sorted the caller's slice")
	}
}

func TestDigestWording(t *testing.T) {
	for _, c := range []struct {
		d    DigestInfo
		want string
	}{
		{DigestInfo{Count: 1, ByRule: []RuleCount{{Rule: "r", N: 1}}}, "1 more alert fired: r ×1"},
		{DigestInfo{Count: 20, ByRule: []RuleCount{{Rule: "r", N: 14}}}, "20 more alerts fired: r ×14 and 6 other alerts"},
		{DigestInfo{Count: 15, ByRule: []RuleCount{{Rule: "r", N: 14}}}, "15 more alerts fired: r ×14 and 1 other alert"},
		{DigestInfo{Count: 3}, "3 more alerts fired"},
		{DigestInfo{Count: 2, Status: StatusResolved, Since: at, Until: at.Add(90 * time.Minute)}, "2 more alerts resolved in the last 2 hours"},
		{DigestInfo{Count: 2, Status: StatusNoData, Since: at, Until: at.Add(time.Second)}, "2 more alerts stopped reporting data in the last 1 second"},
		{DigestInfo{Count: 2, ByRule: []RuleCount{{Rule: "<!here> & co", N: 2}}}, "2 more alerts fired: &lt;!here&gt; &amp; co ×2"},
		{DigestInfo{Count: 2, ByRule: []RuleCount{{Rule: "b", N: 1}, {Rule: "a", N: 1}}}, "2 more alerts fired: a ×1, b ×1"},
	} {
		b := checkBody(t, must(Digest(c.d)))
		if b.Text != c.want {
			t.Errorf("%+v: %q, want %q", c.d, b.Text, c.want)
		}
		if s := b.sections()[0]; s != c.want {
			t.Errorf("%+v: section %q, want %q (no URLs, no links)", c.d, s, c.want)
		}
	}
}

var tailRE = regexp.MustCompile(`… and (\d+) more rules? \((\d+) alerts?\)$`)

func TestDigestManyRules(t *testing.T) {
	for _, n := range []int{100, 5000} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			d := DigestInfo{Since: at, Until: at.Add(3 * time.Minute)}
			for i := range n {
				d.ByRule = append(d.ByRule, RuleCount{
					Rule: fmt.Sprintf("rule %04d %s", i, strings.Repeat("é", i%150)),
					URL:  fmt.Sprintf("https://pulse.example.com/alerts/rules/%d?tab=history&x=%d", i, i), N: 1 + i%7,
				})
				d.Count += 1 + i%7
			}
			b := checkBody(t, must(Digest(d)))
			all := strings.Join(b.sections(), " ")
			links := strings.Count(all, "<https://")
			m := tailRE.FindStringSubmatch(all)
			if links == n {
				if n == 5000 {
					t.Fatal("5,000 rules cannot all fit one message, yet all are listed")
				}
				if m != nil {
					t.Fatalf("every rule listed, yet %q", m[0])
				}
				return
			}
			if m == nil {
				t.Fatalf("%d of %d rules listed and no count of the rest: …%s", links, n, all[len(all)-100:])
			}
			rules, _ := strconv.Atoi(m[1])
			alerts, _ := strconv.Atoi(m[2])
			listed := 0
			for _, r := range d.ByRule {
				if strings.Contains(all, "|"+esc(r.Rule)+">") {
					listed += r.N
				}
			}
			if rules+links != n || alerts+listed != d.Count {
				t.Errorf("%d listed + %d more rules ≠ %d, or %d + %d alerts ≠ %d", links, rules, n, listed, alerts, d.Count)
			}
		})
	}
}

func TestDigestRefuses(t *testing.T) {
	for _, d := range []DigestInfo{
		{Count: 0},
		{Count: -1},
		{Count: 3, ByRule: []RuleCount{{Rule: "r", N: 0}}},
		{Count: 3, ByRule: []RuleCount{{Rule: "r", N: 2}, {Rule: "s", N: 2}}},
		{Count: 3, Status: "pending"},
	} {
		if _, err := Digest(d); err == nil {
			t.Errorf("%+v: no error", d)
		}
	}
}

func TestWindow(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "", -time.Second: "", 400 * time.Millisecond: "1 second", 45 * time.Second: "45 seconds",
		59600 * time.Millisecond: "1 minute", time.Minute: "1 minute", 3 * time.Minute: "3 minutes",
		150 * time.Second: "3 minutes", 59*time.Minute + 40*time.Second: "1 hour", 47 * time.Hour: "47 hours",
		48 * time.Hour: "2 days", 10 * 24 * time.Hour: "10 days",
	} {
		if got := window(at, at.Add(d)); got != want {
			t.Errorf("window(%v) = %q, want %q", d, got, want)
		}
	}
	if got := window(time.Time{}, at); got != "" {
		t.Errorf("unknown start: %q", got)
	}
}
