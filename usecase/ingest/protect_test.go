package ingest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/quota"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

type protected struct {
	svc     *ingest.Service
	queue   *MockQueue
	limits  *MockTenantLimits
	limiter *MockRateLimiter
	backlog *MockBacklog
	idem    *MockIdempotencyStore
	gate    *MockSeriesGate
	clock   time.Time
}

func newProtected(t *testing.T, maxBacklog int64, maxSeries int) *protected {
	ctrl := gomock.NewController(t)
	p := &protected{
		queue: NewMockQueue(ctrl), limits: NewMockTenantLimits(ctrl), limiter: NewMockRateLimiter(ctrl),
		backlog: NewMockBacklog(ctrl), idem: NewMockIdempotencyStore(ctrl), gate: NewMockSeriesGate(ctrl), clock: now,
	}
	p.svc = ingest.NewService(p.queue, p.limits, func() time.Time { return p.clock }, func() string { return "req-new" },
		ingest.WithRateLimit(p.limiter, ingest.Quota{SamplesPerMinute: 1000, RequestsPerMinute: 60}),
		ingest.WithBacklogBound(p.backlog, maxBacklog),
		ingest.WithIdempotency(p.idem, 24*time.Hour),
		ingest.WithSeriesCap(p.gate, maxSeries),
	)
	return p
}

func allowed() ingest.RateDecision {
	return ingest.RateDecision{Decision: quota.Decision{Allowed: true, Remaining: 990, Reset: time.Second}, Limit: "samples_per_minute", Max: 1000}
}

func twoSamples() []metric.Input { return []metric.Input{in("a", 1, nil), in("b", 2, nil)} }

// The token's own quota wins; the default fills what it leaves unset; a
// denial is a RateLimitError naming the limit, and nothing else happens.
func TestAcceptRateLimit(t *testing.T) {
	p := newProtected(t, 0, 0)
	p.limiter.EXPECT().Take(gomock.Any(), "tok", int64(2), ingest.Quota{SamplesPerMinute: 50, RequestsPerMinute: 60}).
		Return(ingest.RateDecision{Decision: quota.Decision{RetryAfter: 3 * time.Second, Reset: time.Minute}, Limit: "samples_per_minute", Max: 50}, nil)
	r := ingest.Request{Caller: ingest.Caller{TenantID: tenantID, Key: "tok", Quota: ingest.Quota{SamplesPerMinute: 50}}, Inputs: twoSamples()}
	_, err := p.svc.Accept(context.Background(), r)
	var rl *ingest.RateLimitError
	if !errors.As(err, &rl) || rl.Limit != "samples_per_minute" || rl.Max != 50 || rl.RetryAfter != 3*time.Second {
		t.Fatalf("err = %v, want a RateLimitError for samples_per_minute=50", err)
	}
	if !strings.Contains(err.Error(), "samples_per_minute=50") {
		t.Errorf("message %q does not name the limit", err)
	}
}

func TestAcceptPassesRateStateOn(t *testing.T) {
	p := newProtected(t, 0, 0)
	p.limiter.EXPECT().Take(gomock.Any(), "tok", int64(2), gomock.Any()).Return(allowed(), nil)
	p.limits.EXPECT().LimitsFor(gomock.Any(), tenantID).Return(metric.DefaultLimits(), nil)
	p.queue.EXPECT().Enqueue(gomock.Any(), gomock.Any()).Return(nil)
	res, err := p.svc.Accept(context.Background(), req(tenantID, twoSamples()))
	if err != nil || res.Rate.Remaining != 990 || res.Rate.Max != 1000 {
		t.Fatalf("res %+v err %v", res, err)
	}
}

// Back-pressure: at the bound, 503 and nothing enqueued; the backlog is
// read at most every 250 ms, and a fresh read lets ingest resume.
func TestAcceptBackpressure(t *testing.T) {
	p := newProtected(t, 100, 0)
	p.limiter.EXPECT().Take(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(allowed(), nil).AnyTimes()
	p.limits.EXPECT().LimitsFor(gomock.Any(), tenantID).Return(metric.DefaultLimits(), nil).AnyTimes()
	gomock.InOrder(
		p.backlog.EXPECT().Backlog(gomock.Any()).Return(int64(100), nil).Times(1),
		p.backlog.EXPECT().Backlog(gomock.Any()).Return(int64(99), nil).Times(1),
	)
	for i := 0; i < 3; i++ { // one read serves all three
		if _, err := p.svc.Accept(context.Background(), req(tenantID, twoSamples())); !errors.Is(err, ingest.ErrBackpressure) {
			t.Fatalf("attempt %d: err = %v, want ErrBackpressure", i, err)
		}
	}
	p.clock = p.clock.Add(300 * time.Millisecond)
	p.queue.EXPECT().Enqueue(gomock.Any(), gomock.Any()).Return(nil)
	if _, err := p.svc.Accept(context.Background(), req(tenantID, twoSamples())); err != nil {
		t.Fatalf("below the bound: %v", err)
	}
}

func idemReq(key string, fp byte) ingest.Request {
	r := req(tenantID, twoSamples())
	r.IdempotencyKey = key
	r.Fingerprint[0] = fp
	return r
}

func (p *protected) allowAll() {
	p.limiter.EXPECT().Take(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(allowed(), nil).AnyTimes()
	p.limits.EXPECT().LimitsFor(gomock.Any(), tenantID).Return(metric.DefaultLimits(), nil).AnyTimes()
	p.backlog.EXPECT().Backlog(gomock.Any()).Return(int64(0), nil).AnyTimes()
	p.gate.EXPECT().Admit(gomock.Any(), tenantID, gomock.Any(), gomock.Any()).Return(nil, nil).AnyTimes()
}

// First use of a key: reserve, enqueue with the reserved request id, complete.
func TestIdempotencyFirstUse(t *testing.T) {
	p := newProtected(t, 100, 10)
	p.allowAll()
	gomock.InOrder(
		p.idem.EXPECT().Reserve(gomock.Any(), tenantID, "k1", gomock.Any(), 30*time.Second).
			DoAndReturn(func(_ context.Context, _ int64, _ string, rec ingest.IdempotencyRecord, _ time.Duration) (ingest.IdempotencyRecord, bool, error) {
				if rec.Done || rec.RequestID != "req-new" || rec.Fingerprint[0] != 7 {
					t.Errorf("reserved %+v", rec)
				}
				return ingest.IdempotencyRecord{}, false, nil
			}),
		p.queue.EXPECT().Enqueue(gomock.Any(), gomock.Any()).Return(nil),
		p.idem.EXPECT().Complete(gomock.Any(), tenantID, "k1", ingest.IdempotencyRecord{Fingerprint: [32]byte{7}, RequestID: "req-new", Accepted: 2, Done: true}, 24*time.Hour).Return(nil),
	)
	res, err := p.svc.Accept(context.Background(), idemReq("k1", 7))
	if err != nil || res.RequestID != "req-new" || res.Replayed {
		t.Fatalf("res %+v err %v", res, err)
	}
}

// A retry with the same key and body gets the first request id and enqueues nothing.
func TestIdempotencyReplay(t *testing.T) {
	p := newProtected(t, 100, 10)
	p.allowAll()
	p.idem.EXPECT().Reserve(gomock.Any(), tenantID, "k1", gomock.Any(), gomock.Any()).
		Return(ingest.IdempotencyRecord{Fingerprint: [32]byte{7}, RequestID: "req-first", Accepted: 2, Done: true}, true, nil)
	res, err := p.svc.Accept(context.Background(), idemReq("k1", 7))
	if err != nil || res.RequestID != "req-first" || res.Accepted != 2 || !res.Replayed {
		t.Fatalf("res %+v err %v", res, err)
	}
}

func TestIdempotencyMisuse(t *testing.T) {
	cases := []struct {
		name       string
		prior      ingest.IdempotencyRecord
		inProgress bool
		want       string
	}{
		{"other body", ingest.IdempotencyRecord{Fingerprint: [32]byte{9}, RequestID: "r", Done: true}, false, "different request body"},
		{"still running", ingest.IdempotencyRecord{Fingerprint: [32]byte{7}, RequestID: "r"}, true, "in progress"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newProtected(t, 100, 10)
			p.allowAll()
			p.idem.EXPECT().Reserve(gomock.Any(), tenantID, "k1", gomock.Any(), gomock.Any()).Return(tc.prior, true, nil)
			_, err := p.svc.Accept(context.Background(), idemReq("k1", 7))
			var ie *ingest.IdempotencyError
			if !errors.As(err, &ie) || ie.InProgress != tc.inProgress || !strings.Contains(ie.Message, tc.want) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// A failed enqueue releases the key so that the client's retry can run.
func TestIdempotencyReleasedOnFailure(t *testing.T) {
	p := newProtected(t, 100, 10)
	p.allowAll()
	boom := errors.New("queue down")
	gomock.InOrder(
		p.idem.EXPECT().Reserve(gomock.Any(), tenantID, "k1", gomock.Any(), gomock.Any()).Return(ingest.IdempotencyRecord{}, false, nil),
		p.queue.EXPECT().Enqueue(gomock.Any(), gomock.Any()).Return(boom),
		p.idem.EXPECT().Release(gomock.Any(), tenantID, "k1").Return(nil),
	)
	if _, err := p.svc.Accept(context.Background(), idemReq("k1", 7)); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

func TestIdempotencyKeyFormat(t *testing.T) {
	for _, key := range []string{strings.Repeat("k", 256), "has space", "tab\tkey", "ünï"} {
		p := newProtected(t, 100, 10)
		p.allowAll()
		_, err := p.svc.Accept(context.Background(), idemReq(key, 1))
		var ie *ingest.IdempotencyError
		if !errors.As(err, &ie) || ie.InProgress {
			t.Errorf("key %q: err = %v, want a 422 IdempotencyError", key, err)
		}
	}
}

// New series past the cap are refused by index with a message naming the
// limit; nothing is enqueued.
func TestSeriesCap(t *testing.T) {
	p := newProtected(t, 100, 10)
	p.limiter.EXPECT().Take(gomock.Any(), gomock.Any(), gomock.Any(), gomock.Any()).Return(allowed(), nil)
	p.limits.EXPECT().LimitsFor(gomock.Any(), tenantID).Return(metric.DefaultLimits(), nil)
	p.backlog.EXPECT().Backlog(gomock.Any()).Return(int64(0), nil)
	p.gate.EXPECT().Admit(gomock.Any(), tenantID, gomock.Len(2), 10).Return([]int{1}, nil)
	_, err := p.svc.Accept(context.Background(), req(tenantID, twoSamples()))
	var ve *metric.ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) != 1 || ve.Errors[0].Index != 1 ||
		!strings.Contains(ve.Errors[0].Message, "max_series_per_tenant=10") {
		t.Fatalf("err = %v", err)
	}
}
