package publish_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pulsemetrics/pulse/adapter/mqtt/publish"
	"github.com/pulsemetrics/pulse/adapter/samplejson"
	"github.com/pulsemetrics/pulse/domain/agentmetric"
	"github.com/pulsemetrics/pulse/domain/metric"
)

// The agent's batches travel as Pulse's sample JSON and are read by the
// same decoder as every door (samplejson.Decode). Whatever the agent may
// publish (a batch agentmetric.Validate accepts, tags Pulse accepts) must
// decode back to the same samples: name, value, tags, and the batch time
// to the millisecond.

var rtValues = []float64{
	0, 1, -1, 0.5, 0.1, 1.0 / 3, math.Pi, -2.5e-3, 42, 1e6,
	999999999999999, -999999999999999, 1e15, -1e15, 1e15 + 1, 1 << 53, 1<<53 + 2, 9.223372036854775807e18,
	1e20, 1e21, 1.2345e22, 1e-6, 9.99e-7, 1e-7, 1e-300, 1e300,
	math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 0x1p-1022,
	123456789012, 0.125, 2.220446049250313e-16,
}

var rtNames = []string{agentmetric.CPUUtilization, agentmetric.FSUsage, agentmetric.NetworkIORate,
	agentmetric.SpoolDropped, "a", "_", "Z9", "x.y:z-w_v"}

const keyFirst = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
const keyRest = keyFirst + "0123456789.:-"

func rtName(r *rand.Rand, n int) string {
	b := []byte{keyFirst[r.IntN(len(keyFirst))]}
	for len(b) < n {
		b = append(b, keyRest[r.IntN(len(keyRest))])
	}
	return string(b)
}

// rtText returns up to n bytes of valid UTF-8 with what JSON must escape:
// quotes, backslashes, control characters, U+2028/9, HTML's <>&.
func rtText(r *rand.Rand, n int) string {
	pieces := []string{"\"", "\\", "\x00", "\x01", "\x1f", "\t", "\n", "\r", "\u2028", "\u2029", "<", ">", "&",
		"ü", "東京", "😀", "\ufffd", "\x7f", "/", "'", " ", "/dev/sda1", "/mnt/my disk"}
	var b strings.Builder
	for b.Len() < n {
		p := pieces[r.IntN(len(pieces))]
		if r.IntN(3) > 0 {
			p = string(rune('a' + r.IntN(26)))
		}
		if b.Len()+len(p) > n {
			break
		}
		b.WriteString(p)
	}
	return b.String()
}

func rtBatch(r *rand.Rand) agentmetric.Batch {
	// Batch times a Pulse number ts carries exactly as milliseconds: from
	// 1e11 ms (1973-03-03; below, a number is read as seconds) to 2200
	// (samplejson computes µs in a float64, exact below 2^53 µs, ~2255).
	lo, hi := int64(1e11), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	at := time.UnixMilli(lo + r.Int64N(hi-lo)).Add(time.Duration(r.IntN(1e6)))
	switch r.IntN(5) {
	case 0:
		at = time.UnixMilli(lo)
	case 1:
		at = time.UnixMilli(hi)
	case 2:
		at = time.Date(2026, 11, 25, 10, 0, 0, r.IntN(1e9), time.FixedZone("CET", 3600))
	}
	b := agentmetric.Batch{At: at, Samples: make([]agentmetric.Sample, r.IntN(60))}
	for i := range b.Samples {
		s := agentmetric.Sample{Name: rtNames[r.IntN(len(rtNames))]}
		if r.IntN(4) == 0 {
			s.Name = rtName(r, 1+r.IntN(200))
		}
		switch r.IntN(3) {
		case 0:
			s.Value = rtValues[r.IntN(len(rtValues))]
		case 1:
			s.Value = r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
		default:
			s.Value = float64(r.Int64N(1<<53) - 1<<52)
		}
		if r.IntN(2) == 0 {
			s.Value = -s.Value
		}
		if n := r.IntN(6); n > 0 || r.IntN(2) == 0 {
			if r.IntN(20) == 0 {
				n = metric.DefaultLimits().MaxTags
			}
			s.Tags = make(map[string]string, n)
			for len(s.Tags) < n {
				s.Tags[rtName(r, 1+r.IntN(64))] = rtText(r, r.IntN(257))
			}
		}
		b.Samples[i] = s
	}
	return b
}

func TestEncodeRoundTripsThroughSampleJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 4))
	trials := 1000
	if testing.Short() {
		trials = 100
	}
	for trial := range trials {
		b := rtBatch(r)
		if err := b.Validate(); err != nil {
			t.Fatalf("trial %d: generated an invalid batch: %v", trial, err)
		}
		checkAgentRoundTrip(t, fmt.Sprintf("trial %d", trial), b)
	}
}

func TestEncodeRoundTripsEdgeCases(t *testing.T) {
	at := time.UnixMilli(1_800_000_000_123)
	cases := map[string]agentmetric.Batch{
		"empty batch":   {At: at},
		"nil tags":      {At: at, Samples: []agentmetric.Sample{{Name: "a", Value: 1}}},
		"empty tags":    {At: at, Samples: []agentmetric.Sample{{Name: "a", Value: 1, Tags: map[string]string{}}}},
		"empty value":   {At: at, Samples: []agentmetric.Sample{{Name: "a", Value: 2, Tags: map[string]string{"k": ""}}}},
		"control chars": {At: at, Samples: []agentmetric.Sample{{Name: "a", Value: 3, Tags: map[string]string{"k": "\x00\x01\x1f\x7f\u2028"}}}},
		"extremes": {At: at, Samples: []agentmetric.Sample{{Name: "a", Value: math.MaxFloat64}, {Name: "a", Value: -math.MaxFloat64},
			{Name: "a", Value: math.SmallestNonzeroFloat64}, {Name: "a", Value: 1e15}, {Name: "a", Value: 1<<53 + 2}}},
		"10,000 samples": func() agentmetric.Batch {
			b := agentmetric.Batch{At: at}
			for i := range 10000 {
				b.Samples = append(b.Samples, agentmetric.Sample{Name: agentmetric.CPUUtilization, Value: float64(i) / 10000,
					Tags: map[string]string{"cpu": fmt.Sprint(i % 64)}})
			}
			return b
		}(),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) { checkAgentRoundTrip(t, name, b) })
	}
}

func checkAgentRoundTrip(t *testing.T, what string, b agentmetric.Batch) {
	t.Helper()
	p, err := publish.Encode(b)
	if err != nil {
		t.Fatalf("%s: encode: %v", what, err)
	}
	if !utf8.Valid(p) {
		t.Fatalf("%s: payload is not UTF-8: %q", what, p)
	}
	inputs, bad, err := samplejson.Decode(p, len(b.Samples)+1)
	if err != nil || len(bad) > 0 {
		t.Fatalf("%s: decode: %v %v\n%s", what, err, bad, p)
	}
	if len(inputs) != len(b.Samples) {
		t.Fatalf("%s: %d samples decoded, want %d", what, len(inputs), len(b.Samples))
	}
	for i, s := range b.Samples {
		in := inputs[i]
		if in.Name != s.Name || !in.HasValue || !sameValue(in.Value, s.Value) || !in.HasTS ||
			in.TS.UnixMilli() != b.At.UnixMilli() || in.DedupeID != "" || !sameTags(in.Tags, s.Tags) {
			t.Fatalf("%s: sample %d: sent %q %v (%#x) %q at %d ms,\ndecoded %q %v (%#x) %q at %d ms (has value %v, has ts %v)\n%s",
				what, i, s.Name, s.Value, math.Float64bits(s.Value), s.Tags, b.At.UnixMilli(),
				in.Name, in.Value, math.Float64bits(in.Value), in.Tags, in.TS.UnixMilli(), in.HasValue, in.HasTS, p)
		}
	}
}

// sameValue compares bit for bit (-0 included).
func sameValue(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b)
}

func sameTags(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// -0 keeps its sign through the agent's encoding, as through encoding/json.
func TestEncodeKeepsTheSignOfZero(t *testing.T) {
	p, err := publish.Encode(agentmetric.Batch{At: time.UnixMilli(1_800_000_000_000), Samples: []agentmetric.Sample{{Name: "a", Value: math.Copysign(0, -1)}}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(p), `"value":-0,`) {
		t.Fatalf("payload %s: want -0", p)
	}
}
