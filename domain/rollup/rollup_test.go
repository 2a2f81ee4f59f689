package rollup_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pulsemetrics/pulse/domain/rollup"
)

func TestBucketStartFloorsTowardsMinusInfinity(t *testing.T) {
	cases := []struct{ ts, step, want int64 }{
		{0, 60_000, 0},
		{59_999, 60_000, 0},
		{60_000, 60_000, 60_000},
		{1_764_064_812_345, 60_000, 1_764_064_800_000},
		{-1, 60_000, -60_000},
		{-60_000, 60_000, -60_000},
	}
	for _, c := range cases {
		if got := rollup.BucketStart(c.ts, c.step); got != c.want {
			t.Errorf("BucketStart(%d, %d) = %d, want %d", c.ts, c.step, got, c.want)
		}
	}
}

// A coarse bucket derived from the fine buckets inside it equals the
// aggregate of the samples directly: count-weighted average, min of mins,
// max of maxes.
func TestMergeOfFineBucketsEqualsDirectAggregate(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 200; trial++ {
		fine := map[int64]rollup.Aggregate{}
		var direct rollup.Aggregate
		for i := 0; i < 1+r.IntN(200); i++ {
			ts := r.Int64N(300_000)
			v := r.NormFloat64() * 1e6
			fine[rollup.BucketStart(ts, 60_000)] = fine[rollup.BucketStart(ts, 60_000)].Add(v)
			direct = direct.Add(v)
		}
		var derived rollup.Aggregate
		for _, a := range fine {
			derived = derived.Merge(a)
		}
		if derived.Count != direct.Count || derived.Min != direct.Min || derived.Max != direct.Max ||
			math.Abs(derived.Avg()-direct.Avg()) > 1e-9*math.Max(1, math.Abs(direct.Avg())) {
			t.Fatalf("trial %d: derived %+v, direct %+v", trial, derived, direct)
		}
	}
}

func TestMergeWithEmptyIsIdentity(t *testing.T) {
	a := rollup.Aggregate{}.Add(-3).Add(5)
	if got := a.Merge(rollup.Aggregate{}); got != a {
		t.Fatalf("a+empty = %+v", got)
	}
	if got := (rollup.Aggregate{}).Merge(a); got != a {
		t.Fatalf("empty+a = %+v", got)
	}
	if a.Min != -3 || a.Max != 5 || a.Avg() != 1 || a.Count != 2 {
		t.Fatalf("a = %+v", a)
	}
	if !math.IsNaN(rollup.Aggregate{}.Avg()) {
		t.Fatal("the empty average must be NaN")
	}
}

func TestParseSteps(t *testing.T) {
	got, err := rollup.ParseSteps("1m, 5m")
	if err != nil || len(got) != 2 || got[0] != 60_000 || got[1] != 300_000 {
		t.Fatalf("ParseSteps = %v, %v", got, err)
	}
	for _, bad := range []string{"", "5m,1m", "1m,90s", "1m,1m", "500ms", "1.5s", "abc", "-1m"} {
		if _, err := rollup.ParseSteps(bad); err == nil {
			t.Errorf("ParseSteps(%q) accepted", bad)
		}
	}
}

func TestNames(t *testing.T) {
	for step, want := range map[int64]string{60_000: "1m", 300_000: "5m", 30_000: "30s", 3_600_000: "1h", 90_000: "90s"} {
		if got := rollup.Name(step); got != want {
			t.Errorf("Name(%d) = %q, want %q", step, got, want)
		}
		if back, ok := rollup.ParseName(want); !ok || back != step {
			t.Errorf("ParseName(%q) = %d, %v", want, back, ok)
		}
	}
	if _, ok := rollup.ParseName("raw"); ok {
		t.Error(`ParseName("raw") ok`)
	}
}

func TestPickAndParseAgg(t *testing.T) {
	a := rollup.Aggregate{}.Add(1).Add(2).Add(6)
	want := map[rollup.Agg]float64{rollup.AggAvg: 3, rollup.AggMin: 1, rollup.AggMax: 6, rollup.AggSum: 9, rollup.AggCount: 3}
	for agg, v := range want {
		parsed, err := rollup.ParseAgg(string(agg))
		if err != nil || parsed != agg {
			t.Fatalf("ParseAgg(%q) = %q, %v", agg, parsed, err)
		}
		if got := a.Pick(agg); got != v {
			t.Errorf("Pick(%s) = %v, want %v", agg, got, v)
		}
	}
	if def, err := rollup.ParseAgg(""); err != nil || def != rollup.AggAvg {
		t.Fatalf(`ParseAgg("") = %q, %v`, def, err)
	}
	if _, err := rollup.ParseAgg("median"); err == nil {
		t.Fatal("median accepted")
	}
}

func TestCoarserStepIsRoundAndAMultipleOfTheBase(t *testing.T) {
	cases := []struct{ base, atLeast, want int64 }{
		{300_000, 1, 300_000},
		{300_000, 300_000, 300_000},
		{300_000, 300_001, 600_000},
		{300_000, 2_592_000, 3_600_000},         // 8,640 5m buckets into ≤ 1,000 → 1h
		{300_000, 1_000_000, 1_800_000},         // 15m is not ≥ 16m40s → 30m
		{60_000, 130_000, 300_000},              // 2m < 130 s, next round multiple of 1m
		{90_000, 100_000, 900_000},              // 90 s base: 15m is the first round multiple
		{300_000, 3_000_000_000, 3_000_000_000}, // past 30 d: the next multiple of the base
		{300_000, 3_000_000_001, 3_000_300_000},
	}
	for _, c := range cases {
		got := rollup.CoarserStep(c.base, c.atLeast)
		if got != c.want || got%c.base != 0 || got < c.atLeast {
			t.Errorf("CoarserStep(%d, %d) = %d, want %d", c.base, c.atLeast, got, c.want)
		}
	}
}
