package synth_test

import (
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/synth"
)

// noisy is base with noise, so that every pattern depends on the seed in
// every sample and not only through the series' phase.
func noisy(p synth.Pattern) synth.Spec {
	s := base(p)
	s.Noise = 1
	return s
}

func TestSameSpecSameSamples(t *testing.T) {
	for _, p := range synth.Patterns {
		t.Run(string(p), func(t *testing.T) {
			a := generate(t, mustPlan(t, noisy(p)), 100)
			b := generate(t, mustPlan(t, noisy(p)), 100)
			if len(a) != len(b) {
				t.Fatalf("%d samples, then %d", len(a), len(b))
			}
			for i := range a {
				x, y := a[i], b[i]
				if math.Float64bits(x.Value) != math.Float64bits(y.Value) || !x.TS.Equal(y.TS) || x.Name != y.Name ||
					!maps.Equal(x.Tags, y.Tags) || x.HasValue != y.HasValue || x.HasTS != y.HasTS || x.DedupeID != y.DedupeID {
					t.Fatalf("sample %d: %+v, then %+v", i, x, y)
				}
				if !x.HasValue || !x.HasTS {
					t.Fatalf("sample %d: %+v, want HasValue and HasTS", i, x)
				}
			}
			if da, db := digest(a), digest(b); da != db {
				t.Fatalf("sha256 %s, then %s", da, db)
			}
		})
	}
}

func TestSeedChangesSamples(t *testing.T) {
	for _, p := range synth.Patterns {
		t.Run(string(p), func(t *testing.T) {
			s := noisy(p)
			a := generate(t, mustPlan(t, s), 100)
			s.Seed++
			b := generate(t, mustPlan(t, s), 100)
			same := 0
			for i := range a {
				if a[i].Value == b[i].Value {
					same++
				}
			}
			if same > len(a)/100 || digest(a) == digest(b) {
				t.Fatalf("seeds %d and %d: %d of %d values equal", s.Seed-1, s.Seed, same, len(a))
			}
		})
	}
}

// TestGolden pins the samples of one spec per pattern: a demo or a test
// that records a burst must get it again from a later version, on any
// architecture. A deliberate change of the generator updates these digests.
// Sine is left out: math.Sin's last bit differs between architectures.
func TestGolden(t *testing.T) {
	golden := map[synth.Pattern]string{
		synth.Noise:      "dc2cef9a0593ccdcad468df0d983493fb7cbc22b979ba92a4bbb8e51a2c97f5e",
		synth.Step:       "5a1daa3152ee7708fb8aaecd863bc56c2d7556e26e654689fb2650acd4c7eba4",
		synth.Spike:      "753b1f957c62cec9ac9ff104fb3c74a17e6828be2e826268cfa8788f1df160e6",
		synth.Sawtooth:   "5366642adc9a9ff19e2173600c66f44ab57bd9cc50fc14f17273e53694ad3bd9",
		synth.RandomWalk: "fd5ab34240b349f31fde36786140736e18f7c5966d9247e9febeb51ed9c37de8",
		synth.Counter:    "f543b1364fd8a9472fa89c80a22b2674acb2b0e79fb4c6a721f0b8e139279b55",
	}
	for _, p := range synth.Patterns {
		want, ok := golden[p]
		if !ok {
			continue
		}
		s := noisy(p)
		s.End = t0.Add(time.Hour)
		if got := digest(generate(t, mustPlan(t, s), 512)); got != want {
			t.Errorf("%s: sha256 %s, want %s", p, got, want)
		}
	}
}

func TestBatchSizeKeepsTheSequence(t *testing.T) {
	for _, p := range synth.Patterns {
		plan := mustPlan(t, noisy(p))
		want := digest(generate(t, plan, 1))
		for _, size := range []int{-1, 0, 2, 7, 179, 1000, int(plan.Samples()), int(plan.Samples()) + 1} {
			if got := digest(generate(t, plan, size)); got != want {
				t.Errorf("%s: batch size %d gives other samples than batch size 1", p, size)
			}
		}
	}
}

// TestOrder: every series at one instant, in Plan.Series order, then the
// next instant; the series' tags are the plan's.
func TestOrder(t *testing.T) {
	s := base(synth.Sine)
	s.Tags = []string{"dc={eu,us}", "host=web-{1..3}"}
	plan := mustPlan(t, s)
	ins := generate(t, plan, 5)
	n := len(plan.Series)
	for k, in := range ins {
		if want := t0.Add(time.Duration(k/n) * s.Every); !in.TS.Equal(want) {
			t.Fatalf("sample %d at %v, want %v", k, in.TS, want)
		}
		if !maps.Equal(in.Tags, plan.Series[k%n]) || in.Name != s.Name {
			t.Fatalf("sample %d: %s %v, want %s %v", k, in.Name, in.Tags, s.Name, plan.Series[k%n])
		}
	}
}

// TestSeriesPhases: the series of one spec do not move in step. Each is
// shifted by its own fraction of the period (in ms): the continuous
// patterns show it in every sample; step and spike, sampled each second,
// show it where they change, and two of five may change in the same second.
func TestSeriesPhases(t *testing.T) {
	for _, p := range synth.Patterns {
		s := base(p)
		s.Tags = []string{"host=web-{1..5}"}
		all := series(t, s)
		if p == synth.Step || p == synth.Spike {
			changes := map[string]bool{} // the samples where a series changes
			for _, v := range all {
				var at []byte
				for i := 1; i < len(v); i++ {
					if v[i] != v[i-1] {
						at = binary.AppendUvarint(at, uint64(i))
					}
				}
				changes[string(at)] = true
			}
			if len(changes) < 3 {
				t.Errorf("%s: the 5 series change at only %d distinct sets of samples", p, len(changes))
			}
			continue
		}
		for a := range all {
			for b := a + 1; b < len(all); b++ {
				if slices.Equal(all[a], all[b]) {
					t.Errorf("%s: series %d and %d have the same values", p, a, b)
				}
			}
		}
	}
}

func TestGenerateStopsAtEmitError(t *testing.T) {
	plan := mustPlan(t, base(synth.Sine))
	stop := errors.New("stop")
	calls := 0
	err := plan.Generate(10, func([]metric.Input) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Fatalf("Generate returned %v after %d calls, want %v after 3", err, calls, stop)
	}
	// An error from the last, partial batch is returned too.
	s := base(synth.Sine)
	s.End = t0.Add(5 * time.Second) // 15 samples: batches of 10 and 5
	calls = 0
	err = mustPlan(t, s).Generate(10, func(b []metric.Input) error {
		calls++
		if len(b) == 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Fatalf("Generate returned %v after %d calls, want %v after 2", err, calls, stop)
	}
}
