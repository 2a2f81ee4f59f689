package metric_test

import (
	"math"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// FuzzNew checks that New never panics and that it either returns a sample
// equal to its input or at least one error, never both.
func FuzzNew(f *testing.F) {
	f.Add("cpu.load", 0.42, "host", "a", int64(0), false, "")
	f.Add("", math.NaN(), "", "", int64(-1), true, "d")
	f.Add("9x", math.Inf(1), "a b", "v", int64(1)<<62, true, "dd")
	f.Fuzz(func(t *testing.T, name string, value float64, k, v string, offMillis int64, hasTS bool, dedupe string) {
		lim := metric.DefaultLimits().WithRetention(30)
		in := metric.Input{Name: name, Value: value, HasValue: true, Tags: map[string]string{k: v},
			TS: now.Add(time.Duration(offMillis) * time.Millisecond), HasTS: hasTS, DedupeID: dedupe}
		s, errs := metric.New(in, lim, now)
		if len(errs) > 0 {
			if s.Name() != "" || s.Tags() != nil {
				t.Fatalf("errors %v and a sample %+v", errs, s)
			}
			return
		}
		if s.Name() != name || s.Value() != value || s.DedupeID() != dedupe || s.Tags().Map()[k] != v {
			t.Fatalf("sample %+v does not hold its input %+v", s, in)
		}
		if math.IsNaN(s.Value()) || math.IsInf(s.Value(), 0) {
			t.Fatalf("accepted non-finite value %v", s.Value())
		}
		ts := time.UnixMilli(s.TimestampMillis())
		if ts.After(now.Add(10*time.Minute)) || ts.Before(now.Add(-30*24*time.Hour-time.Millisecond)) {
			t.Fatalf("accepted ts %v outside [now-30d, now+10m]", ts)
		}
	})
}
