package batchcodec

import (
	"math"
	"testing"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// sampleSize is the bytes a sample adds to a batch after prev: the encoding
// of [prev, s] less that of [prev].
func sampleSize(prev, s metric.Sample) int {
	one := len(Encode(metric.Batch{Samples: []metric.Sample{prev}}))
	return len(Encode(metric.Batch{Samples: []metric.Sample{prev, s}})) - one
}

// Decode refuses a sample count larger than the payload divided by
// minSampleBytes, so no sample may encode smaller than minSampleBytes; and
// the bound is only a bound if it is no looser than needed. It was 11 (it
// counted a tag count that flag 2 leaves out) while a sample repeating the
// previous one's name and tags less than 64 ms later takes 10: every batch
// of a 100 Hz sensor was refused.
func TestMinSampleBytesIsTheSmallestEncoding(t *testing.T) {
	tags := metric.Tags{{Key: "sensor", Value: "s1"}}
	prev := metric.Rehydrate("m", 1, tags, 1_000_000, "")
	smallest := math.MaxInt
	for _, name := range []string{"m", "n"} {
		for _, tg := range []metric.Tags{tags, nil, {{Key: "", Value: ""}}} {
			for _, dedupe := range []string{"", "d"} {
				for _, delta := range []int64{0, 1, -1, 10, 63, -64, 64, -65, 1 << 40} {
					for _, v := range []float64{0, math.Copysign(0, -1), math.MaxFloat64, math.NaN()} {
						s := metric.Rehydrate(name, v, tg, prev.TimestampMillis()+delta, dedupe)
						smallest = min(smallest, sampleSize(prev, s))
					}
				}
			}
		}
	}
	if smallest != minSampleBytes {
		t.Fatalf("the smallest sample encodes to %d bytes; minSampleBytes = %d", smallest, minSampleBytes)
	}
	// The minimal sample itself: same name and tags, no dedupe id, a delta
	// of less than 64 ms (a 100 Hz series).
	if got := sampleSize(prev, metric.Rehydrate("m", 2, tags, prev.TimestampMillis()+10, "")); got != minSampleBytes {
		t.Fatalf("a repeated sample 10 ms later takes %d bytes, want minSampleBytes = %d", got, minSampleBytes)
	}
	if got := flagsBytes + valueBytes + minVarintBytes; got != 10 {
		t.Fatalf("flags + value + one-byte delta = %d, want 10", got)
	}
}

// The tag count bound: the smallest tag is two empty strings.
func TestMinTagBytesIsTheSmallestEncoding(t *testing.T) {
	prev := metric.Rehydrate("m", 1, nil, 0, "")
	without := sampleSize(prev, metric.Rehydrate("m", 1, metric.Tags{{Key: "a", Value: "b"}}, 0, ""))
	with := sampleSize(prev, metric.Rehydrate("m", 1, metric.Tags{{Key: "a", Value: "b"}, {Key: "", Value: ""}}, 0, ""))
	if with-without != minTagBytes {
		t.Fatalf("an empty tag takes %d bytes; minTagBytes = %d", with-without, minTagBytes)
	}
}

// A batch made only of minimal samples decodes at every count around the
// varint edges of the count itself.
func TestBatchOfMinimalSamplesDecodes(t *testing.T) {
	tags := metric.Tags{{Key: "k", Value: "v"}}
	for _, n := range []int{2, 100, 127, 128, 129, 16383, 16384, 100000} {
		b := metric.Batch{Samples: make([]metric.Sample, n)}
		for i := range b.Samples {
			b.Samples[i] = metric.Rehydrate("m", float64(i), tags, int64(i%3), "")
		}
		out, err := Decode(Encode(b))
		if err != nil || len(out.Samples) != n {
			t.Fatalf("%d minimal samples: %d decoded, %v", n, len(out.Samples), err)
		}
	}
}
