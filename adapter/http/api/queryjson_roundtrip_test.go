package api

import (
	"bytes"
	stdjson "encoding/json"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// The hand-rendered query answer read back with encoding/json is the page
// that was rendered: every point's ts, count and values bit for bit, every
// tag, and the cursor (decodeCursor(encodeCursor(c)) == c for any c). It is
// also byte for byte encoding/json's rendering. The generator includes
// what TestWriteQueryAnswerMatchesEncodingJSON does not: real negative
// zeros (math.Copysign; the literal -0.0 is +0 in Go), the int64 extremes
// of ts, count and cursor, and tag values with every character JSON
// escapes.

var rtFloats = []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, -1e21, 1.2345e22,
	1.5e-300, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64,
	0x1p-1022, 1 << 53, 1<<53 + 2, 123456.789012345, 1e100, 2.220446049250313e-16}

var rtInt64s = []int64{0, 1, -1, math.MaxInt64, math.MinInt64, 1 << 53, 1<<53 + 1, 1_800_000_000_123}

func rtFloat(r *rand.Rand) float64 {
	if r.IntN(2) == 0 {
		return rtFloats[r.IntN(len(rtFloats))]
	}
	return r.NormFloat64() * math.Pow(10, float64(r.IntN(600)-300))
}

func rtInt64(r *rand.Rand) int64 {
	if r.IntN(3) == 0 {
		return rtInt64s[r.IntN(len(rtInt64s))]
	}
	return int64(r.Uint64())
}

func rtTagText(r *rand.Rand) string {
	pieces := []string{"\"", "\\", "/", "<", ">", "&", "\u2028", "\u2029", "\x00", "\x01", "\x1f", "\x7f", "\t", "\n",
		"ü", "東京", "😀", "\ufffd", "\u00a0", "'", " ", "a", "Z", "0"}
	var b strings.Builder
	for range r.IntN(40) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// mixedZero reports a point whose min or max is a zero of the other sign
// than its value: the case TestQueryAnswerKeepsTheSignOfZero shows wrong.
func mixedZero(p metric.Point) bool {
	z := func(a, b float64) bool { return a == 0 && b == 0 && math.Signbit(a) != math.Signbit(b) }
	return z(p.Value, p.Min) || z(p.Value, p.Max)
}

func rtPage(r *rand.Rand) metric.Page {
	var page metric.Page
	for s := 0; s < r.IntN(4); s++ {
		tags := map[string]string{}
		for k := 0; k < r.IntN(4); k++ {
			tags[string(rune('a'+k))+"_key.x:y-z"] = rtTagText(r)
		}
		sp := metric.SeriesPoints{Tags: metric.SortedTags(tags)}
		for i := 0; i < r.IntN(30); i++ {
			p := metric.Point{TS: rtInt64(r), Value: rtFloat(r), Count: rtInt64(r)}
			p.Min, p.Max, p.Sum = p.Value, p.Value, p.Value
			if r.IntN(2) == 0 {
				p.Min, p.Max = rtFloat(r), rtFloat(r)
			}
			if mixedZero(p) {
				continue
			}
			sp.Points = append(sp.Points, p)
		}
		page.Series = append(page.Series, sp)
	}
	if r.IntN(2) == 0 {
		page.Next = metric.Cursor{SeriesID: rtInt64(r), TS: rtInt64(r), Set: true}
	}
	return page
}

func TestQueryAnswerRoundTrips(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 13))
	names := []string{"cpu.load", "a", "x.y:z-w_v", "\"quoted\"<&>\u2028"}
	for trial := range 2000 {
		page := rtPage(r)
		name, interval, agg := names[r.IntN(len(names))], []string{"raw", "1m", "5m", "1h"}[r.IntN(4)], []string{"avg", "min", "max", "sum", "count"}[r.IntN(5)]
		rec := httptest.NewRecorder()
		if err := writeQueryAnswer(rec, name, interval, agg, page); err != nil {
			t.Fatal(err)
		}
		body := rec.Body.Bytes()
		want := answerOf(name, interval, agg, page)
		if std, err := stdjson.Marshal(want); err != nil || !bytes.Equal(body, append(std, '\n')) {
			t.Fatalf("trial %d: rendering differs from encoding/json (%v):\n got %s\nwant %s", trial, err, body, std)
		}
		var got queryAnswer
		if err := stdjson.Unmarshal(body, &got); err != nil {
			t.Fatalf("trial %d: %v\n%s", trial, err, body)
		}
		if got.Name != name || got.Interval != interval || got.Agg != agg || len(got.Series) != len(page.Series) {
			t.Fatalf("trial %d: header or series count differ: %s", trial, body)
		}
		for i, sp := range page.Series {
			gs := got.Series[i]
			if len(gs.Tags) != len(sp.Tags) || len(gs.Points) != len(sp.Points) {
				t.Fatalf("trial %d series %d: %d tags %d points, want %d and %d", trial, i, len(gs.Tags), len(gs.Points), len(sp.Tags), len(sp.Points))
			}
			for _, tg := range sp.Tags {
				if gs.Tags[tg.Key] != tg.Value {
					t.Fatalf("trial %d series %d: tag %s = %q, want %q", trial, i, tg.Key, gs.Tags[tg.Key], tg.Value)
				}
			}
			for j, p := range sp.Points {
				g := gs.Points[j]
				if g.TS != p.TS || g.Count != p.Count || math.Float64bits(g.Value) != math.Float64bits(p.Value) ||
					math.Float64bits(g.Min) != math.Float64bits(p.Min) || math.Float64bits(g.Max) != math.Float64bits(p.Max) {
					t.Fatalf("trial %d series %d point %d: got %+v, want %+v", trial, i, j, g, p)
				}
			}
		}
		switch {
		case page.Next.Set != (got.NextCursor != nil):
			t.Fatalf("trial %d: cursor set %v, next_cursor %v", trial, page.Next.Set, got.NextCursor)
		case page.Next.Set:
			c, ok := decodeCursor(*got.NextCursor)
			if !ok || c != page.Next {
				t.Fatalf("trial %d: cursor %q decodes to %+v (%v), want %+v", trial, *got.NextCursor, c, ok, page.Next)
			}
		}
	}
}

// A rollup point whose min is -0 and whose average is +0 (or the reverse)
// renders min as its value's text: "min":0 where encoding/json writes
// "min":-0, so the answer is not byte for byte encoding/json's and the sign
// is lost. appendPoint reuses the value's text when p.Min == p.Value, and
// -0 == +0. Harmless for a chart, but the rendering's promise is exactness.
func TestQueryAnswerKeepsTheSignOfZero(t *testing.T) {
	negZero := math.Copysign(0, -1)
	page := metric.Page{Series: []metric.SeriesPoints{{Points: []metric.Point{
		{TS: 1, Value: 0, Min: negZero, Max: 0, Count: 2},
		{TS: 2, Value: negZero, Min: negZero, Max: 0, Count: 2},
	}}}}
	rec := httptest.NewRecorder()
	if err := writeQueryAnswer(rec, "m", "1m", "avg", page); err != nil {
		t.Fatal(err)
	}
	want, _ := stdjson.Marshal(answerOf("m", "1m", "avg", page))
	if got := rec.Body.Bytes(); !bytes.Equal(got, append(want, '\n')) {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
}
