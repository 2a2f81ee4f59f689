package synth_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/synth"
)

// perPeriod is base's samples per period: a minute at one a second.
const perPeriod = 60

func TestSine(t *testing.T) {
	s := base(synth.Sine)
	all := series(t, s)
	for j, v := range all {
		for i := 0; i+perPeriod < len(v); i++ {
			if math.Float64bits(v[i]) != math.Float64bits(v[i+perPeriod]) {
				t.Fatalf("series %d: sample %d is %v, one period later %v", j, i, v[i], v[i+perPeriod])
			}
		}
		lo, hi := slices.Min(v), slices.Max(v)
		if lo < s.Offset-s.Amplitude || hi > s.Offset+s.Amplitude {
			t.Errorf("series %d: values in [%v, %v], outside offset±amplitude", j, lo, hi)
		}
		// 60 samples a period: one is within 3° of each peak.
		if near := s.Amplitude * math.Cos(2*math.Pi/120); hi < s.Offset+near || lo > s.Offset-near {
			t.Errorf("series %d: values in [%v, %v], want both peaks within %v", j, lo, hi, s.Amplitude-near)
		}
		sum := 0.0
		for _, x := range v[:perPeriod] {
			sum += x - s.Offset
		}
		if math.Abs(sum) > 1e-9 {
			t.Errorf("series %d: a period sums to %v around the offset, want 0", j, sum)
		}
	}
}

func TestNoisePattern(t *testing.T) {
	s := base(synth.Noise)
	s.Period = 0 // not needed by noise
	var v []float64
	for _, vs := range series(t, s) {
		v = append(v, vs...)
	}
	lo, hi := slices.Min(v), slices.Max(v)
	if lo < s.Offset-s.Amplitude || hi >= s.Offset+s.Amplitude {
		t.Errorf("values in [%v, %v], want within [offset-amplitude, offset+amplitude)", lo, hi)
	}
	if lo > s.Offset-0.9*s.Amplitude || hi < s.Offset+0.9*s.Amplitude {
		t.Errorf("%d values in [%v, %v]: want them to spread over offset±amplitude", len(v), lo, hi)
	}
	mean := 0.0
	for _, x := range v {
		mean += x / float64(len(v))
	}
	if math.Abs(mean-s.Offset) > 0.05*s.Amplitude {
		t.Errorf("mean %v, want about the offset %v", mean, s.Offset)
	}
}

func TestStep(t *testing.T) {
	s := base(synth.Step)
	for j, v := range series(t, s) {
		var changes []int
		for i, x := range v {
			if x != s.Offset && x != s.Offset+s.Amplitude {
				t.Fatalf("series %d: sample %d is %v, want %v or %v", j, i, x, s.Offset, s.Offset+s.Amplitude)
			}
			if i > 0 && x != v[i-1] {
				changes = append(changes, i)
			}
		}
		evenlySpaced(t, "level changes", changes, perPeriod/2, len(v))
		for i := 0; i+perPeriod <= len(v); i++ {
			high := 0
			for _, x := range v[i : i+perPeriod] {
				if x > s.Offset {
					high++
				}
			}
			if high != perPeriod/2 {
				t.Fatalf("series %d: %d of the samples %d..%d high, want half", j, high, i, i+perPeriod-1)
			}
		}
	}
}

func TestSpike(t *testing.T) {
	s := base(synth.Spike)
	checkSpikes(t, s, perPeriod)
	// Every with a fraction of a millisecond: 1.5ms into 15ms is 10 a period.
	s.Every, s.Period, s.End = 1500*time.Microsecond, 15*time.Millisecond, t0.Add(600*time.Millisecond)
	checkSpikes(t, s, 10)
}

func checkSpikes(t *testing.T, s synth.Spec, per int) {
	t.Helper()
	for j, v := range series(t, s) {
		var highs []int
		for i, x := range v {
			switch x {
			case s.Offset + s.Amplitude:
				highs = append(highs, i)
			case s.Offset:
			default:
				t.Fatalf("series %d: sample %d is %v, want %v or %v", j, i, x, s.Offset, s.Offset+s.Amplitude)
			}
		}
		// The first sample opens its (partial) period, so it is high too.
		if len(highs) == 0 || highs[0] != 0 {
			t.Fatalf("series %d: highs at %v, want the first sample high", j, highs)
		}
		evenlySpaced(t, "spikes", highs[1:], per, len(v))
	}
}

func TestSawtooth(t *testing.T) {
	s := base(synth.Sawtooth)
	for j, v := range series(t, s) {
		wraps := falls(v)
		evenlySpaced(t, "wraps", wraps, perPeriod, len(v))
		for i := 1; i < len(v); i++ {
			if slices.Contains(wraps, i) {
				continue
			}
			if d := v[i] - v[i-1]; math.Abs(d-2*s.Amplitude/perPeriod) > 1e-9 {
				t.Fatalf("series %d: sample %d rises by %v, want 2·amplitude/%d", j, i, d, perPeriod)
			}
		}
		lo, hi := slices.Min(v), slices.Max(v)
		if lo < s.Offset-s.Amplitude || hi >= s.Offset+s.Amplitude {
			t.Errorf("series %d: values in [%v, %v], want within [offset-amplitude, offset+amplitude)", j, lo, hi)
		}
		if step := 2 * s.Amplitude / perPeriod; lo > s.Offset-s.Amplitude+step || hi < s.Offset+s.Amplitude-step-1e-9 {
			t.Errorf("series %d: values in [%v, %v], want both ends reached", j, lo, hi)
		}
	}
}

func TestRandomWalk(t *testing.T) {
	s := base(synth.RandomWalk)
	s.Period, s.Tags = 0, nil
	s.End = t0.Add(100_000 * time.Second)
	v := series(t, s)[0]
	if len(v) != 100_000 {
		t.Fatalf("%d steps, want 100000", len(v))
	}
	// Each step moves by at most amplitude/10 and is pulled back 1 %
	// towards the offset, so the walk never leaves offset ± 10·amplitude.
	var sum, sq float64
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x-s.Offset) > 10*s.Amplitude {
			t.Fatalf("step %d: %v, want finite within offset ± 10·amplitude", i, x)
		}
		if i > 0 && math.Abs(x-v[i-1]) > 0.2*s.Amplitude {
			t.Fatalf("step %d: moves from %v to %v, more than 0.2·amplitude", i, v[i-1], x)
		}
		sum += x - s.Offset
		sq += (x - s.Offset) * (x - s.Offset)
	}
	mean := sum / float64(len(v))
	sd := math.Sqrt(sq/float64(len(v)) - mean*mean)
	if math.Abs(mean) > s.Amplitude || sd > s.Amplitude || sd < 0.1*s.Amplitude {
		t.Errorf("mean %v, deviation %v around the offset: want a walk in a band of about ±amplitude", mean, sd)
	}
}

func TestCounter(t *testing.T) {
	s := base(synth.Counter)
	checkCounter(t, s, perPeriod)
	s.Every, s.Period, s.End = 1500*time.Microsecond, 15*time.Millisecond, t0.Add(600*time.Millisecond)
	checkCounter(t, s, 10)
	s = base(synth.Counter)
	s.Noise = 20 // more than the smallest increment: some are clamped to 0
	checkCounter(t, s, perPeriod)
}

// checkCounter: it restarts from 0 at each period boundary and only there
// (per samples apart), rises by increments in [0.5·amplitude, 1.5·amplitude)
// ± noise, clamped at 0, so it never falls between resets, and it falls at
// each reset after a full period: the shape rate() takes for a reset. (A
// reset after a short first period need not fall, so the boundaries are
// found from the last fall.)
func checkCounter(t *testing.T, s synth.Spec, per int) {
	t.Helper()
	lo, hi := max(0, 0.5*s.Amplitude-s.Noise), 1.5*s.Amplitude+s.Noise
	inc := func(d float64) bool { return d >= lo-1e-9 && d < hi+1e-9 }
	for j, v := range series(t, s) {
		f := falls(v)
		if len(f) == 0 {
			t.Fatalf("series %d never resets in %d samples", j, len(v))
		}
		first := f[len(f)-1] % per
		if first == 0 {
			first = per
		}
		if !inc(v[0]) {
			t.Fatalf("series %d starts at %v, want one increment in [%v, %v)", j, v[0], lo, hi)
		}
		for i := 1; i < len(v); i++ {
			switch {
			case (i-first)%per != 0:
				if d := v[i] - v[i-1]; !inc(d) {
					t.Fatalf("series %d: sample %d (%v) after %v, not a reset (they are at %d+k·%d): want an increment in [%v, %v)", j, i, v[i], v[i-1], first, per, lo, hi)
				}
			case !inc(v[i]):
				t.Fatalf("series %d: reset at %d to %v, want one increment in [%v, %v)", j, i, v[i], lo, hi)
			case i >= per && v[i] >= v[i-1]:
				t.Fatalf("series %d: reset at %d from %v to %v, want a fall", j, i, v[i-1], v[i])
			}
		}
	}
}

// TestNoiseParameter: Noise moves each value by at most ±Noise from the same
// spec without it (for a counter, each increment: see TestCounter), and by
// about that much at its widest.
func TestNoiseParameter(t *testing.T) {
	for _, p := range []synth.Pattern{synth.Sine, synth.Noise, synth.Step, synth.Spike, synth.Sawtooth, synth.RandomWalk} {
		t.Run(string(p), func(t *testing.T) {
			s := base(p)
			quiet := series(t, s)
			s.Noise = 3
			noisy := series(t, s)
			var lo, hi float64
			for j := range quiet {
				for i := range quiet[j] {
					d := noisy[j][i] - quiet[j][i]
					if math.Abs(d) > s.Noise+1e-9 {
						t.Fatalf("series %d sample %d: %v with noise, %v without: more than ±%v", j, i, noisy[j][i], quiet[j][i], s.Noise)
					}
					lo, hi = min(lo, d), max(hi, d)
				}
			}
			if lo > -0.9*s.Noise || hi < 0.9*s.Noise {
				t.Errorf("noise moves values by [%v, %v], want about ±%v", lo, hi, s.Noise)
			}
		})
	}
}
