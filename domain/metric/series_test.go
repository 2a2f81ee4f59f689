package metric_test

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
)

func TestHashSeries(t *testing.T) {
	// Maps built in different insertion orders; Go map order is not insertion
	// order, but building them apart makes the intent plain.
	m1 := map[string]string{}
	m1["host"], m1["dc"], m1["core"] = "a", "eu", "0"
	m2 := map[string]string{}
	m2["core"], m2["host"], m2["dc"] = "0", "a", "eu"

	tests := []struct {
		name   string
		aName  string
		aTags  metric.Tags
		bName  string
		bTags  metric.Tags
		differ bool
	}{
		{"same tags, different map order", "cpu", metric.SortedTags(m1), "cpu", metric.SortedTags(m2), false},
		{"nil and empty tags are the same series", "cpu", nil, "cpu", metric.Tags{}, false},
		{"different name", "cpu", nil, "mem", nil, true},
		{"different tag value", "cpu", metric.Tags{{"host", "a"}}, "cpu", metric.Tags{{"host", "b"}}, true},
		{"tag key/value boundary: (ab,c) vs (a,bc)", "cpu", metric.Tags{{"ab", "c"}}, "cpu", metric.Tags{{"a", "bc"}}, true},
		{"name/tag boundary", "cpua", metric.Tags{{"b", "c"}}, "cpu", metric.Tags{{"ab", "c"}}, true},
		{"name absorbs a tag", "cpu", metric.Tags{{"", ""}}, "cpu", nil, true},
		{"tag pair boundary", "cpu", metric.Tags{{"a", "b"}, {"c", "d"}}, "cpu", metric.Tags{{"a", "bc"}, {"", "d"}}, true},
		{"extra tag", "cpu", metric.Tags{{"host", "a"}}, "cpu", metric.Tags{{"host", "a"}, {"dc", "eu"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := metric.HashSeries(tt.aName, tt.aTags)
			b := metric.HashSeries(tt.bName, tt.bTags)
			if (a != b) != tt.differ {
				t.Errorf("HashSeries(%q,%v)=%x, HashSeries(%q,%v)=%x; differ=%v, want %v",
					tt.aName, tt.aTags, a, tt.bName, tt.bTags, b, a != b, tt.differ)
			}
		})
	}
}

func TestHashSeriesIsStable(t *testing.T) {
	// The hash is persisted, so it must not change across releases. Golden value:
	// the first 16 bytes of sha256(be32(3)"cpu" be32(4)"host" be32(1)"a"), computed
	// outside Go.
	const want = "2f2517184952872e801655a7449ee4f2"
	got := metric.HashSeries("cpu", metric.Tags{{Key: "host", Value: "a"}})
	if hex.EncodeToString(got[:]) != want {
		t.Errorf("HashSeries = %x, want %s", got, want)
	}
}

func TestSampleSeriesIgnoresValueTimeAndDedupe(t *testing.T) {
	in1 := valid()
	in1.Tags = map[string]string{"b": "2", "a": "1"}
	in2 := valid()
	in2.Tags = map[string]string{"a": "1", "b": "2"}
	in2.Value, in2.DedupeID = 99, "x"
	in2.TS, in2.HasTS = now.Add(-time.Minute), true
	s1, e1 := metric.New(in1, metric.DefaultLimits(), now)
	s2, e2 := metric.New(in2, metric.DefaultLimits(), now)
	if e1 != nil || e2 != nil {
		t.Fatal(e1, e2)
	}
	if s1.Series() != s2.Series() {
		t.Error("two samples of the same name and tags are in different series")
	}
}
