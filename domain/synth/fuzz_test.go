package synth_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/synth"
)

// maxFuzzSamples bounds one fuzz input's work; larger plans are skipped.
const maxFuzzSamples = 20_000

// FuzzGenerate: whatever NewPlan accepts generates only samples that ingest
// accepts (finite values, valid names and tags), each series' timestamps
// strictly increasing within [Start, End), as many as Plan.Samples, in as
// many series as the plan has. The tag string is split at ';' into
// templates; the pattern index one past Patterns is an unknown pattern.
func FuzzGenerate(f *testing.F) {
	f.Add(uint64(42), uint8(0), 10.0, 100.0, 1.0, int64(60_000), int64(1000), int64(600), "host=web-{1..3};dc={eu,us}")
	f.Add(uint64(1), uint8(6), 5.0, 0.0, 2.0, int64(10_000), int64(1500), int64(100), "n={01..10}")
	f.Add(uint64(7), uint8(5), 1e12, -1e12, 1e12, int64(0), int64(1), int64(20_000), "")
	f.Add(uint64(0), uint8(3), 3.0, 1.0, 0.0, int64(1), int64(7), int64(50), "k={a,b}-{1..5}")
	f.Add(uint64(9), uint8(7), 1.0, 1.0, 1.0, int64(1000), int64(1000), int64(10), "h=a")
	f.Fuzz(func(t *testing.T, seed uint64, pattern uint8, amplitude, offset, noise float64, periodMs, everyMs, steps int64, tags string) {
		p := synth.Pattern("unknown")
		if i := int(pattern) % (len(synth.Patterns) + 1); i < len(synth.Patterns) {
			p = synth.Patterns[i]
		}
		var templates []string
		if tags != "" {
			templates = strings.Split(tags, ";")
		}
		every := time.Duration(everyMs) * time.Millisecond // may wrap: NewPlan judges
		s := synth.Spec{
			Name: "fuzz.metric", Pattern: p, Amplitude: amplitude, Offset: offset, Noise: noise,
			Period: time.Duration(periodMs) * time.Millisecond, Tags: templates,
			Every: every, Start: t0, End: t0.Add(time.Duration(steps) * every), Seed: seed,
		}
		plan, err := synth.NewPlan(s)
		if err != nil {
			var inv *synth.InvalidSpecError
			if !errors.As(err, &inv) || len(inv.Problems) == 0 {
				t.Fatalf("NewPlan: %v (%T), want an *InvalidSpecError with problems", err, err)
			}
			return
		}
		if plan.Steps < 1 || len(plan.Series) < 1 {
			t.Fatalf("accepted plan with %d steps and %d series", plan.Steps, len(plan.Series))
		}
		if plan.Samples() > maxFuzzSamples {
			t.Skip("too many samples for one fuzz input")
		}
		last := map[metric.SeriesHash]time.Time{}
		n := int64(0)
		size := int(seed%97) + 1
		err = plan.Generate(size, func(batch []metric.Input) error {
			for _, in := range batch {
				n++
				if math.IsNaN(in.Value) || math.IsInf(in.Value, 0) {
					t.Fatalf("sample %d of %+v: value %v", n, s, in.Value)
				}
				sample, errs := metric.New(in, metric.DefaultLimits(), in.TS)
				if len(errs) > 0 {
					t.Fatalf("sample %d %+v refused: %v", n, in, errs)
				}
				if in.TS.Before(s.Start) || !in.TS.Before(s.End) {
					t.Fatalf("sample %d at %v, outside [%v, %v)", n, in.TS, s.Start, s.End)
				}
				if prev, ok := last[sample.Series()]; ok && !in.TS.After(prev) {
					t.Fatalf("series %v: sample %d at %v after one at %v", in.Tags, n, in.TS, prev)
				}
				last[sample.Series()] = in.TS
				checkRange(t, s, in.Value)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Generate: %v", err)
		}
		if n != plan.Samples() || len(last) != len(plan.Series) {
			t.Fatalf("%d samples in %d series, the plan says %d in %d", n, len(last), plan.Samples(), len(plan.Series))
		}
	})
}

// checkRange checks the bounds a pattern promises, with room for rounding
// at the largest magnitudes.
func checkRange(t *testing.T, s synth.Spec, v float64) {
	t.Helper()
	lo, hi := math.Inf(-1), math.Inf(1)
	switch s.Pattern {
	case synth.Sine, synth.Noise, synth.Sawtooth:
		lo, hi = s.Offset-s.Amplitude-s.Noise, s.Offset+s.Amplitude+s.Noise
	case synth.Step, synth.Spike:
		lo, hi = s.Offset-s.Noise, s.Offset+s.Amplitude+s.Noise
	case synth.RandomWalk:
		lo, hi = s.Offset-10*s.Amplitude-s.Noise, s.Offset+10*s.Amplitude+s.Noise
	case synth.Counter:
		lo = 0
	}
	slack := 1e-9 * (math.Abs(s.Offset) + 10*s.Amplitude + s.Noise + 1)
	if v < lo-slack || v > hi+slack {
		t.Fatalf("%s: value %v outside [%v, %v] of %+v", s.Pattern, v, lo, hi, s)
	}
}
