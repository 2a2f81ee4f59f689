package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/quota"
)

// Quota is a token's allowance per minute. Zero fields take the service default.
type Quota struct {
	SamplesPerMinute  int64
	RequestsPerMinute int64
}

// RateDecision is a limiter's answer for both counts of one request.
type RateDecision struct {
	quota.Decision
	// Limit names the quota that decided ("samples_per_minute" or
	// "requests_per_minute"); Max is its value.
	Limit string
	Max   int64
}

// CombineRate is the RateDecision of a request from the decisions of its
// two counts (every RateLimiter answers by it): a denial names the count
// that denied, requests first; an acceptance reports the samples count
// unless that one is unlimited.
func CombineRate(q Quota, requests, samples quota.Decision) RateDecision {
	switch {
	case q.RequestsPerMinute > 0 && !requests.Allowed:
		return RateDecision{Decision: requests, Limit: "requests_per_minute", Max: q.RequestsPerMinute}
	case q.SamplesPerMinute > 0:
		return RateDecision{Decision: samples, Limit: "samples_per_minute", Max: q.SamplesPerMinute}
	case q.RequestsPerMinute > 0:
		return RateDecision{Decision: requests, Limit: "requests_per_minute", Max: q.RequestsPerMinute}
	}
	return RateDecision{Decision: samples}
}

// RateLimiter takes one request carrying samples from key's quota: both
// counts are checked and, only if both fit, both are taken, atomically (so
// that replicas sharing the limiter share the quota). Safe for concurrent use.
type RateLimiter interface {
	Take(ctx context.Context, key string, samples int64, q Quota) (RateDecision, error)
}

// Backlog reports how many accepted batches wait in the queue.
type Backlog interface {
	Backlog(ctx context.Context) (int64, error)
}

// IdempotencyRecord is what is kept for an Idempotency-Key.
type IdempotencyRecord struct {
	Fingerprint [32]byte
	RequestID   string
	Accepted    int
	Done        bool // false while the first request with the key is in flight
}

// IdempotencyStore keeps Idempotency-Keys per tenant, durably and shared by
// every API replica. Safe for concurrent use.
type IdempotencyStore interface {
	// Reserve stores rec under (tenant, key) for ttl unless a live record
	// exists, in which case it returns that record and found=true.
	Reserve(ctx context.Context, tenantID int64, key string, rec IdempotencyRecord, ttl time.Duration) (existing IdempotencyRecord, found bool, err error)
	// Complete replaces the record with its final form, kept for ttl.
	Complete(ctx context.Context, tenantID int64, key string, rec IdempotencyRecord, ttl time.Duration) error
	// Release forgets a reservation whose request failed, so a retry can run.
	Release(ctx context.Context, tenantID int64, key string) error
}

// SeriesGate enforces the per-tenant cap on distinct series. Known series
// always pass; new ones are admitted (and registered) while the tenant holds
// fewer than max. It returns the indexes of samples whose new series were
// refused. Safe for concurrent use.
type SeriesGate interface {
	Admit(ctx context.Context, tenantID int64, samples []metric.Sample, max int) (refused []int, err error)
}

// RateLimitError is a request over its token's quota (429).
type RateLimitError struct {
	Limit      string
	Max        int64
	Remaining  int64
	RetryAfter time.Duration
	Reset      time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("rate limit exceeded: %s=%d; retry in %s", e.Limit, e.Max, e.RetryAfter.Round(time.Second))
}

// IdempotencyError is a misuse of Idempotency-Key: reused with another body
// (InProgress false, 422) or reused while the first request runs (409).
type IdempotencyError struct {
	Message    string
	InProgress bool
}

func (e *IdempotencyError) Error() string { return e.Message }

// Option adds a protection to the service.
type Option func(*Service)

// WithRateLimit checks every request against its token's quota; def fills
// what a token leaves unset (0 there too = unlimited).
func WithRateLimit(l RateLimiter, def Quota) Option {
	return func(s *Service) { s.limiter, s.defQuota = l, def }
}

// WithBacklogBound answers ErrBackpressure while the queue holds more than
// max entries. The backlog is read at most every backlogEvery.
func WithBacklogBound(b Backlog, max int64) Option {
	return func(s *Service) { s.backlog, s.maxBacklog = b, max }
}

// WithIdempotency enables the Idempotency-Key header, remembering keys for ttl.
func WithIdempotency(st IdempotencyStore, ttl time.Duration) Option {
	return func(s *Service) { s.idem, s.idemTTL = st, ttl }
}

// WithSeriesCap caps the distinct series of each tenant at max.
func WithSeriesCap(g SeriesGate, max int) Option {
	return func(s *Service) { s.gate, s.maxSeries = g, max }
}
