package synth_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/synth"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// base is a valid spec: 3 series, a sample a second for 10 minutes, a
// period of one minute (60 samples), no noise; tests change what they test.
func base(p synth.Pattern) synth.Spec {
	return synth.Spec{
		Name: "synth.test", Pattern: p, Amplitude: 10, Offset: 100,
		Period: time.Minute, Tags: []string{"host=web-{1..3}"},
		Every: time.Second, Start: t0, End: t0.Add(10 * time.Minute), Seed: 42,
	}
}

func mustPlan(t testing.TB, s synth.Spec) synth.Plan {
	t.Helper()
	p, err := synth.NewPlan(s)
	if err != nil {
		t.Fatalf("NewPlan(%+v): %v", s, err)
	}
	return p
}

// generate runs the plan with the batch size and returns every sample. It
// keeps the batches themselves, as a callee may, and checks their sizes.
func generate(t testing.TB, p synth.Plan, size int) []metric.Input {
	t.Helper()
	var batches [][]metric.Input
	if err := p.Generate(size, func(b []metric.Input) error {
		batches = append(batches, b)
		return nil
	}); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	want := max(size, 1)
	var out []metric.Input
	for i, b := range batches {
		if len(b) == 0 || len(b) > want || (i < len(batches)-1 && len(b) != want) {
			t.Fatalf("batch %d of %d holds %d samples, batch size %d", i, len(batches), len(b), size)
		}
		out = append(out, b...)
	}
	return out
}

// values splits the samples by series (Generate emits every series at one
// instant, in Plan.Series order, then the next instant).
func values(t testing.TB, p synth.Plan, ins []metric.Input) [][]float64 {
	t.Helper()
	n := len(p.Series)
	if int64(len(ins)) != p.Samples() {
		t.Fatalf("%d samples, Plan.Samples() = %d", len(ins), p.Samples())
	}
	out := make([][]float64, n)
	for k, in := range ins {
		out[k%n] = append(out[k%n], in.Value)
	}
	return out
}

func series(t testing.TB, s synth.Spec) [][]float64 {
	t.Helper()
	p := mustPlan(t, s)
	return values(t, p, generate(t, p, 1000))
}

// digest is the sha256 of an encoding of every field of every sample, the
// value by its bits.
func digest(ins []metric.Input) string {
	h := sha256.New()
	var buf []byte
	for _, in := range ins {
		buf = append(buf[:0], in.Name...)
		buf = append(buf, 0)
		keys := make([]string, 0, len(in.Tags))
		for k := range in.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			buf = append(buf, k...)
			buf = append(buf, '=')
			buf = append(buf, in.Tags[k]...)
			buf = append(buf, 0)
		}
		buf = binary.BigEndian.AppendUint64(buf, uint64(in.TS.UnixNano()))
		buf = binary.BigEndian.AppendUint64(buf, math.Float64bits(in.Value))
		buf = append(buf, b2i(in.HasValue), b2i(in.HasTS))
		buf = append(buf, in.DedupeID...)
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func b2i(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// tagString is "k=v,k=v" with the keys sorted.
func tagString(m map[string]string) string {
	kv := make([]string, 0, len(m))
	for k, v := range m {
		kv = append(kv, k+"="+v)
	}
	slices.Sort(kv)
	return strings.Join(kv, ",")
}

// problems returns the problems of an *InvalidSpecError, failing otherwise.
func problems(t testing.TB, err error) []string {
	t.Helper()
	var inv *synth.InvalidSpecError
	if !errors.As(err, &inv) {
		t.Fatalf("error %v (%T): want an *InvalidSpecError", err, err)
	}
	if len(inv.Problems) == 0 {
		t.Fatal("an InvalidSpecError without problems")
	}
	if want := "invalid burst: " + strings.Join(inv.Problems, "; "); err.Error() != want {
		t.Fatalf("Error() = %q, want %q", err.Error(), want)
	}
	return inv.Problems
}

// falls returns the indexes at which v falls (a counter reset, a sawtooth's
// wrap).
func falls(v []float64) []int {
	var out []int
	for i := 1; i < len(v); i++ {
		if v[i] < v[i-1] {
			out = append(out, i)
		}
	}
	return out
}

// evenlySpaced checks that idx are first, first+gap, first+2·gap, … up to n,
// with first in [1, gap].
func evenlySpaced(t testing.TB, what string, idx []int, gap, n int) {
	t.Helper()
	if len(idx) == 0 || idx[0] < 1 || idx[0] > gap {
		t.Fatalf("%s at %v: want the first within the first %d samples", what, idx, gap)
	}
	for k, i := range idx {
		if i != idx[0]+k*gap {
			t.Fatalf("%s at %v: want every %d samples from %d", what, idx, gap, idx[0])
		}
	}
	if last := idx[len(idx)-1]; last+gap < n {
		t.Fatalf("%s at %v: none after %d of %d samples", what, idx, last, n)
	}
}
