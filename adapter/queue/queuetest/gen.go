package queuetest

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// This file generates batches for the round-trip properties of every batch
// codec and every queue: any batch whose samples pass domain validation
// encodes, enqueues, dequeues and decodes back equal. The generators only
// keep samples that metric.New accepts with metric.DefaultLimits() at the
// given now, so what they produce is what ingest can accept with a 202.

// GenNow is the server clock the generated samples are validated against.
var GenNow = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// Chooser is the source of a generator's choices: a *rand.Rand of
// math/rand/v2 for property tests, a FuzzChooser for fuzz targets.
type Chooser interface {
	// IntN returns a choice in [0, n); n > 0.
	IntN(n int) int
	// Uint64 returns 64 chosen bits.
	Uint64() uint64
}

// FuzzChooser turns fuzz input into choices: each choice consumes the next
// bytes of the input, and once they are used up every choice is 0 (so a
// short input still makes a batch, the simplest one).
type FuzzChooser struct{ data []byte }

// NewFuzzChooser returns a chooser reading data.
func NewFuzzChooser(data []byte) *FuzzChooser { return &FuzzChooser{data: data} }

func (c *FuzzChooser) take(n int) uint64 {
	var buf [8]byte
	k := copy(buf[:n], c.data)
	c.data = c.data[k:]
	return binary.LittleEndian.Uint64(buf[:])
}

// IntN reads one byte for n ≤ 256, two for n ≤ 65536, else eight.
func (c *FuzzChooser) IntN(n int) int {
	switch {
	case n <= 1:
		return 0
	case n <= 1<<8:
		return int(c.take(1) % uint64(n))
	case n <= 1<<16:
		return int(c.take(2) % uint64(n))
	default:
		return int(c.take(8) % uint64(n))
	}
}

// Uint64 reads eight bytes (little endian, zero-padded).
func (c *FuzzChooser) Uint64() uint64 { return c.take(8) }

// Lim is the limits the generated samples are validated with.
var Lim = metric.DefaultLimits()

// Values that codecs get wrong: signed zeros, the extremes, subnormals,
// integers past 2^53, and the non-finite ones validation refuses.
var awkwardValues = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.1, -2.5, 42,
	math.MaxFloat64, -math.MaxFloat64,
	math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64,
	0x1p-1022, -0x1p-1022, // the smallest normal numbers
	1 << 53, 1<<53 + 2, 9.223372036854775807e18, 1e21, 1e-7,
	math.NaN(), math.Inf(1), math.Inf(-1), // refused by validation
}

// Timestamp deltas from the previous sample, in ms: repeats, ±1, the
// one-byte varint edges (±63, 64, -64, -65), dense series and large jumps.
var awkwardDeltas = []int64{
	0, 0, 1, -1, 10, 10, -10, 63, 64, -64, -65, 127, 128, 1000, -1000,
	1 << 20, -1 << 20, 1 << 40, -1 << 40, 1 << 62, -1 << 62, math.MaxInt64, math.MinInt64,
}

// awkwardTS returns a sample's own timestamp (not one relative to the
// previous sample): absent, at either side of the MaxFuture edge, the
// extremes of the ms range, any past ms, or recent.
func awkwardTS(c Chooser, now time.Time) (time.Time, bool) {
	maxFuture := now.Add(Lim.MaxFuture)
	switch c.IntN(12) {
	case 0:
		return time.Time{}, false // not given: the server's clock
	case 1:
		return maxFuture, true // the latest allowed
	case 2:
		return maxFuture.Add(time.Millisecond), true // refused
	case 3:
		return time.UnixMilli(math.MinInt64), true // the earliest ms ts
	case 4:
		return time.UnixMilli(0), true
	case 5:
		return time.UnixMilli(-1), true
	case 6:
		return time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), true
	case 7:
		// Any ms ts up to now+MaxFuture, with a sub-ms part validation drops.
		ms := int64(c.Uint64())
		if ms > maxFuture.UnixMilli() {
			ms = maxFuture.UnixMilli() - ms%(1<<41)
		}
		return time.UnixMilli(ms).Add(time.Duration(c.IntN(1_000_000))), true
	default:
		// Recent: within a day before now, at any µs.
		return now.Add(-time.Duration(c.IntN(86_400_000_000)) * time.Microsecond), true
	}
}

func genValue(c Chooser) float64 {
	switch c.IntN(4) {
	case 0:
		return awkwardValues[c.IntN(len(awkwardValues))]
	case 1:
		return math.Float64frombits(c.Uint64()) // any bits, NaNs included
	case 2:
		return float64(int64(c.Uint64())>>uint(c.IntN(64))) / float64(int64(1)<<c.IntN(60))
	default:
		return float64(c.IntN(1000))
	}
}

const nameFirst = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
const nameRest = nameFirst + "0123456789.:-"

// genName returns a name matching [A-Za-z_][A-Za-z0-9_.:-]* of n bytes.
func genName(c Chooser, n int) string {
	if n <= 0 {
		return ""
	}
	b := make([]byte, n)
	b[0] = nameFirst[c.IntN(len(nameFirst))]
	for i := 1; i < n; i++ {
		b[i] = nameRest[c.IntN(len(nameRest))]
	}
	return string(b)
}

// genBytes returns n bytes of UTF-8 (ASCII, multi-byte runes, U+2028,
// quotes and backslashes, a NUL) or, one time in eight, n arbitrary bytes
// (invalid UTF-8 included, which validation may refuse).
func genBytes(c Chooser, n int) string {
	var b strings.Builder
	if c.IntN(8) == 0 {
		for b.Len() < n {
			b.WriteByte(byte(c.IntN(256)))
		}
		return b.String()
	}
	pieces := []string{"ü", "✓", "😀", "\u2028", "\"", "\\", "<&>", "\n", " ", "\x00", "\ufffd", "東京"}
	for b.Len() < n {
		if c.IntN(4) == 0 {
			if p := pieces[c.IntN(len(pieces))]; b.Len()+len(p) <= n {
				b.WriteString(p)
				continue
			}
		}
		b.WriteByte(byte(' ' + c.IntN(95)))
	}
	return b.String()
}

// genLen returns a length in [0, max], biased to short ones and the limit.
func genLen(c Chooser, max int) int {
	switch c.IntN(10) {
	case 0, 1:
		return max
	case 2:
		return c.IntN(max + 1)
	default:
		return c.IntN(min(max, 12) + 1)
	}
}

type series struct {
	name string
	tags map[string]string
}

// genSeries returns a series within the limits, or (one in ten) one that
// breaks exactly one of them by the least amount, which validation refuses.
func genSeries(c Chooser) series {
	s := series{name: genName(c, max(1, genLen(c, Lim.MaxNameBytes)))}
	n := 0
	switch c.IntN(8) {
	case 0:
	case 1:
		n = Lim.MaxTags
	default:
		n = c.IntN(5)
	}
	if n > 0 {
		s.tags = make(map[string]string, n)
		for try := 0; len(s.tags) < n && try < 4*n; try++ {
			k := genName(c, max(1, genLen(c, Lim.MaxTagKeyBytes)))
			if _, dup := s.tags[k]; !dup {
				s.tags[k] = genBytes(c, genLen(c, Lim.MaxTagValueBytes))
			}
		}
	}
	if c.IntN(10) == 0 {
		switch c.IntN(8) {
		case 0:
			s.name = genName(c, Lim.MaxNameBytes+1)
		case 1:
			s.name = []string{"", "9lives", "a b", "ü", "-x"}[c.IntN(5)]
		case 2:
			if s.tags == nil {
				s.tags = map[string]string{}
			}
			for i := len(s.tags); i <= Lim.MaxTags; i++ {
				s.tags[fmt.Sprintf("extra%02d", i)] = ""
			}
		case 3:
			s.tags = map[string]string{genName(c, Lim.MaxTagKeyBytes+1): "v"}
		case 4:
			s.tags = map[string]string{"k": genBytes(c, Lim.MaxTagValueBytes+1)}
		default:
			s.tags = map[string]string{[]string{"", "1x", "a=b", "ü"}[c.IntN(4)]: "v"}
		}
	}
	return s
}

func genDedupe(c Chooser) string {
	switch c.IntN(6) {
	case 0:
		return genBytes(c, genLen(c, Lim.MaxDedupeIDBytes))
	case 1:
		if c.IntN(10) == 0 {
			return genBytes(c, Lim.MaxDedupeIDBytes+1) // refused
		}
		return genBytes(c, Lim.MaxDedupeIDBytes)
	default:
		return ""
	}
}

// validate keeps in only if the domain accepts it.
func validate(out []metric.Sample, in metric.Input, now time.Time) []metric.Sample {
	s, errs := metric.New(in, Lim, now)
	if len(errs) > 0 {
		return out
	}
	return append(out, s)
}

// genHeader returns a batch's id, tenant and accepted-at time: usually what
// ingest writes, sometimes extremes.
func genHeader(c Chooser, now time.Time) metric.Batch {
	var b metric.Batch
	switch c.IntN(6) {
	case 0:
		b.ID = genBytes(c, c.IntN(80))
	case 1:
		b.ID = ""
	default:
		b.ID = genName(c, 26)
	}
	switch c.IntN(6) {
	case 0:
		b.TenantID = int64(c.Uint64())
	case 1:
		b.TenantID = []int64{0, -1, math.MaxInt64, math.MinInt64}[c.IntN(4)]
	default:
		b.TenantID = int64(1 + c.IntN(1000))
	}
	switch c.IntN(8) {
	case 0:
		b.AcceptedAt = time.Time{}
	case 1:
		b.AcceptedAt = time.Unix(int64(c.Uint64()>>2)-1<<61, int64(c.IntN(1e9)))
	case 2:
		b.AcceptedAt = time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.FixedZone("X", -3600))
	default:
		b.AcceptedAt = now.Add(time.Duration(c.IntN(1e9))).Local() // a location and a wall clock
	}
	return b
}

// GenBatch returns a batch of 0 to a few hundred samples over one to a few
// series, every one of which passes metric.New(in, Lim, now): names and
// tags up to their limits, arbitrary tag value and dedupe id bytes, awkward
// values and timestamps (repeated, ±1 ms, dense, descending, large jumps,
// the extremes of the range). Inputs validation refuses are generated too
// and dropped, so the limits' edges are exercised from both sides.
func GenBatch(c Chooser, now time.Time) metric.Batch {
	b := genHeader(c, now)
	// A quarter of the batches are one sensor's: one series, no dedupe
	// ids, a small step (the samples that encode smallest).
	dense := c.IntN(4) == 0
	pool := make([]series, 1+c.IntN(4))
	if dense {
		pool = pool[:1]
	}
	for i := range pool {
		pool[i] = genSeries(c)
	}
	var n int
	switch c.IntN(8) {
	case 0:
		n = 0
	case 1:
		n = 100 + c.IntN(200)
	default:
		n = 1 + c.IntN(30)
	}
	// A batch follows one timestamp rule most of the time (as real clients
	// do), with one-off jumps mixed in.
	step := awkwardDeltas[c.IntN(len(awkwardDeltas))]
	if dense {
		step = awkwardDeltas[c.IntN(10)] // 0 to ±64 ms
	}
	cur := series{}
	var prev time.Time
	havePrev := false
	for i := 0; i < n; i++ {
		if i == 0 || c.IntN(4) == 0 {
			cur = pool[c.IntN(len(pool))]
		}
		in := metric.Input{Name: cur.name, Tags: cur.tags, Value: genValue(c), HasValue: c.IntN(40) != 0}
		if !dense {
			in.DedupeID = genDedupe(c)
		}
		switch k := c.IntN(10); {
		case !havePrev || k == 0:
			in.TS, in.HasTS = awkwardTS(c, now)
		case k == 1:
			in.TS, in.HasTS = time.UnixMilli(prev.UnixMilli()+awkwardDeltas[c.IntN(len(awkwardDeltas))]), true
		default:
			in.TS, in.HasTS = time.UnixMilli(prev.UnixMilli()+step), true
		}
		before := len(b.Samples)
		b.Samples = validate(b.Samples, in, now)
		if len(b.Samples) > before {
			prev, havePrev = b.Samples[len(b.Samples)-1].Time(), true
		}
	}
	return b
}

// Shape is a named batch of a shape real clients send and codecs must not
// get wrong.
type Shape struct {
	Name  string
	Batch metric.Batch
}

// Shapes returns the batches every codec and queue must carry whole: a
// 100 Hz sensor (100 samples of one series 10 ms apart, as one POST or one
// MQTT message), 10,000 samples 1 ms apart, repeated and descending
// timestamps, the most and longest tags, extreme values and the empty batch.
// Every sample passes metric.New(in, Lim, now).
func Shapes(now time.Time) []Shape {
	head := func(id string) metric.Batch {
		return metric.Batch{ID: id, TenantID: 7, AcceptedAt: now.Add(123456789)}
	}
	one := func(name string, tags map[string]string, n int, first, step int64, value func(i int) float64, dedupe func(i int) string) metric.Batch {
		b := head(name)
		for i := range n {
			in := metric.Input{Name: name, Tags: tags, Value: value(i), HasValue: true,
				TS: time.UnixMilli(first + int64(i)*step), HasTS: true, DedupeID: dedupe(i)}
			s, errs := metric.New(in, Lim, now)
			if len(errs) > 0 {
				panic(fmt.Sprintf("queuetest: shape %s sample %d is invalid: %v", name, i, errs))
			}
			b.Samples = append(b.Samples, s)
		}
		return b
	}
	base := now.Add(-time.Hour).UnixMilli()
	ramp := func(i int) float64 { return 20 + float64(i)/100 }
	noDedupe := func(int) string { return "" }
	sensor := map[string]string{"sensor": "s-17", "site": "lab"}
	maxTags := make(map[string]string, Lim.MaxTags)
	for i := range Lim.MaxTags {
		k := fmt.Sprintf("k%02d", i) + strings.Repeat("x", Lim.MaxTagKeyBytes-3)
		maxTags[k] = strings.Repeat(string(rune('a'+i%26)), Lim.MaxTagValueBytes-len("😀")) + "😀"
	}
	extremes := []float64{math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64,
		math.Copysign(0, -1), 0, 0x1p-1022, 1 << 53}
	shapes := []Shape{
		{"empty batch", head("empty")},
		{"100 Hz sensor: 100 samples 10 ms apart", one("sensor.temp", sensor, 100, base, 10, ramp, noDedupe)},
		{"10,000 samples 1 ms apart", one("sensor.vibration", sensor, 10000, base, 1, ramp, noDedupe)},
		{"1,000 samples at the same ts", one("counter", nil, 1000, base, 0, ramp, noDedupe)},
		{"descending ts, 1 ms apart", one("backfill", sensor, 500, base, -1, ramp, noDedupe)},
		{"descending ts, 10 ms apart", one("backfill", sensor, 500, base, -10, ramp, noDedupe)},
		{"64 ms apart (two-byte deltas)", one("slow", nil, 100, base, 64, ramp, noDedupe)},
		{"32 tags of the longest key and value", one("wide", maxTags, 200, base, 10, ramp, noDedupe)},
		{"longest name and dedupe ids", one(genName(constChooser{}, Lim.MaxNameBytes), sensor, 50, base, 1,
			ramp, func(i int) string { return fmt.Sprintf("%0128d", i) })},
		{"extreme values", one("extreme", sensor, 8*4, base, 1, func(i int) float64 { return extremes[i%len(extremes)] }, noDedupe)},
		{"extreme timestamps", func() metric.Batch {
			b := head("extreme-ts")
			for _, ms := range []int64{math.MinInt64, now.Add(Lim.MaxFuture).UnixMilli(), math.MinInt64 + 1, 0, -1, 1, now.UnixMilli()} {
				s, errs := metric.New(metric.Input{Name: "ts", Value: 1, HasValue: true, TS: time.UnixMilli(ms), HasTS: true}, Lim, now)
				if len(errs) > 0 {
					panic(fmt.Sprintf("queuetest: ts %d is invalid: %v", ms, errs))
				}
				b.Samples = append(b.Samples, s)
			}
			return b
		}()},
	}
	return shapes
}

// constChooser always chooses 0.
type constChooser struct{}

func (constChooser) IntN(int) int   { return 0 }
func (constChooser) Uint64() uint64 { return 0 }

// Dense returns the batch of the issue: 100 samples of one series 10 ms
// apart, which encoded to 10 bytes each and made the whole batch unreadable.
func Dense(now time.Time) metric.Batch { return Shapes(now)[1].Batch }

// Diff describes the first difference between two batches ("" if equal).
// Values compare bit for bit (so -0 differs from 0 and NaN equals the same
// NaN); nil and empty tags are equal; AcceptedAt compares as an instant
// (codecs keep neither its location nor its monotonic reading).
func Diff(want, got metric.Batch) string {
	if want.ID != got.ID || want.TenantID != got.TenantID || !want.AcceptedAt.Equal(got.AcceptedAt) {
		return fmt.Sprintf("header: want %q/%d/%v, got %q/%d/%v", want.ID, want.TenantID, want.AcceptedAt, got.ID, got.TenantID, got.AcceptedAt)
	}
	if len(want.Samples) != len(got.Samples) {
		return fmt.Sprintf("want %d samples, got %d", len(want.Samples), len(got.Samples))
	}
	for i, w := range want.Samples {
		g := got.Samples[i]
		if w.Name() != g.Name() || math.Float64bits(w.Value()) != math.Float64bits(g.Value()) ||
			w.TimestampMillis() != g.TimestampMillis() || w.DedupeID() != g.DedupeID() ||
			!sameTags(w.Tags(), g.Tags()) || w.Series() != g.Series() {
			return fmt.Sprintf("sample %d: want %q %v (%#x) %q %d %q, got %q %v (%#x) %q %d %q", i,
				w.Name(), w.Value(), math.Float64bits(w.Value()), w.Tags(), w.TimestampMillis(), w.DedupeID(),
				g.Name(), g.Value(), math.Float64bits(g.Value()), g.Tags(), g.TimestampMillis(), g.DedupeID())
		}
	}
	return ""
}

func sameTags(a, b metric.Tags) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
