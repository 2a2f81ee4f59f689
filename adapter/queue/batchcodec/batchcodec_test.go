package batchcodec_test

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/queue/batchcodec"
	"github.com/pulsemetrics/pulse/adapter/queue/queuetest"
	"github.com/pulsemetrics/pulse/domain/metric"
)

// sampleBatch returns a batch like one HTTP request: n samples over a few
// series, some with dedupe ids.
func sampleBatch(n int) metric.Batch {
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC).UnixMilli()
	s := make([]metric.Sample, n)
	for i := range s {
		tags := metric.Tags{{Key: "host", Value: fmt.Sprintf("web-%02d", i%4)}, {Key: "region", Value: "eu-west-1"}}
		dedupe := ""
		if i%3 == 0 {
			dedupe = fmt.Sprintf("req-%d", i)
		}
		s[i] = metric.Rehydrate("cpu.load", float64(i)*0.25, tags, base+int64(i)*1000, dedupe)
	}
	return metric.Batch{ID: "01JDX7Q4N2K8", TenantID: 42, AcceptedAt: time.Unix(1795600000, 123456789).UTC(), Samples: s}
}

func TestRoundTrip(t *testing.T) {
	cases := map[string]metric.Batch{
		"empty batch":  {},
		"no samples":   {ID: "b1", TenantID: 7, AcceptedAt: time.Unix(1, 5).UTC()},
		"one sample":   {ID: "b2", TenantID: 1, Samples: []metric.Sample{metric.Rehydrate("up", 1, nil, 1700000000000, "")}},
		"1000 samples": sampleBatch(1000),
		"negative tenant and pre-1970": {ID: "x", TenantID: -3, AcceptedAt: time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC),
			Samples: []metric.Sample{metric.Rehydrate("a", math.Copysign(0, -1), nil, -5000, "d")}}, // -0.0 would be +0
		"special values and unicode": {ID: "ü", Samples: []metric.Sample{
			metric.Rehydrate("m", math.MaxFloat64, metric.Tags{{Key: "k", Value: "välue ✓"}}, math.MaxInt64, "x"),
			metric.Rehydrate("m", math.SmallestNonzeroFloat64, metric.Tags{{Key: "k", Value: "välue ✓"}}, math.MinInt64, ""),
			metric.Rehydrate("n", math.Inf(-1), nil, 0, ""),
			metric.Rehydrate("n", math.NaN(), metric.Tags{{Key: "a", Value: ""}}, 1, ""),
		}},
		"alternating series": {ID: "alt", Samples: []metric.Sample{
			metric.Rehydrate("a", 1, metric.Tags{{Key: "h", Value: "1"}}, 10, ""),
			metric.Rehydrate("b", 2, metric.Tags{{Key: "h", Value: "1"}}, 10, ""),
			metric.Rehydrate("b", 3, metric.Tags{{Key: "h", Value: "2"}}, 9, ""),
			metric.Rehydrate("b", 4, nil, 11, ""),
			metric.Rehydrate("a", 5, nil, 11, ""),
		}},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			enc := batchcodec.Encode(in)
			out, err := batchcodec.Decode(enc)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if msg := Diff(in, out); msg != "" {
				t.Fatal(msg)
			}
			// AppendEncode appends after existing bytes.
			app := batchcodec.AppendEncode([]byte("prefix"), in)
			if string(app[:6]) != "prefix" || string(app[6:]) != string(enc) {
				t.Fatal("AppendEncode differs from Encode")
			}
		})
	}
}

func TestCompact(t *testing.T) {
	enc := batchcodec.Encode(sampleBatch(1000))
	// Per sample: flags, name ref, 8-byte value, 2-byte ts delta, a tag set
	// (changes every sample here) and a dedupe id every third sample.
	if perSample := len(enc) / 1000; perSample > 60 {
		t.Fatalf("%d bytes per sample, want at most 60", perSample)
	}
	same := sampleBatch(1000)
	for i := range same.Samples {
		s := same.Samples[i]
		same.Samples[i] = metric.Rehydrate(s.Name(), s.Value(), same.Samples[0].Tags(), s.TimestampMillis(), "")
	}
	if perSample := len(batchcodec.Encode(same)) / 1000; perSample > 12 {
		t.Fatalf("one series: %d bytes per sample, want at most 12", perSample)
	}
}

func TestEncodeReservesBoundedMemory(t *testing.T) {
	// 10,000 samples sharing one large tag set encode small; Encode must not
	// reserve the tag set's size for each of them.
	tags := make(metric.Tags, 32)
	for i := range tags {
		tags[i] = metric.Tag{Key: fmt.Sprintf("k%02d", i), Value: string(make([]byte, 256))}
	}
	b := metric.Batch{Samples: make([]metric.Sample, 10000)}
	for i := range b.Samples {
		b.Samples[i] = metric.Rehydrate("m", 1, tags, int64(i), "")
	}
	if enc := batchcodec.Encode(b); cap(enc) > 2<<20 {
		t.Fatalf("Encode reserved %d bytes for a %d-byte encoding", cap(enc), len(enc))
	}
}

func TestDecodeRejectsBadInput(t *testing.T) {
	good := batchcodec.Encode(sampleBatch(5))
	cases := map[string][]byte{
		"nil":                      nil,
		"unknown version":          append([]byte{9}, good[1:]...),
		"trailing byte":            append(append([]byte{}, good...), 0),
		"huge count":               {1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"varint overflow":          {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		"bad nanos":                {1, 0, 0, 0, 0x80, 0x94, 0xeb, 0xdc, 0x03, 0},
		"first sample refers back": {1, 0, 0, 0, 0, 1, flagSameName, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"unknown flag":             {1, 0, 0, 0, 0, 1, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	}
	for i := 0; i < len(good); i++ {
		cases[fmt.Sprintf("truncated to %d", i)] = good[:i]
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := batchcodec.Decode(data)
			if err == nil {
				t.Fatal("want an error")
			}
			if !errors.Is(err, batchcodec.ErrCorrupt) && !errors.Is(err, batchcodec.ErrVersion) {
				t.Fatalf("error %v wraps neither ErrCorrupt nor ErrVersion", err)
			}
		})
	}
}

const flagSameName = 1

func FuzzDecode(f *testing.F) {
	f.Add(batchcodec.Encode(sampleBatch(3)))
	f.Add(batchcodec.Encode(sampleBatch(40)))
	f.Add(batchcodec.Encode(metric.Batch{}))
	f.Add(batchcodec.Encode(metric.Batch{ID: "a", Samples: []metric.Sample{metric.Rehydrate("n", 1, nil, 5, "d")}}))
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := batchcodec.Decode(data)
		if err != nil {
			return
		}
		// Whatever decodes must survive a round trip unchanged.
		again, err := batchcodec.Decode(batchcodec.Encode(b))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if msg := Diff(b, again); msg != "" {
			t.Fatal(msg)
		}
	})
}

// Diff describes the first difference between two batches ("" if equal),
// values bit for bit.
var Diff = queuetest.Diff

func BenchmarkEncode1000(b *testing.B) {
	batch := sampleBatch(1000)
	buf := batchcodec.Encode(batch)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = batchcodec.AppendEncode(buf[:0], batch)
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "samples/s")
}

func BenchmarkEncode1000Alloc(b *testing.B) {
	batch := sampleBatch(1000)
	b.ReportAllocs()
	for b.Loop() {
		_ = batchcodec.Encode(batch)
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "samples/s")
}

func BenchmarkDecode1000(b *testing.B) {
	buf := batchcodec.Encode(sampleBatch(1000))
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := batchcodec.Decode(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "samples/s")
}
