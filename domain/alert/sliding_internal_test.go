package alert

import (
	"math"
	"math/rand"
	"testing"
)

// TestSlidingWindowEqualsRecomputation drives slidingWindow.advance over
// random samples and random forward-moving windows and compares each answer
// with the window built afresh by Add.
func TestSlidingWindowEqualsRecomputation(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for iter := range 300 {
		n := rng.Intn(400)
		if iter%50 == 0 {
			n = exactSumLimit + 500 // the running-sum path
		}
		s := SeriesSamples{}
		ts := int64(rng.Intn(1000))
		for range n {
			s.TS = append(s.TS, ts)
			v := float64(rng.Intn(21) - 10)
			if rng.Intn(3) == 0 {
				v += rng.Float64()
			}
			s.Values = append(s.Values, v)
			if rng.Intn(10) != 0 {
				ts += 1 + int64(rng.Intn(2000))
			}
		}
		sw := slidingWindow{s: &s}
		width := int64(1 + rng.Intn(20000))
		step := int64(1 + rng.Intn(int(width)+5000))
		if n > exactSumLimit {
			width, step = ts, ts/8 // windows over (nearly) everything
		}
		for to := int64(rng.Intn(3000)); to < ts+width+step; to += step {
			got := sw.advance(to-width, to)
			var want Window
			for i, x := range s.TS {
				if x >= to-width && x < to {
					want = want.Add(x, s.Values[i])
				}
			}
			exact := want.Count <= exactSumLimit
			if got.Count != want.Count || got.Min != want.Min || got.Max != want.Max || got.Last != want.Last ||
				got.LastTS != want.LastTS || exact && got.Sum != want.Sum ||
				!exact && math.Abs(got.Sum-want.Sum) > 1e-6*math.Max(1, math.Abs(want.Sum)) {
				t.Fatalf("iteration %d, window [%d, %d): sliding %+v, recomputed %+v", iter, to-width, to, got, want)
			}
		}
	}
}
