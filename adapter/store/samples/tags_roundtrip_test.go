package samples

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// A series' tags are stored as JSON (encodeTags) and read back with
// decodeTags (a widget's tag filter: adapter/store/dashboards).
// Any tag set the domain accepts (up to 32 tags, keys of the name pattern
// up to 64 bytes, values of valid UTF-8 up to 256 bytes, every character
// JSON escapes) must come back equal, and the same set must always store
// the same bytes (the series lookup compares them).

const rtKeyFirst = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
const rtKeyRest = rtKeyFirst + "0123456789.:-"

func rtTags(r *rand.Rand) map[string]string {
	lim := metric.DefaultLimits()
	n := r.IntN(6)
	if r.IntN(10) == 0 {
		n = lim.MaxTags
	}
	pieces := []string{"\"", "\\", "/", "<", ">", "&", "\u2028", "\u2029", "\x00", "\x01", "\x1f", "\x7f", "\t", "\n",
		"ü", "東京", "😀", "\ufffd", "\u00a0", "'", " ", "a", "Z", "0", "{}", "[", ":", ","}
	m := make(map[string]string, n)
	for len(m) < n {
		k := []byte{rtKeyFirst[r.IntN(len(rtKeyFirst))]}
		for kl := r.IntN(lim.MaxTagKeyBytes); len(k) < kl+1; {
			k = append(k, rtKeyRest[r.IntN(len(rtKeyRest))])
		}
		var v strings.Builder
		for vl := r.IntN(lim.MaxTagValueBytes + 1); ; {
			p := pieces[r.IntN(len(pieces))]
			if v.Len()+len(p) > vl {
				break
			}
			v.WriteString(p)
		}
		m[string(k)] = v.String()
	}
	return m
}

func TestSeriesTagsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 15))
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for trial := range 3000 {
		m := rtTags(r)
		s, errs := metric.New(metric.Input{Name: "m", Value: 1, HasValue: true, Tags: m}, metric.DefaultLimits(), now)
		if len(errs) > 0 {
			t.Fatalf("trial %d: generated tags the domain refuses: %v", trial, errs)
		}
		enc, err := encodeTags(s.Tags())
		if err != nil {
			t.Fatalf("trial %d: encode: %v", trial, err)
		}
		again, err := encodeTags(metric.SortedTags(m))
		if err != nil || again != enc {
			t.Fatalf("trial %d: the same tags encode differently: %q and %q (%v)", trial, enc, again, err)
		}
		got, err := decodeTags(enc)
		if err != nil {
			t.Fatalf("trial %d: decode %q: %v", trial, enc, err)
		}
		if len(got) != len(s.Tags()) {
			t.Fatalf("trial %d: %d tags back, want %d", trial, len(got), len(s.Tags()))
		}
		for i, tg := range s.Tags() {
			if got[i] != tg {
				t.Fatalf("trial %d: tag %d = %q, want %q (stored %s)", trial, i, got[i], tg, enc)
			}
		}
		if metric.HashSeries(s.Name(), got) != s.Series() {
			t.Fatalf("trial %d: the tags read back name another series", trial)
		}

	}
	if enc, err := encodeTags(nil); err != nil || enc != "{}" {
		t.Fatalf("no tags encode to %q (%v), want {}", enc, err)
	}
	if got, err := decodeTags("{}"); err != nil || len(got) != 0 {
		t.Fatalf("{} decodes to %v (%v), want no tags", got, err)
	}
}
