// Package ingest accepts validated samples from any door (HTTP, MQTT) and hands
// them to the durable queue. It never writes the samples table itself.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
)

//go:generate go tool mockgen -destination=mock_ports_test.go -package=ingest_test . Queue,TenantLimits

// Queue is the durable hand-off to the workers. Enqueue returns only once the
// batch is durable (fsynced or replicated): the caller then answers 202.
// Implementations must be safe for concurrent use.
type Queue interface {
	Enqueue(ctx context.Context, b metric.Batch) error
}

// TenantLimits tells the sample limits in force for a tenant (its retention).
type TenantLimits interface {
	LimitsFor(ctx context.Context, tenantID int64) (metric.Limits, error)
}

// ErrBackpressure means the queue is behind; the client should retry later (503).
var ErrBackpressure = errors.New("ingest queue is full, retry later")

// Service is the ingest use case.
type Service struct {
	queue  Queue
	limits TenantLimits
	now    func() time.Time
	newID  func() string
}

// NewService returns the ingest use case.
func NewService(q Queue, l TenantLimits, now func() time.Time, newID func() string) *Service {
	return &Service{queue: q, limits: l, now: now, newID: newID}
}

// Result is what the door answers with 202.
type Result struct {
	RequestID string
	Accepted  int
}

// Accept validates every input and enqueues them as one batch, all or nothing:
// if any input is invalid, a *metric.ValidationError lists them all and
// nothing is enqueued.
func (s *Service) Accept(ctx context.Context, tenantID int64, inputs []metric.Input) (Result, error) {
	if len(inputs) == 0 {
		return Result{}, &metric.ValidationError{Errors: []metric.FieldError{{Index: 0, Field: "body", Message: "no samples in request"}}}
	}
	lim, err := s.limits.LimitsFor(ctx, tenantID)
	if err != nil {
		return Result{}, fmt.Errorf("limits for tenant %d: %w", tenantID, err)
	}
	now := s.now()
	samples := make([]metric.Sample, len(inputs))
	var bad []metric.FieldError
	for i, in := range inputs {
		smp, errs := metric.New(in, lim, now)
		for _, e := range errs {
			e.Index = i
			bad = append(bad, e)
		}
		samples[i] = smp
	}
	if len(bad) > 0 {
		return Result{}, &metric.ValidationError{Errors: bad}
	}
	b := metric.Batch{ID: s.newID(), TenantID: tenantID, AcceptedAt: now, Samples: samples}
	if err := s.queue.Enqueue(ctx, b); err != nil {
		return Result{}, fmt.Errorf("enqueue batch %s tenant=%d: %w", b.ID, tenantID, err)
	}
	return Result{RequestID: b.ID, Accepted: len(samples)}, nil
}
