// Package ingest accepts validated samples from any door (HTTP, MQTT) and hands
// them to the durable queue. It never writes the samples table itself. On the
// way it enforces the protections: per-token quotas, the series cap,
// back-pressure and Idempotency-Key.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/outage"
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
	// Parts splits Inputs into deliveries that arrived separately (the
	// messages of one MQTT batch), in order; nil means one part that
	// arrived now (an HTTP request).
	Parts []Part
	// IdempotencyKey, when set, makes the request idempotent for the tenant;
	// Fingerprint identifies its body so that reuse with another body is refused.
	IdempotencyKey string
	Fingerprint    [32]byte
}

// Part is one delivery within a Request: Inputs[previous part's End:End],
// which arrived at ArrivedAt. Its samples without a ts take ArrivedAt.
type Part struct {
	End       int
	ArrivedAt time.Time
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
// *metric.ValidationError lists every problem and nothing is enqueued. A
// port's failure matches outage.ErrUnavailable (retry later).
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
	samples, bad := validate(req.Inputs, req.Parts, lim, now)
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
		return Result{}, fmt.Errorf("enqueue batch %s tenant=%d: %w", b.ID, tenantID, outage.Unavailable("queue", err))
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

// validate checks every input, each part at its arrival time, and refuses
// two samples of one series at one ts within a part, naming both: the
// store would keep only the first, and a 202 must not count a sample that
// is then dropped.
func validate(inputs []metric.Input, parts []Part, lim metric.Limits, now time.Time) ([]metric.Sample, []metric.FieldError) {
	if parts == nil {
		parts = []Part{{End: len(inputs), ArrivedAt: now}}
	}
	samples := make([]metric.Sample, len(inputs))
	var bad []metric.FieldError
	start := 0
	for _, p := range parts {
		at := p.ArrivedAt
		if at.IsZero() {
			at = now
		}
		for i := start; i < p.End; i++ {
			smp, errs := metric.New(inputs[i], lim, at)
			for _, e := range errs {
				e.Index = i
				bad = append(bad, e)
			}
			samples[i] = smp
		}
		start = p.End
	}
	if len(bad) > 0 {
		return nil, bad
	}
	return samples, resolveRepeats(samples, inputs, parts)
}

// resolveRepeats refuses repeats within one part. Across parts (messages
// that arrived separately), a later sample without ts that lands on an
// earlier one's millisecond takes the next free millisecond of its series,
// so that messages sent in quick succession all count; a later one with
// its own ts is a resend, left to the store's first-write-wins (and
// counted there as a repeat).
func resolveRepeats(samples []metric.Sample, inputs []metric.Input, parts []Part) []metric.FieldError {
	partOf := func(i int) int { return sort.Search(len(parts), func(k int) bool { return parts[k].End > i }) }
	var shifted map[int]bool // samples moved to a later millisecond
	for round := 0; ; round++ {
		repeats := metric.FindRepeats(samples)
		if len(repeats) == 0 {
			return nil
		}
		var bad []metric.FieldError
		moved := false
		for _, r := range repeats {
			switch {
			case (shifted[r.First] || shifted[r.Again]) && round < maxShiftRounds:
				// moved by us onto another sample: move on
				k := r.Again
				if !shifted[k] {
					k = r.First
				}
				samples[k] = samples[k].At(samples[k].TimestampMillis() + 1)
				moved = true
			case len(parts) < 2 || partOf(r.First) == partOf(r.Again):
				bad = append(bad,
					metric.FieldError{Index: r.First, Field: "ts", Message: repeatMessage(r.Again, inputs[r.First].HasTS)},
					metric.FieldError{Index: r.Again, Field: "ts", Message: repeatMessage(r.First, inputs[r.Again].HasTS)})
			case !inputs[r.Again].HasTS && round < maxShiftRounds:
				samples[r.Again] = samples[r.Again].At(samples[r.Again].TimestampMillis() + 1)
				if shifted == nil {
					shifted = map[int]bool{}
				}
				shifted[r.Again] = true
				moved = true
			}
		}
		if len(bad) > 0 {
			sort.SliceStable(bad, func(a, b int) bool { return bad[a].Index < bad[b].Index })
			return bad
		}
		if !moved {
			return nil
		}
	}
}

// maxShiftRounds bounds how far a server-timed sample is moved (in ms).
const maxShiftRounds = 1000

func repeatMessage(other int, hasTS bool) string {
	if hasTS {
		return fmt.Sprintf("sample %d has the same series and ts: a series holds one value per millisecond", other)
	}
	return fmt.Sprintf("sample %d has the same series and, without ts, the same arrival time: give each sample its own ts", other)
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
		return RateDecision{}, fmt.Errorf("rate limit %s: %w", c.Key, outage.Unavailable("rate limiter", err))
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
			return fmt.Errorf("read queue backlog: %w", outage.Unavailable("queue", err))
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
		return Result{}, false, fmt.Errorf("reserve idempotency key: %w", outage.Unavailable("idempotency store", err))
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
		return fmt.Errorf("series cap tenant=%d: %w", tenantID, outage.Unavailable("database", err))
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
