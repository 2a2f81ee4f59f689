package cli

import (
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/synth"
)

// The client's cost per sample (go test -bench Generate ./adapter/cli):
// making the samples (domain/synth) and writing their JSON.
func benchPlan(b *testing.B) synth.Plan {
	plan, err := synth.NewPlan(synth.Spec{Name: "bench.generate", Pattern: synth.Sine, Amplitude: 10, Offset: 50, Noise: 1, Period: time.Hour,
		Tags: []string{"host=h-{001..100}"}, Every: time.Second, Start: time.Unix(1.8e9, 0), End: time.Unix(1.8e9+500, 0)})
	if err != nil {
		b.Fatal(err)
	}
	return plan
}

func BenchmarkGenerateOnly(b *testing.B) {
	plan := benchPlan(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = plan.Generate(5000, func([]metric.Input) error { return nil })
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*plan.Samples()), "ns/sample")
}

func BenchmarkGenerateAndEncode(b *testing.B) {
	plan := benchPlan(b)
	enc := newEncoder(plan)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var first int64
		_ = plan.Generate(5000, func(in []metric.Input) error {
			buf = enc.encode(buf[:0], first, in)
			first += int64(len(in))
			return nil
		})
	}
	b.SetBytes(int64(len(buf)) * plan.Samples() / 5000)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*plan.Samples()), "ns/sample")
}
