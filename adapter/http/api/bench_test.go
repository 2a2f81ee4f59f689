package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/http/api"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

type nopQueue struct{}

func (nopQueue) Enqueue(context.Context, metric.Batch) error { return nil }

// benchBody is 1,000 realistic samples: three tags, a numeric ts, a few with dedupe ids.
func benchBody(b *testing.B) []byte {
	b.Helper()
	samples := make([]map[string]any, 1000)
	for i := range samples {
		s := map[string]any{
			"name":  fmt.Sprintf("system.cpu.load%d", i%20),
			"value": float64(i) * 0.37,
			"tags":  map[string]string{"host": fmt.Sprintf("host-%03d", i%50), "region": "eu-west-1", "env": "prod"},
			"ts":    float64(testNow.Add(-time.Duration(i)*time.Second).UnixMilli()) / 1000,
		}
		if i%10 == 0 {
			s["dedupe_id"] = fmt.Sprintf("d-%d", i)
		}
		samples[i] = s
	}
	body, err := json.Marshal(samples)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkIngest1000 posts a pre-encoded 1,000-sample body through the
// whole router (auth, read, decode, real validation in ingest.Service, a
// no-op queue) on every available core, and reports samples/s.
func BenchmarkIngest1000(b *testing.B) {
	svc := ingest.NewService(nopQueue{}, fakeLimits{}, func() time.Time { return testNow }, func() string { return "req" })
	h := api.NewRouter(api.Deps{Auth: fakeAuth{}, Ingest: svc, Query: &fakeQuerier{}})
	body := benchBody(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/api/metrics", bytes.NewReader(body))
			req.Header.Set("X-API-Token", ingestToken)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusAccepted {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
	b.ReportMetric(float64(b.N)*1000/time.Since(start).Seconds(), "samples/s")
}
