package synth

import (
	"math"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// Generate emits the plan's samples in time order (every series at one
// instant, then the next instant) in batches of at most size, each a new
// slice the callee may keep. It stops at emit's first error and returns it.
func (p Plan) Generate(size int, emit func([]metric.Input) error) error {
	if size < 1 {
		size = 1
	}
	g := newState(p)
	batch := make([]metric.Input, 0, size)
	for i := int64(0); i < p.Steps; i++ {
		ts := p.Spec.Start.Add(time.Duration(i) * p.Spec.Every)
		for j, tags := range p.Series {
			batch = append(batch, metric.Input{Name: p.Spec.Name, Value: g.next(j, i, ts), HasValue: true, Tags: tags, TS: ts, HasTS: true})
			if len(batch) == size {
				if err := emit(batch); err != nil {
					return err
				}
				batch = make([]metric.Input, 0, size)
			}
		}
	}
	if len(batch) > 0 {
		return emit(batch)
	}
	return nil
}

// state is what a path-dependent pattern (random walk, counter) carries
// from one sample of a series to the next, and each series' phase shift.
type state struct {
	spec   Spec
	shift  []int64 // ms added to the time of each series, so hosts differ
	level  []float64
	period int64 // ms
}

func newState(p Plan) *state {
	s := &state{spec: p.Spec, shift: make([]int64, len(p.Series)), level: make([]float64, len(p.Series)), period: p.Spec.Period.Milliseconds()}
	for j := range p.Series {
		if s.period > 0 {
			s.shift[j] = int64(s.uniform(j, -1) * float64(s.period))
		}
		if p.Spec.Pattern == RandomWalk {
			s.level[j] = p.Spec.Offset
		}
	}
	return s
}

// uniform is a number in [0, 1) that depends only on the seed, the series
// and the step: splitmix64 of the three. (Its division by 2⁵³ is exact, so
// a multiply-add fused with it rounds the same as two operations.)
func (s *state) uniform(series int, step int64) float64 {
	x := s.spec.Seed ^ uint64(series+1)*0x9e3779b97f4a7c15 ^ uint64(step+2)*0xbf58476d1ce4e5b9
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// signed is a number in [−1, 1) for the step, drawn independently of uniform's.
func (s *state) signed(series int, step int64, salt int64) float64 {
	return float64(2*s.uniform(series, step*3+salt)) - 1
}

// Every product below is converted to float64 before it is added: the
// conversion forbids the compiler to fuse a*b+c into one FMA instruction
// (it does on arm64, ppc64le, s390x, riscv64), which rounds once, not twice,
// and would make the samples differ from amd64's in the last bit.
func (s *state) next(j int, i int64, ts time.Time) float64 {
	sp := s.spec
	at := ts.UnixMilli() + s.shift[j]
	phase := 0.0
	// newPeriod says whether this sample is the first of its period: the
	// previous one (at ts−Every, exactly) fell in another. at−Every in whole
	// ms would misplace it when Every has a fraction of a millisecond.
	newPeriod := func() bool {
		prev := ts.Add(-sp.Every).UnixMilli() + s.shift[j]
		return floorDiv(at, s.period) != floorDiv(prev, s.period)
	}
	if s.period > 0 {
		phase = float64(floorMod(at, s.period)) / float64(s.period)
	}
	noise := float64(sp.Noise * s.signed(j, i, 1))
	var v float64
	switch sp.Pattern {
	case Sine:
		v = sp.Offset + float64(sp.Amplitude*math.Sin(float64(2*math.Pi*phase))) + noise
	case Noise:
		v = sp.Offset + float64(sp.Amplitude*s.signed(j, i, 2)) + noise
	case Step:
		v = sp.Offset + noise
		if phase >= 0.5 {
			v += sp.Amplitude
		}
	case Spike:
		v = sp.Offset + noise
		if i == 0 || newPeriod() {
			v += sp.Amplitude
		}
	case Sawtooth:
		v = sp.Offset + float64(sp.Amplitude*(float64(2*phase)-1)) + noise
	case RandomWalk:
		// A small step, and a pull of 1 % back towards Offset so a long walk stays in view.
		s.level[j] += float64(sp.Amplitude/10*s.signed(j, i, 2)) - float64(0.01*(s.level[j]-sp.Offset))
		v = s.level[j] + noise
	case Counter:
		if i > 0 && newPeriod() {
			s.level[j] = 0 // the reset, as a restarted process's counter
		}
		s.level[j] += math.Max(0, float64(sp.Amplitude*(0.5+s.uniform(j, i*3+2)))+noise)
		v = s.level[j]
	}
	return v
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
