package alert_test

import (
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
)

func floorMod(a, b int64) int64 { return ((a % b) + b) % b }

func TestOffset(t *testing.T) {
	cadences := []time.Duration{10 * time.Second, 15 * time.Second, time.Minute, 90 * time.Second, time.Hour, 24 * time.Hour}
	for _, c := range cadences {
		for id := int64(-50); id < 2000; id++ {
			off := alert.Offset(id, c)
			if off < 0 || off >= c.Milliseconds() || off%1000 != 0 {
				t.Fatalf("Offset(%d, %s) = %d, want whole seconds in [0, %d)", id, c, off, c.Milliseconds())
			}
			if again := alert.Offset(id, c); again != off {
				t.Fatalf("Offset(%d, %s) is not stable: %d then %d", id, c, off, again)
			}
		}
	}
	// Golden values: the offset decides persisted due times, so it must not
	// change between releases.
	for _, g := range []struct {
		id   int64
		c    time.Duration
		want int64
	}{
		{1, time.Minute, 28000}, {2, time.Minute, 1000}, {42, time.Minute, 31000},
		{1, time.Hour, 2668000}, {123456789, time.Hour, 2748000}, {7, 10 * time.Second, 6000},
	} {
		if got := alert.Offset(g.id, g.c); got != g.want {
			t.Errorf("Offset(%d, %s) = %d, want %d", g.id, g.c, got, g.want)
		}
	}
	edges := []struct {
		name string
		c    time.Duration
	}{
		{"zero cadence", 0},
		{"negative cadence", -time.Minute},
		{"below a second", 999 * time.Millisecond},
		{"below a millisecond", 500 * time.Microsecond},
	}
	for _, e := range edges {
		for id := int64(1); id < 100; id++ {
			if off := alert.Offset(id, e.c); off != 0 {
				t.Errorf("%s: Offset(%d, %s) = %d, want 0", e.name, id, e.c, off)
			}
		}
	}
	// Cadences that are not whole seconds still get whole-second offsets
	// inside the cadence.
	for id := int64(1); id < 500; id++ {
		if off := alert.Offset(id, 2500*time.Millisecond); off != 0 && off != 1000 {
			t.Errorf("Offset(%d, 2.5s) = %d, want 0 or 1000", id, off)
		}
	}
}

func TestOffsetSpread(t *testing.T) {
	const ids, secs = 10000, 60
	var per [secs]int
	for id := int64(1); id <= ids; id++ {
		per[alert.Offset(id, time.Minute)/1000]++
	}
	mean := float64(ids) / secs
	for s, n := range per {
		if float64(n) > 3*mean || float64(n) < mean/3 {
			t.Errorf("second %d holds %d of %d rules (mean %.0f): badly spread %v", s, n, ids, mean, per)
			break
		}
	}
}

func TestDueTimes(t *testing.T) {
	const id = 42 // offset 31 s in a 1 m cadence
	c := time.Minute
	cm := c.Milliseconds()
	const off = 31000
	tests := []struct {
		name              string
		t                 int64
		after, atOrBefore int64
	}{
		{"exactly on a due time", 10*cm + off, 11*cm + off, 10*cm + off},
		{"one ms after a due time", 10*cm + off + 1, 11*cm + off, 10*cm + off},
		{"one ms before a due time", 10*cm + off - 1, 10*cm + off, 9*cm + off},
		{"zero", 0, off, off - cm},
		{"the offset itself", off, off + cm, off},
		{"minus one", -1, off, off - cm},
		{"negative, on a due time", -3*cm + off, -2*cm + off, -3*cm + off},
		{"negative, between due times", -3*cm + off + 5, -2*cm + off, -3*cm + off},
		{"negative, just before a due time", -3*cm + off - 1, -3*cm + off, -4*cm + off},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := alert.DueAfter(id, c, tt.t); got != tt.after {
				t.Errorf("DueAfter(%d) = %d, want %d", tt.t, got, tt.after)
			}
			if got := alert.DueAtOrBefore(id, c, tt.t); got != tt.atOrBefore {
				t.Errorf("DueAtOrBefore(%d) = %d, want %d", tt.t, got, tt.atOrBefore)
			}
		})
	}
	// Against a brute-force search, for several ids and cadences, around
	// zero and far out.
	for _, cad := range []time.Duration{10 * time.Second, time.Minute, 90 * time.Second, time.Hour} {
		for id := int64(1); id < 40; id++ {
			for _, base := range []int64{0, 1_700_000_000_000, -1_700_000_000_000} {
				for t0 := base - 2*cad.Milliseconds(); t0 <= base+2*cad.Milliseconds(); t0 += 997 {
					after, before := alert.DueAfter(id, cad, t0), alert.DueAtOrBefore(id, cad, t0)
					wa, wb := naiveDue(id, cad, t0)
					if after != wa || before != wb {
						t.Fatalf("id %d cadence %s t %d: DueAfter %d DueAtOrBefore %d, want %d %d", id, cad, t0, after, before, wa, wb)
					}
					if floorMod(after-alert.Offset(id, cad), cad.Milliseconds()) != 0 || after <= t0 || before > t0 || after-before != cad.Milliseconds() {
						t.Fatalf("id %d cadence %s t %d: %d, %d not aligned", id, cad, t0, after, before)
					}
				}
			}
		}
	}
	t.Run("no cadence", func(t *testing.T) {
		if got := alert.DueAfter(id, 0, 1000); got != 1001 {
			t.Errorf("DueAfter with cadence 0 = %d, want 1001", got)
		}
		if got := alert.DueAtOrBefore(id, 0, 1000); got != 1000 {
			t.Errorf("DueAtOrBefore with cadence 0 = %d, want 1000", got)
		}
	})
}

// naiveDue walks the due times k × cadence + offset.
func naiveDue(id int64, c time.Duration, t int64) (after, atOrBefore int64) {
	cm, off := c.Milliseconds(), alert.Offset(id, c)
	k := t / cm
	for k*cm+off > t {
		k--
	}
	for (k+1)*cm+off <= t {
		k++
	}
	return (k+1)*cm + off, k*cm + off
}

func TestCatchUp(t *testing.T) {
	const id = 9
	c := time.Minute
	cm := c.Milliseconds()
	due := alert.DueAfter(id, c, 1_700_000_000_000)
	tests := []struct {
		name    string
		now     int64
		at      int64
		skipped int64
	}{
		{"on time", due, due, 0},
		{"claimed early", due - 5000, due, 0},
		{"late by less than a cadence", due + cm - 1, due, 0},
		{"late by exactly a cadence: the next due time, one skipped", due + cm, due + cm, 1},
		{"after downtime: once at the latest due time", due + 5*cm + 7000, due + 5*cm, 5},
		{"after a day of downtime", due + 24*60*cm + 1, due + 24*60*cm, 24 * 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, skipped := alert.CatchUp(id, c, due, tt.now)
			if at != tt.at || skipped != tt.skipped {
				t.Errorf("CatchUp(due %d, now %d) = %d, %d; want %d, %d", due, tt.now, at, skipped, tt.at, tt.skipped)
			}
		})
	}
	t.Run("cadence below a millisecond does not divide by zero", func(t *testing.T) {
		for _, cad := range []time.Duration{0, 500 * time.Microsecond, -time.Second} {
			if at, skipped := alert.CatchUp(id, cad, 1000, 5000); at != 5000 || skipped != 0 {
				t.Errorf("CatchUp(cadence %s) = %d, %d; want 5000, 0", cad, at, skipped)
			}
			if at, skipped := alert.CatchUp(id, cad, 5000, 1000); at != 5000 || skipped != 0 {
				t.Errorf("CatchUp(cadence %s, early) = %d, %d; want 5000, 0", cad, at, skipped)
			}
		}
	})
}
