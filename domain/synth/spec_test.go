package synth_test

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/synth"
)

func TestNewPlanValidation(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*synth.Spec)
		want   []string // one per problem, each in its problem, in order
	}{
		{"no pattern", func(s *synth.Spec) { s.Pattern = "" }, []string{`pattern "": want one of [sine noise`}},
		{"an unknown pattern", func(s *synth.Spec) { s.Pattern = "Sine" }, []string{`pattern "Sine"`}},
		{"amplitude NaN", func(s *synth.Spec) { s.Amplitude = math.NaN() }, []string{"amplitude NaN: want a finite number"}},
		{"amplitude +Inf", func(s *synth.Spec) { s.Amplitude = math.Inf(1) }, []string{"amplitude +Inf: want a finite"}},
		{"amplitude too large", func(s *synth.Spec) { s.Amplitude = 2 * synth.MaxMagnitude }, []string{"amplitude 2e+12: want a finite number of magnitude at most 1e+12"}},
		{"amplitude negative", func(s *synth.Spec) { s.Amplitude = -1 }, []string{"amplitude -1: must not be negative"}},
		{"amplitude -Inf", func(s *synth.Spec) { s.Amplitude = math.Inf(-1) }, []string{"amplitude -Inf: want a finite", "amplitude -Inf: must not be negative"}},
		{"offset -Inf", func(s *synth.Spec) { s.Offset = math.Inf(-1) }, []string{"offset -Inf: want a finite"}},
		{"offset too negative", func(s *synth.Spec) { s.Offset = -1.5e12 }, []string{"offset -1.5e+12"}},
		{"noise NaN", func(s *synth.Spec) { s.Noise = math.NaN() }, []string{"noise NaN: want a finite"}},
		{"noise negative", func(s *synth.Spec) { s.Noise = -0.5 }, []string{"noise -0.5: must not be negative"}},
		{"no period", func(s *synth.Spec) { s.Period = 0 }, []string{"period 0s: want a whole number of milliseconds, at least 1ms, for the sine pattern"}},
		{"a negative period", func(s *synth.Spec) { s.Period = -time.Second }, []string{"period -1s"}},
		{"a period under 1ms", func(s *synth.Spec) { s.Period = 500 * time.Microsecond }, []string{"period 500µs"}},
		{"a period with a fraction of a ms", func(s *synth.Spec) { s.Period = 1500 * time.Microsecond }, []string{"period 1.5ms"}},
		{"a counter without a period", func(s *synth.Spec) { s.Pattern, s.Period = synth.Counter, 0 }, []string{"for the counter pattern"}},
		{"a spike without a period", func(s *synth.Spec) { s.Pattern, s.Period = synth.Spike, 0 }, []string{"for the spike pattern"}},
		{"no every", func(s *synth.Spec) { s.Every = 0 }, []string{"every 0s: want at least 1ms between samples"}},
		{"every under 1ms", func(s *synth.Spec) { s.Every = 999 * time.Microsecond }, []string{"every 999µs"}},
		{"every negative", func(s *synth.Spec) { s.Every = -time.Second }, []string{"every -1s"}},
		{"an empty range", func(s *synth.Spec) { s.End = s.Start }, []string{"the range must end after it starts"}},
		{"a reversed range", func(s *synth.Spec) { s.Start, s.End = s.End, s.Start }, []string{"the range must end after it starts"}},
		{"a range longer than a Duration", func(s *synth.Spec) {
			s.Start, s.End, s.Every = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 1000*time.Hour
		}, []string{"the range must be shorter than 2562047h47m16.854775807s"}},
		{"bad tags", func(s *synth.Spec) { s.Tags = []string{"host=web-{1..3"} }, []string{`tag template "host=web-{1..3": a { without its }`}},
		{"no name", func(s *synth.Spec) { s.Name = "" }, []string{"series 0: name: name is required"}},
		{"a name not a name", func(s *synth.Spec) { s.Name = "9cpu" }, []string{"series 0: name: name must match"}},
		{"a name too long", func(s *synth.Spec) { s.Name = strings.Repeat("n", 201) }, []string{"name exceeds the limit of 200 bytes"}},
		{"a bad name with bad tags", func(s *synth.Spec) { s.Name, s.Tags = "", []string{"k={}"} }, []string{"an empty alternative", "name: name is required"}},
		{"more than MaxSamples", func(s *synth.Spec) { s.Every, s.End = time.Millisecond, s.Start.Add(400*time.Hour) },
			[]string{"4320000000 samples: at most 1000000000 in one burst"}},
		{"everything at once", func(s *synth.Spec) {
			*s = synth.Spec{Name: "a b", Pattern: "cosine", Amplitude: -1, Offset: math.NaN(), Noise: math.Inf(1),
				Tags: []string{"h=a", "h=b"}, Start: t0, End: t0.Add(-time.Second)}
		}, []string{"pattern", "offset NaN", "noise +Inf", "amplitude -1: must", "period 0s", "every 0s", "the range", "the key h is given twice", "name must match"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := base(synth.Sine)
			c.change(&s)
			plan, err := synth.NewPlan(s)
			if err == nil {
				t.Fatalf("NewPlan accepted %+v", s)
			}
			if !reflect.DeepEqual(plan, synth.Plan{}) {
				t.Fatalf("a plan %+v with the error", plan)
			}
			ps := problems(t, err)
			if len(ps) != len(c.want) {
				t.Fatalf("problems %q, want %d: %q", ps, len(c.want), c.want)
			}
			for i, w := range c.want {
				if !strings.Contains(ps[i], w) {
					t.Errorf("problem %d is %q, want it to say %q", i, ps[i], w)
				}
			}
		})
	}
}

func TestNewPlanAccepts(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*synth.Spec)
	}{
		{"noise without a period", func(s *synth.Spec) { s.Pattern, s.Period = synth.Noise, 0 }},
		{"a random walk without a period", func(s *synth.Spec) { s.Pattern, s.Period = synth.RandomWalk, 0 }},
		{"a period of 1ms", func(s *synth.Spec) {
			s.Period, s.Every, s.End = time.Millisecond, time.Millisecond, t0.Add(time.Second)
		}},
		{"every 1ms", func(s *synth.Spec) { s.Every, s.End = time.Millisecond, t0.Add(time.Second) }},
		{"every with a fraction of a ms", func(s *synth.Spec) { s.Every = 1500 * time.Microsecond }},
		{"the largest magnitudes", func(s *synth.Spec) {
			s.Amplitude, s.Offset, s.Noise = synth.MaxMagnitude, -synth.MaxMagnitude, synth.MaxMagnitude
		}},
		{"zero amplitude", func(s *synth.Spec) { s.Amplitude = 0 }},
		{"a period shorter than every", func(s *synth.Spec) { s.Period = 300 * time.Millisecond }},
		{"exactly MaxSamples", func(s *synth.Spec) { s.Tags, s.Every, s.End = nil, time.Millisecond, s.Start.Add(1e9*time.Millisecond) }},
		{"no tags", func(s *synth.Spec) { s.Tags = nil }},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := base(synth.Sine)
			c.change(&s)
			plan, err := synth.NewPlan(s)
			if err != nil {
				t.Fatalf("NewPlan(%+v): %v", s, err)
			}
			if !reflect.DeepEqual(plan.Spec, s) || plan.Steps < 1 || len(plan.Series) < 1 {
				t.Fatalf("plan %+v of %+v", plan, s)
			}
		})
	}
}

// TestCounts: a sample at Start and every Every after it, End excluded.
func TestCounts(t *testing.T) {
	for _, c := range []struct {
		name       string
		span       time.Duration
		every      time.Duration
		tags       []string
		wantSteps  int64
		wantSeries int
	}{
		{"every divides the range, End excluded", 10 * time.Second, time.Second, nil, 10, 1},
		{"every does not divide it", 10 * time.Second, 3 * time.Second, nil, 4, 1},
		{"a nanosecond past a whole step", 10*time.Second + 1, time.Second, nil, 11, 1},
		{"a nanosecond short of one", 10*time.Second - 1, time.Second, nil, 10, 1},
		{"every longer than the range", time.Millisecond, time.Hour, nil, 1, 1},
		{"every with a fraction of a ms", 15 * time.Millisecond, 1500 * time.Microsecond, nil, 10, 1},
		{"several series", time.Minute, 7 * time.Second, []string{"dc={eu,us}", "host={01..03}"}, 9, 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := base(synth.Counter)
			s.Tags, s.Every, s.End = c.tags, c.every, t0.Add(c.span)
			plan := mustPlan(t, s)
			if plan.Steps != c.wantSteps || len(plan.Series) != c.wantSeries || plan.Samples() != c.wantSteps*int64(c.wantSeries) {
				t.Fatalf("Steps %d, %d series, Samples %d; want %d, %d, %d",
					plan.Steps, len(plan.Series), plan.Samples(), c.wantSteps, c.wantSeries, c.wantSteps*int64(c.wantSeries))
			}
			ins := generate(t, plan, 4)
			if int64(len(ins)) != plan.Samples() {
				t.Fatalf("Generate made %d samples, Plan.Samples() = %d", len(ins), plan.Samples())
			}
			last := ins[len(ins)-1].TS
			if !ins[0].TS.Equal(s.Start) || !last.Before(s.End) || last.Add(s.Every).Before(s.End) {
				t.Fatalf("samples from %v to %v: want from Start to the last instant before End %v", ins[0].TS, last, s.End)
			}
		})
	}
}

// TestStepsNearTheLongestRange: the step count of a range close to the
// longest Duration does not overflow (the range plus Every would).
func TestStepsNearTheLongestRange(t *testing.T) {
	s := base(synth.Sine)
	s.Tags, s.Every = nil, time.Hour
	span := time.Duration(math.MaxInt64 - 10)
	s.End = s.Start.Add(span)
	plan := mustPlan(t, s)
	if plan.Steps != int64(span/time.Hour)+1 {
		t.Fatalf("Steps %d, want %d", plan.Steps, int64(span/time.Hour)+1)
	}
}
