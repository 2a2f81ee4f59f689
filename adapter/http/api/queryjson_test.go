package api

import (
	"bytes"
	stdjson "encoding/json"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"testing"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// The hand-rendered answer is byte for byte encoding/json's rendering of
// the same answer, for awkward floats, tags that need escaping and both
// cursor states.
func TestWriteQueryAnswerMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	awkward := []float64{0, -0.0, 1, -1.5, 0.1, 1e-6, 9.99e-7, 1e-7, 1.5e-300, 1e20, 1e21, 1.2345e22, -3.25e-300,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 123456.789012345, 42, 1e100}
	for trial := 0; trial < 300; trial++ {
		page := metric.Page{}
		for s := 0; s < r.IntN(4); s++ {
			sp := metric.SeriesPoints{Tags: metric.SortedTags(map[string]string{"host": "a\"<>&\u2028\x01", "dc": string(rune('a' + s))})}
			for i := 0; i < r.IntN(20); i++ {
				pick := func() float64 {
					if r.IntN(2) == 0 {
						return awkward[r.IntN(len(awkward))]
					}
					return r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
				}
				p := metric.Point{TS: r.Int64N(1 << 42), Value: pick(), Count: r.Int64N(1000)}
				p.Min, p.Max = p.Value, p.Value
				if r.IntN(2) == 0 {
					p.Min, p.Max = pick(), pick()
				}
				sp.Points = append(sp.Points, p)
			}
			page.Series = append(page.Series, sp)
		}
		if r.IntN(2) == 0 {
			page.Next = metric.Cursor{SeriesID: r.Int64N(1 << 40), TS: r.Int64N(1 << 42), Set: true}
		}
		name, interval, agg := "cpu.\"load\"", "5m", "max"
		rec := httptest.NewRecorder()
		if err := writeQueryAnswer(rec, name, interval, agg, page); err != nil {
			t.Fatal(err)
		}
		want, err := stdjson.Marshal(answerOf(name, interval, agg, page))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		if got := rec.Body.Bytes(); !bytes.Equal(got, want) {
			t.Fatalf("trial %d:\n got %s\nwant %s", trial, got, want)
		}
	}
}
