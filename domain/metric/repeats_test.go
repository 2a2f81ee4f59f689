package metric_test

import (
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"

	"github.com/pulsemetrics/pulse/domain/metric"
)

func smp(name, host string, ts int64) metric.Sample {
	var tags metric.Tags
	if host != "" {
		tags = metric.Tags{{Key: "host", Value: host}}
	}
	return metric.Rehydrate(name, 1, tags, ts, "")
}

func TestFindRepeats(t *testing.T) {
	tests := []struct {
		name    string
		samples []metric.Sample
		want    []metric.Repeat
	}{
		{name: "empty"},
		{name: "one", samples: []metric.Sample{smp("d", "", 1)}},
		{name: "same series, 10 ms apart", samples: []metric.Sample{smp("d", "", 0), smp("d", "", 10), smp("d", "", 20)}},
		{name: "same ts, other series", samples: []metric.Sample{smp("d", "a", 5), smp("d", "b", 5), smp("e", "a", 5)}},
		{name: "two without ts at one server time", samples: []metric.Sample{smp("d", "", 7), smp("d", "", 7)},
			want: []metric.Repeat{{First: 0, Again: 1}}},
		{name: "three times the same: each paired with the first", samples: []metric.Sample{smp("d", "a", 7), smp("d", "b", 7), smp("d", "a", 7), smp("d", "a", 7)},
			want: []metric.Repeat{{First: 0, Again: 2}, {First: 0, Again: 3}}},
		{name: "out of order repeat", samples: []metric.Sample{smp("d", "", 30), smp("d", "", 10), smp("d", "", 20), smp("d", "", 10)},
			want: []metric.Repeat{{First: 1, Again: 3}}},
		{name: "tags tell series apart, not the name alone", samples: []metric.Sample{smp("d", "a", 1), smp("d", "", 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := metric.FindRepeats(tt.samples); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FindRepeats = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFindRepeatsMatchesNaive compares the table with a quadratic scan on
// random batches dense enough to collide often, of every size up to a few
// thousand (the pooled table is reused across sizes).
func TestFindRepeatsMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 400 {
		n := r.IntN(3000)
		if round%4 == 0 {
			n = r.IntN(20)
		}
		samples := make([]metric.Sample, n)
		for i := range samples {
			samples[i] = smp("m", strconv.Itoa(r.IntN(5)), int64(r.IntN(n/3+1)))
		}
		if got, want := metric.FindRepeats(samples), naiveRepeats(samples); !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d (%d samples): got %d repeats, want %d", round, n, len(got), len(want))
		}
	}
}

func naiveRepeats(samples []metric.Sample) []metric.Repeat {
	var out []metric.Repeat
	for i := range samples {
		for j := range i {
			if samples[j].Series() == samples[i].Series() && samples[j].TimestampMillis() == samples[i].TimestampMillis() {
				out = append(out, metric.Repeat{First: j, Again: i})
				break
			}
		}
	}
	return out
}

func BenchmarkFindRepeats1000Series(b *testing.B) {
	samples := make([]metric.Sample, 1000)
	for i := range samples {
		samples[i] = smp("bench.cpu.load", "host-"+strconv.Itoa(i), 1764064800000)
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(metric.FindRepeats(samples)) != 0 {
			b.Fatal("repeats")
		}
	}
}
