package alertstest

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/alert"
)

// Every field of a rule comes back as stored, through GetRule, ListRules
// and ClaimDue, and regex matchers still match after the read.
func testRuleRoundTrip(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "round")
	full := alert.Rule{
		TenantID: tn, Name: "Débit élevé 🔥 «prod»", Metric: "net.rx_bytes:rate-5m",
		Matchers: alert.Matchers{
			{Tag: "host", Op: alert.MatchRegexp, Value: "web-[0-9]+"},
			{Tag: "dc", Op: alert.MatchNotRegex, Value: "eu-.*"},
			{Tag: "env", Op: alert.MatchEqual, Value: "prod"},
			{Tag: "région", Op: alert.MatchNotEqual, Value: "Île-de-France"},
		},
		Agg: alert.AggMax, Window: 15 * time.Minute, Op: alert.LE, Threshold: -1234.5678e-3,
		Cadence: 30 * time.Second, For: 2*time.Minute + 500*time.Millisecond, KeepFiringFor: time.Hour,
		NoData: alert.NoDataKeepLast, GroupBy: []string{"host", "dc"}, Severity: alert.SeverityCritical,
		Labels:      map[string]string{"team": "réseau", "emoji": "🚨", "quote": `say "hi"\n`, "nul": "a\u0000b"},
		Annotations: map[string]string{"summary": "{{ $labels.host }} is at {{ $value }} <b>&</b>", "runbook": "https://wiki/ops?q=1&x=2"},
		Channels:    []int64{3, 1, 2}, Paused: true,
	}
	bare := alert.Rule{TenantID: tn, Name: "bare", Metric: "m", Agg: alert.AggLast, Op: alert.EQ, Window: time.Minute, Cadence: time.Minute}
	for _, tc := range []struct {
		name string
		want alert.Rule
	}{{"every field", full}, {"no maps or slices", bare}} {
		want := tc.want
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.CreateRule(c, want, base, base)
			if err != nil {
				t.Fatal(err)
			}
			want.ID = r.ID
			want = want.WithEmptyCollections()
			got, err := s.GetRule(c, tn, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(plain(got.Rule), plain(want)) {
				t.Errorf("GetRule\n got %#v\nwant %#v", plain(got.Rule), plain(want))
			}
			if got.Labels == nil || got.Annotations == nil || got.GroupBy == nil || got.Matchers == nil || got.Channels == nil {
				t.Errorf("nil maps or slices read back: %#v", got.Rule)
			}
			if !reflect.DeepEqual(plain(r), plain(want)) {
				t.Errorf("CreateRule answered %#v, want %#v", plain(r), plain(want))
			}
		})
	}
	got, err := s.ListRules(c, tn, 1, 10)
	if err != nil || len(got.Rules) != 2 {
		t.Fatalf("ListRules: %+v, %v", got, err)
	}
	if got.Rules[0].Name != full.Name {
		t.Fatalf("ListRules by id: %+v", got.Rules)
	}
	ms := got.Rules[0].Matchers
	for _, m := range []struct {
		tags map[string]string
		want bool
	}{
		{map[string]string{"host": "web-12", "dc": "us-1", "env": "prod", "région": "Bretagne"}, true},
		{map[string]string{"host": "web-12", "dc": "eu-west", "env": "prod"}, false},
		{map[string]string{"host": "db-1", "dc": "us-1", "env": "prod"}, false},
		{map[string]string{"host": "web-12x", "env": "prod"}, false}, // anchored
		{map[string]string{"host": "web-1", "env": "prod", "région": "Île-de-France"}, false},
	} {
		if ok := ms.Matches(tagsOf(m.tags)); ok != m.want {
			t.Errorf("matchers read back on %v: %v, want %v", m.tags, ok, m.want)
		}
	}
	// The claim reads the same columns: the scheduler sees the same rule.
	if err := s.SetPaused(c, tn, got.Rules[0].ID, false, base, base); err != nil {
		t.Fatal(err)
	}
	claims, err := s.ClaimDue(c, base, 10, "rt", time.Minute)
	if err != nil || len(claims) != 2 {
		t.Fatalf("ClaimDue: %+v, %v", claims, err)
	}
	for _, cl := range claims {
		if cl.Rule.ID != got.Rules[0].ID {
			continue
		}
		want := got.Rules[0].Rule
		want.Paused = false
		if !reflect.DeepEqual(plain(cl.Rule), plain(want)) {
			t.Errorf("claimed rule %#v, want %#v", plain(cl.Rule), plain(want))
		}
		if !cl.Rule.Matchers.Matches(tagsOf(map[string]string{"host": "web-7", "env": "prod"})) {
			t.Error("a claimed rule's regex matchers do not match")
		}
	}
}

// Random rules (unicode text, every operator, any number) read back equal.
func testRuleRoundTripRandom(t *testing.T, tg sqldbtest.Target) {
	s, c := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "prop")
	rnd := rand.New(rand.NewPCG(12, 34))
	for trial := range 60 {
		want := randomRule(rnd, tn)
		r, err := s.CreateRule(c, want, base, base)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		want.ID = r.ID
		if trial%2 == 1 { // half of them through UpdateRule
			want = randomRule(rnd, tn)
			want.ID = r.ID
			if err := s.UpdateRule(c, want, base, base+1); err != nil {
				t.Fatalf("trial %d: %v", trial, err)
			}
		}
		got, err := s.GetRule(c, tn, r.ID)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		if want = want.WithEmptyCollections(); !reflect.DeepEqual(plain(got.Rule), plain(want)) {
			t.Fatalf("trial %d:\n got %#v\nwant %#v", trial, plain(got.Rule), plain(want))
		}
		for i, m := range got.Matchers {
			for _, re := range regexes {
				if m.Value != re.re || (m.Op != alert.MatchRegexp && m.Op != alert.MatchNotRegex) {
					continue
				}
				if yes := m.Op == alert.MatchRegexp; m.Matches(re.yes) != yes || m.Matches(re.no) == yes {
					t.Errorf("trial %d: matcher %d (%s %q) read back does not match as compiled", trial, i, m.Op, m.Value)
				}
			}
		}
	}
}

// regexes are the regex matchers' values, with a value each matches and
// one it does not.
var regexes = []struct{ re, yes, no string }{
	{"[a-z]+", "abc", "ABC"}, {"web-(0|[1-9][0-9]*)", "web-10", "web-01"}, {"x.*", "xyz", "yx"}, {"é|ü", "ü", "u"}, {`\d{2,3}`, "123", "1"},
}

func randomRule(rnd *rand.Rand, tenantID int64) alert.Rule {
	pick := func(n int) int { return rnd.IntN(n) }
	r := alert.Rule{
		TenantID: tenantID, Name: randText(rnd, 1+pick(40)), Metric: "m." + strings.Repeat("x", 1+pick(20)),
		Agg: alert.Aggs[pick(len(alert.Aggs))], Op: alert.Comparators[pick(len(alert.Comparators))],
		Window: time.Duration(10+pick(86390)) * time.Second, Cadence: time.Duration(1+pick(3600)) * time.Second,
		For: time.Duration(pick(1_000_000)) * time.Millisecond, KeepFiringFor: time.Duration(pick(1_000_000)) * time.Millisecond,
		NoData: alert.NoDataPolicies[pick(len(alert.NoDataPolicies))], Severity: alert.Severities[pick(len(alert.Severities))],
		Paused: pick(2) == 0,
	}
	switch pick(4) {
	case 0:
		r.Threshold = rnd.NormFloat64() * 1e6
	case 1:
		r.Threshold = math.Float64frombits(rnd.Uint64()&^(0x7ff<<52) | uint64(1+pick(2045))<<52) // any finite exponent
	case 2:
		r.Threshold = float64(pick(100))
	}
	ops := []alert.MatchOp{alert.MatchEqual, alert.MatchNotEqual, alert.MatchRegexp, alert.MatchNotRegex}
	for range pick(6) {
		m := alert.Matcher{Tag: randText(rnd, 1+pick(10)), Op: ops[pick(4)]}
		if m.Op == alert.MatchRegexp || m.Op == alert.MatchNotRegex {
			m.Value = regexes[pick(len(regexes))].re
		} else {
			m.Value = randText(rnd, pick(30))
		}
		r.Matchers = append(r.Matchers, m)
	}
	if pick(3) > 0 {
		r.Labels, r.Annotations = map[string]string{}, map[string]string{}
		for range pick(8) {
			r.Labels[randText(rnd, 1+pick(12))] = randText(rnd, pick(60))
			r.Annotations[randText(rnd, 1+pick(12))] = randText(rnd, pick(200))
		}
		for i := range pick(4) {
			r.GroupBy = append(r.GroupBy, "k"+string(rune('a'+i))+randText(rnd, pick(5)))
			r.Channels = append(r.Channels, 1+rnd.Int64N(1<<40))
		}
	}
	return r
}

var alphabet = []rune("aZ_09.:-\"\\/\n\t\u0000\u2028<>&{}$é€😀ß漢 ")

func randText(rnd *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteRune(alphabet[rnd.IntN(len(alphabet))])
	}
	return b.String()
}
