package cli

import (
	"maps"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/samplejson"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/synth"
)

// FuzzEncoderRoundTrip: whatever valid sample `pulse generate` encodes
// (any name and tag the ingest contract accepts, any finite value, any
// timestamp) the server's decoder reads back exactly: nothing a burst sends
// is changed or lost on the way.
func FuzzEncoderRoundTrip(f *testing.F) {
	f.Add("cpu.load", "host", "web-1", 0.5, int64(1_796_400_000_000))
	f.Add("a", "k", `q"\<é`+"\u2028", -1e300, int64(86_400_123))
	f.Add("x.y_z", "dc", "eu west", 5e-324, int64(-62_000_000_000))
	f.Add("neg.zero", "k", "v", math.Copysign(0, -1), int64(0))
	f.Fuzz(func(t *testing.T, name, key, value string, v float64, ms int64) {
		if math.IsNaN(v) || math.IsInf(v, 0) || strings.ContainsAny(key+value, "{},") {
			t.Skip() // not a sample, or a tag template's syntax
		}
		ts := time.UnixMilli(ms % (1 << 42)).UTC()
		plan, err := synth.NewPlan(synth.Spec{Name: name, Pattern: synth.Noise, Tags: []string{key + "=" + value},
			Every: time.Second, Start: ts, End: ts.Add(time.Second)})
		if err != nil {
			t.Skip() // a name or tag the contract refuses
		}
		in := []metric.Input{{Name: name, Value: v, HasValue: true, Tags: plan.Series[0], TS: ts, HasTS: true}}
		body := newEncoder(plan).encode(nil, 0, in)
		got, bad, err := samplejson.Decode(body, 10)
		if err != nil || len(bad) > 0 || len(got) != 1 {
			t.Fatalf("decode %s: %v %v (%d samples)", body, err, bad, len(got))
		}
		g := got[0]
		if g.Name != name || math.Float64bits(g.Value) != math.Float64bits(v) || !g.HasTS || !g.TS.Equal(ts) || !maps.Equal(g.Tags, plan.Series[0]) {
			t.Fatalf("round trip of %s:\n got %+v\nwant %+v", body, g, in[0])
		}
	})
}
