package telemetry

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsemetrics/pulse/usecase/flush"
)

// maxTrackedEntries bounds the entries a lagSource remembers between
// Fetch and Ack: only a chunk abandoned at shutdown leaves any behind.
const maxTrackedEntries = 100_000

// FlushLag wraps the workers' queue so that each entry's time from its
// acceptance to its acknowledgement, after its rows committed, is observed
// in pulse_flush_lag_seconds: how far behind the ingest door the store is.
func (r *Registry) FlushLag(src flush.Source) flush.Source {
	h := registerShared(r, prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "pulse_flush_lag_seconds",
		Help:    "Time from a batch's acceptance (202) to its acknowledgement once stored.",
		Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800},
	}))
	return &lagSource{Source: src, lag: h, accepted: map[string]time.Time{}, now: time.Now}
}

type lagSource struct {
	flush.Source
	lag prometheus.Histogram
	now func() time.Time

	mu       sync.Mutex
	accepted map[string]time.Time // entry id → its batch's AcceptedAt
}

func (s *lagSource) Fetch(ctx context.Context, max int, wait time.Duration) ([]flush.Delivery, error) {
	ds, err := s.Source.Fetch(ctx, max, wait)
	if len(ds) > 0 {
		s.mu.Lock()
		if len(s.accepted) > maxTrackedEntries {
			clear(s.accepted)
		}
		for _, d := range ds {
			s.accepted[d.ID] = d.Batch.AcceptedAt
		}
		s.mu.Unlock()
	}
	return ds, err
}

func (s *lagSource) Ack(ctx context.Context, ids []string) error {
	err := s.Source.Ack(ctx, ids)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		at, ok := s.accepted[id]
		delete(s.accepted, id)
		if ok && err == nil && !at.IsZero() {
			s.lag.Observe(max(now.Sub(at), 0).Seconds())
		}
	}
	return err
}
