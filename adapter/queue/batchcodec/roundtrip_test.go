package batchcodec_test

import (
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/queue/batchcodec"
	"github.com/pulsemetrics/pulse/adapter/queue/queuetest"
	"github.com/pulsemetrics/pulse/domain/metric"
)

// checkRoundTrip encodes b, decodes it back and fails unless it is equal;
// it also checks that AppendEncode agrees and that a payload cut short by
// one byte is refused, never misread.
func checkRoundTrip(t *testing.T, b metric.Batch) []byte {
	t.Helper()
	enc := batchcodec.Encode(b)
	out, err := batchcodec.Decode(enc)
	if err != nil {
		t.Fatalf("decode of a valid %d-sample batch (%d bytes): %v", len(b.Samples), len(enc), err)
	}
	if msg := queuetest.Diff(b, out); msg != "" {
		t.Fatal(msg)
	}
	if out, err := batchcodec.DecodeString(string(enc)); err != nil || queuetest.Diff(b, out) != "" {
		t.Fatalf("DecodeString differs from Decode: %v", err)
	}
	if app := batchcodec.AppendEncode([]byte{0xee}, b); len(app) != len(enc)+1 || string(app[1:]) != string(enc) {
		t.Fatal("AppendEncode differs from Encode")
	}
	if _, err := batchcodec.Decode(enc[:len(enc)-1]); !errors.Is(err, batchcodec.ErrCorrupt) {
		t.Fatalf("payload cut by one byte: err %v, want ErrCorrupt", err)
	}
	return enc
}

// The shapes of the issue and their neighbours: a 100 Hz sensor, 10,000
// samples 1 ms apart, repeated and descending ts, the widest tags, the
// extreme values. The old bound (11 bytes per sample) refused the first one.
func TestRoundTripShapes(t *testing.T) {
	for _, sh := range queuetest.Shapes(queuetest.GenNow) {
		t.Run(sh.Name, func(t *testing.T) {
			checkRoundTrip(t, sh.Batch)
		})
	}
}

// The reproducer: 100 samples of one series 10 ms apart take 10
// bytes each, and decode.
func TestDenseSeriesDecodes(t *testing.T) {
	b := queuetest.Dense(queuetest.GenNow)
	enc := checkRoundTrip(t, b)
	header := len(batchcodec.Encode(metric.Batch{ID: b.ID, TenantID: b.TenantID, AcceptedAt: b.AcceptedAt, Samples: b.Samples[:1]}))
	if per := float64(len(enc)-header) / float64(len(b.Samples)-1); per != 10 {
		t.Fatalf("%.2f bytes per repeated sample, want 10", per)
	}
}

// TestRoundTripProperty: the shapes, then thousands of generated batches
// (fixed seed, so a failure reproduces) whose samples all pass validation,
// round-trip equal.
func TestRoundTripProperty(t *testing.T) {
	for _, sh := range queuetest.Shapes(queuetest.GenNow) {
		if out, err := batchcodec.Decode(batchcodec.Encode(sh.Batch)); err != nil || queuetest.Diff(sh.Batch, out) != "" {
			t.Fatalf("shape %s: %v %s", sh.Name, err, queuetest.Diff(sh.Batch, out))
		}
	}
	r := rand.New(rand.NewPCG(11, 1))
	n := 5000
	if testing.Short() {
		n = 500
	}
	samples := 0
	for i := range n {
		b := queuetest.GenBatch(r, queuetest.GenNow)
		samples += len(b.Samples)
		enc := batchcodec.Encode(b)
		out, err := batchcodec.Decode(enc)
		if err != nil {
			t.Fatalf("batch %d (%d samples, %d bytes): %v", i, len(b.Samples), len(enc), err)
		}
		if msg := queuetest.Diff(b, out); msg != "" {
			t.Fatalf("batch %d: %s", i, msg)
		}
	}
	if samples < 10*n {
		t.Fatalf("only %d samples in %d batches: the generator makes too few valid ones", samples, n)
	}
}

// Payloads written before the bound was fixed are the same format: this
// one (written by the version-1 encoder) still decodes to the same batch.
func TestDecodesAVersion1Payload(t *testing.T) {
	const v1 = "010c30314a44583751344e324b385480bab5b00d959aef3a0404086370752e6c6f6164000000000000d03f80e4aea2c2680204686f73740677" +
		"65622d303106726567696f6e0965752d776573742d31057265712d3103000000000000e03fd00f019c7500883ce437fee7070104686f7374067765" +
		"622d303204086d656d2e75736564000000a2941a6d420000057265712d32"
	data, err := hex.DecodeString(v1)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC).UnixMilli()
	want := metric.Batch{ID: "01JDX7Q4N2K8", TenantID: 42, AcceptedAt: time.Unix(1795600000, 123456789).UTC(), Samples: []metric.Sample{
		metric.Rehydrate("cpu.load", 0.25, metric.Tags{{Key: "host", Value: "web-01"}, {Key: "region", Value: "eu-west-1"}}, base, "req-1"),
		metric.Rehydrate("cpu.load", 0.5, metric.Tags{{Key: "host", Value: "web-01"}, {Key: "region", Value: "eu-west-1"}}, base+1000, ""),
		metric.Rehydrate("cpu.load", -1e300, metric.Tags{{Key: "host", Value: "web-02"}}, base+500, ""),
		metric.Rehydrate("mem.used", 1e12, nil, base+500, "req-2"),
	}}
	got, err := batchcodec.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if msg := queuetest.Diff(want, got); msg != "" {
		t.Fatal(msg)
	}
	if enc := batchcodec.Encode(want); hex.EncodeToString(enc) != v1 {
		t.Fatalf("the encoding changed:\n got %x\nwant %s", enc, v1)
	}
}

// FuzzRoundTrip builds a batch from the fuzz input (counts, names, tags,
// values, timestamps: see queuetest.GenBatch), keeps the samples that pass
// validation, and checks that it decodes back equal. It also holds the
// input itself to FuzzDecode's guarantee: Decode never panics, and what it
// accepts survives a round trip.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	r := rand.New(rand.NewPCG(5, 6))
	for range 8 {
		seed := make([]byte, 64+r.IntN(512))
		for i := range seed {
			seed[i] = byte(r.Uint32())
		}
		f.Add(seed)
	}
	f.Add(batchcodec.Encode(queuetest.Dense(queuetest.GenNow)))
	f.Fuzz(func(t *testing.T, data []byte) {
		if b, err := batchcodec.Decode(data); err == nil {
			if msg := Diff(b, mustDecode(t, batchcodec.Encode(b))); msg != "" {
				t.Fatalf("input as a payload: %s", msg)
			}
		} else if !errors.Is(err, batchcodec.ErrCorrupt) && !errors.Is(err, batchcodec.ErrVersion) {
			t.Fatalf("error %v wraps neither ErrCorrupt nor ErrVersion", err)
		}
		b := queuetest.GenBatch(queuetest.NewFuzzChooser(data), queuetest.GenNow)
		checkRoundTrip(t, b)
	})
}

func mustDecode(t *testing.T, data []byte) metric.Batch {
	t.Helper()
	b, err := batchcodec.Decode(data)
	if err != nil {
		t.Fatalf("re-decode: %v", err)
	}
	return b
}
