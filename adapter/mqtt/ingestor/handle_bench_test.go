package ingestor_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/mqtt/ingestor"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

type nopIngester struct{}

func (nopIngester) Accept(_ context.Context, r ingest.Request) (ingest.Result, error) {
	return ingest.Result{Accepted: len(r.Inputs)}, nil
}

// BenchmarkHandle measures the ingestor alone (decode, batch, ack) on 10-sample
// messages with a no-op use case.
func BenchmarkHandle(b *testing.B) {
	ing := ingestor.NewIngestor(nopIngester{}, tenants(map[string]int64{"acme": 7}), nil, nil, ingestor.Options{})
	payload := []byte(`[`)
	for j := 0; j < 10; j++ {
		if j > 0 {
			payload = append(payload, ',')
		}
		payload = append(payload, fmt.Sprintf(`{"name":"bench.m","value":%d.5,"tags":{"host":"h-%d","dc":"eu"},"ts":1764064800.%03d}`, j, j, j)...)
	}
	payload = append(payload, ']')
	var wg sync.WaitGroup
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			wg.Add(1)
			ing.Handle("metrics/acme/system/a1", payload, wg.Done)
		}
	})
	_ = ing.Close(context.Background())
	wg.Wait()
}
