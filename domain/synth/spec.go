// Package synth makes synthetic metric series: a pattern (sine, noise, step,
// spike, sawtooth, random-walk, counter) over tag-templated series at a fixed
// interval. It does no I/O and reads no clock: the same Spec gives the same
// samples, byte for byte, so tests and demos are reproducible (on every
// architecture too, but for sine's last bit: math.Sin is not bit-identical
// on every GOARCH). The samples are metric.Input, fed through the ingest use
// case like any client's.
package synth

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// Pattern is the shape of a series over time.
type Pattern string

// The patterns. Periodic ones repeat every Spec.Period.
const (
	Sine       Pattern = "sine"        // Offset + Amplitude·sin
	Noise      Pattern = "noise"       // Offset ± Amplitude, uniform
	Step       Pattern = "step"        // Offset for the first half of each period, Offset+Amplitude for the second
	Spike      Pattern = "spike"       // Offset, and Offset+Amplitude at the first sample of each period
	Sawtooth   Pattern = "sawtooth"    // from Offset−Amplitude up to Offset+Amplitude each period
	RandomWalk Pattern = "random-walk" // from Offset, steps of at most Amplitude/10, pulled back towards Offset
	Counter    Pattern = "counter"     // monotonic, up by about Amplitude per sample, reset to 0 each period
)

// Patterns lists every pattern, for help texts and schemas.
var Patterns = []Pattern{Sine, Noise, Step, Spike, Sawtooth, RandomWalk, Counter}

// MaxMagnitude bounds Amplitude, Offset and Noise so that no sum overflows
// to Inf; MaxSamples bounds one spec.
const (
	MaxMagnitude = 1e12
	MaxSamples   = 1_000_000_000
)

// Spec is one burst: Name over the series of Tags, a sample every Every
// in [Start, End).
type Spec struct {
	Name      string
	Pattern   Pattern
	Amplitude float64
	Offset    float64
	// Noise adds a uniform ±Noise to every value (to the increments of a counter).
	Noise  float64
	Period time.Duration
	// Tags are templates (ExpandTags), e.g. "host=web-{1..5}", "dc={eu,us}".
	Tags       []string
	Every      time.Duration
	Start, End time.Time
	Seed       uint64
}

// InvalidSpecError lists every problem of a Spec, by field.
type InvalidSpecError struct{ Problems []string }

func (e *InvalidSpecError) Error() string {
	return "invalid burst: " + strings.Join(e.Problems, "; ")
}

// Plan is a validated Spec with its series expanded.
type Plan struct {
	Spec   Spec
	Series []map[string]string
	Steps  int64 // samples per series
}

// Samples is the number of samples the plan makes.
func (p Plan) Samples() int64 { return p.Steps * int64(len(p.Series)) }

// NewPlan validates s and expands its series; the error is an
// *InvalidSpecError naming every problem.
func NewPlan(s Spec) (Plan, error) {
	var bad []string
	add := func(format string, a ...any) { bad = append(bad, fmt.Sprintf(format, a...)) }
	known := false
	for _, p := range Patterns {
		known = known || p == s.Pattern
	}
	if !known {
		add("pattern %q: want one of %v", s.Pattern, Patterns)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"amplitude", s.Amplitude}, {"offset", s.Offset}, {"noise", s.Noise}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || math.Abs(f.v) > MaxMagnitude {
			add("%s %v: want a finite number of magnitude at most %g", f.name, f.v, MaxMagnitude)
		}
	}
	if s.Amplitude < 0 {
		add("amplitude %v: must not be negative", s.Amplitude)
	}
	if s.Noise < 0 {
		add("noise %v: must not be negative", s.Noise)
	}
	// The phase is computed in whole milliseconds (the samples' resolution):
	// a period under 1ms would divide by zero, and 1.5ms would act as 1ms.
	if (s.Period < time.Millisecond || s.Period%time.Millisecond != 0) && s.Pattern != Noise && s.Pattern != RandomWalk {
		add("period %s: want a whole number of milliseconds, at least 1ms, for the %s pattern", s.Period, s.Pattern)
	}
	if s.Every < time.Millisecond {
		add("every %s: want at least 1ms between samples", s.Every)
	}
	span := s.End.Sub(s.Start)
	switch {
	case !s.End.After(s.Start):
		add("the range must end after it starts")
	case span == math.MaxInt64: // Sub saturates: the range does not fit a time.Duration
		add("the range must be shorter than %s", time.Duration(math.MaxInt64))
	}
	series, err := ExpandTags(s.Tags)
	if err != nil {
		add("%v", err)
		// The name is still checked, alone, so that every problem is named.
		series = []map[string]string{nil}
	}
	// The name and every series' tags must pass the ingest contract's rules.
	for i, tags := range series {
		_, errs := metric.New(metric.Input{Name: s.Name, Value: 0, HasValue: true, Tags: tags}, metric.DefaultLimits(), s.Start)
		for _, fe := range errs {
			add("series %d: %s: %s", i, fe.Field, fe.Message)
		}
		if len(errs) > 0 {
			break
		}
	}
	var steps int64
	if len(bad) == 0 {
		steps = int64(span / s.Every) // rounded up below; span+Every-1 could overflow
		if span%s.Every != 0 {
			steps++
		}
		if steps*int64(len(series)) > MaxSamples {
			add("%d samples: at most %d in one burst", steps*int64(len(series)), MaxSamples)
		}
	}
	if len(bad) > 0 {
		return Plan{}, &InvalidSpecError{Problems: bad}
	}
	return Plan{Spec: s, Series: series, Steps: steps}, nil
}
