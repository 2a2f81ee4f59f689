// Package ingest accepts validated samples from any door (HTTP, MQTT) and hands
// them to the durable queue. It never writes the samples table itself. On the
// way it enforces the protections: per-token quotas, the series cap,
// back-pressure and Idempotency-Key.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
)

//go:generate go tool mockgen -destination=mock_ports_test.go -package=ingest_test . Queue,TenantLimits,RateLimiter,Backlog,IdempotencyStore,SeriesGate

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

// backlogEvery bounds how often the queue's backlog is read: it is asked on
// every request, and a slightly stale answer is fine for back-pressure.
const backlogEvery = 250 * time.Millisecond

// pendingTTL bounds how long a reserved Idempotency-Key blocks retries when
// the process handling it dies before finishing.
const pendingTTL = 30 * time.Second

// Service is the ingest use case.
type Service struct {
	queue  Queue
	limits TenantLimits
	now    func() time.Time
	newID  func() string

	limiter    RateLimiter
	defQuota   Quota
	backlog    Backlog
	maxBacklog int64
	idem       IdempotencyStore
	idemTTL    time.Duration
	gate       SeriesGate
	maxSeries  int

	backlogSeen atomic.Int64 // last backlog read
	backlogAt   atomic.Int64 // when (Unix ns)
}

// NewService returns the ingest use case with the given protections.
func NewService(q Queue, l TenantLimits, now func() time.Time, newID func() string, opts ...Option) *Service {
	s := &Service{queue: q, limits: l, now: now, newID: newID}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Caller is who sends, as the door authenticated it.
type Caller struct {
	TenantID int64
	// Key identifies the quota to charge (the token id); "" charges none,
	// for a door that enforced the quota itself (the embedded MQTT broker).
	Key string
	// Quota is the token's own allowance; zero fields take the default.
	Quota Quota
}

// Request is one delivery from a door: all of it is accepted or none.
type Request struct {
	Caller Caller
	Inputs []metric.Input
	// IdempotencyKey, when set, makes the request idempotent for the tenant;
	// Fingerprint identifies its body so that reuse with another body is refused.
	IdempotencyKey string
	Fingerprint    [32]byte
}

// Result is what the door answers with 202.
type Result struct {
	RequestID string
	Accepted  int
	// Replayed is true when an Idempotency-Key matched an earlier request:
	// nothing new was enqueued.
	Replayed bool
	// Rate is the quota state after this request (zero without a limiter).
	Rate RateDecision
}

// Accept checks the request against the caller's quota, validates every
// input, applies the series cap and back-pressure, and enqueues the samples
// as one batch, all or nothing: on any invalid input a
// *metric.ValidationError lists every problem and nothing is enqueued.
func (s *Service) Accept(ctx context.Context, req Request) (Result, error) {
	tenantID := req.Caller.TenantID
	if len(req.Inputs) == 0 {
		return Result{}, &metric.ValidationError{Errors: []metric.FieldError{{Index: 0, Field: "body", Message: "no samples in request"}}}
	}
	rate, err := s.takeQuota(ctx, req.Caller, len(req.Inputs))
	if err != nil {
		return Result{}, err
	}
	lim, err := s.limits.LimitsFor(ctx, tenantID)
	if err != nil {
		return Result{}, fmt.Errorf("limits for tenant %d: %w", tenantID, err)
	}
	now := s.now()
	samples, bad := validate(req.Inputs, lim, now)
	if len(bad) > 0 {
		return Result{}, &metric.ValidationError{Errors: bad}
	}
	if err := s.checkBacklog(ctx, now); err != nil {
		return Result{}, err
	}
	b := metric.Batch{ID: s.newID(), TenantID: tenantID, AcceptedAt: now, Samples: samples}
	if req.IdempotencyKey != "" {
		res, replayed, err := s.reserveKey(ctx, req, b)
		if err != nil || replayed {
			res.Rate = rate
			return res, err
		}
	}
	if err := s.admitSeries(ctx, tenantID, samples); err != nil {
		s.releaseKey(ctx, req)
		return Result{}, err
	}
	if err := s.queue.Enqueue(ctx, b); err != nil {
		s.releaseKey(ctx, req)
		return Result{}, fmt.Errorf("enqueue batch %s tenant=%d: %w", b.ID, tenantID, err)
	}
	res := Result{RequestID: b.ID, Accepted: len(samples), Rate: rate}
	if req.IdempotencyKey != "" {
		rec := IdempotencyRecord{Fingerprint: req.Fingerprint, RequestID: b.ID, Accepted: len(samples), Done: true}
		if err := s.idem.Complete(ctx, tenantID, req.IdempotencyKey, rec, s.idemTTL); err != nil {
			// The batch is durable; a retry within pendingTTL gets 409, later a replay.
			return res, nil
		}
	}
	return res, nil
}

func validate(inputs []metric.Input, lim metric.Limits, now time.Time) ([]metric.Sample, []metric.FieldError) {
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
	return samples, bad
}

func (s *Service) takeQuota(ctx context.Context, c Caller, samples int) (RateDecision, error) {
	if s.limiter == nil || c.Key == "" {
		return RateDecision{}, nil
	}
	q := c.Quota
	if q.SamplesPerMinute == 0 {
		q.SamplesPerMinute = s.defQuota.SamplesPerMinute
	}
	if q.RequestsPerMinute == 0 {
		q.RequestsPerMinute = s.defQuota.RequestsPerMinute
	}
	d, err := s.limiter.Take(ctx, c.Key, int64(samples), q)
	if err != nil {
		return RateDecision{}, fmt.Errorf("rate limit %s: %w", c.Key, err)
	}
	if !d.Allowed {
		return d, &RateLimitError{Limit: d.Limit, Max: d.Max, Remaining: d.Remaining, RetryAfter: d.RetryAfter, Reset: d.Reset}
	}
	return d, nil
}

func (s *Service) checkBacklog(ctx context.Context, now time.Time) error {
	if s.backlog == nil || s.maxBacklog <= 0 {
		return nil
	}
	n := s.backlogSeen.Load()
	if now.UnixNano()-s.backlogAt.Load() >= int64(backlogEvery) {
		fresh, err := s.backlog.Backlog(ctx)
		if err != nil {
			return fmt.Errorf("read queue backlog: %w", err)
		}
		n = fresh
		s.backlogSeen.Store(n)
		s.backlogAt.Store(now.UnixNano())
	}
	if n >= s.maxBacklog {
		return fmt.Errorf("%w (backlog %d entries, bound %d)", ErrBackpressure, n, s.maxBacklog)
	}
	return nil
}

// reserveKey claims the request's Idempotency-Key, or answers from the
// earlier request that holds it (replayed=true).
func (s *Service) reserveKey(ctx context.Context, req Request, b metric.Batch) (Result, bool, error) {
	if s.idem == nil {
		return Result{}, false, &IdempotencyError{Message: "Idempotency-Key is not supported by this server"}
	}
	if msg := checkKey(req.IdempotencyKey); msg != "" {
		return Result{}, false, &IdempotencyError{Message: msg}
	}
	rec := IdempotencyRecord{Fingerprint: req.Fingerprint, RequestID: b.ID, Accepted: len(b.Samples)}
	prior, found, err := s.idem.Reserve(ctx, b.TenantID, req.IdempotencyKey, rec, pendingTTL)
	if err != nil {
		return Result{}, false, fmt.Errorf("reserve idempotency key: %w", err)
	}
	if !found {
		return Result{}, false, nil
	}
	switch {
	case prior.Fingerprint != req.Fingerprint:
		return Result{}, true, &IdempotencyError{Message: "Idempotency-Key was already used with a different request body"}
	case !prior.Done:
		return Result{}, true, &IdempotencyError{Message: "a request with this Idempotency-Key is still in progress; retry shortly", InProgress: true}
	}
	return Result{RequestID: prior.RequestID, Accepted: prior.Accepted, Replayed: true}, true, nil
}

func (s *Service) releaseKey(ctx context.Context, req Request) {
	if req.IdempotencyKey != "" && s.idem != nil {
		_ = s.idem.Release(context.WithoutCancel(ctx), req.Caller.TenantID, req.IdempotencyKey)
	}
}

// checkKey accepts 1–255 printable ASCII characters.
func checkKey(k string) string {
	if len(k) > 255 {
		return "Idempotency-Key exceeds the limit of 255 characters"
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return "Idempotency-Key must be printable ASCII without spaces"
		}
	}
	return ""
}

func (s *Service) admitSeries(ctx context.Context, tenantID int64, samples []metric.Sample) error {
	if s.gate == nil || s.maxSeries <= 0 {
		return nil
	}
	refused, err := s.gate.Admit(ctx, tenantID, samples, s.maxSeries)
	if err != nil {
		return fmt.Errorf("series cap tenant=%d: %w", tenantID, err)
	}
	if len(refused) == 0 {
		return nil
	}
	errs := make([]metric.FieldError, len(refused))
	for i, idx := range refused {
		errs[i] = metric.FieldError{Index: idx, Field: "name", Message: fmt.Sprintf(
			"new series refused: the tenant holds the limit of max_series_per_tenant=%d series (existing series keep ingesting)", s.maxSeries)}
	}
	return &metric.ValidationError{Errors: errs}
}
