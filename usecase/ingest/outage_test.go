package ingest_test

import (
	"context"
	"errors"
	"testing"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/outage"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// A port that fails is a dependency outage (the door answers 503 +
// Retry-After), never mistaken for the client's fault, and nothing is
// enqueued after it.
func TestAcceptPortFailuresAreOutages(t *testing.T) {
	down := errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")
	tests := []struct {
		name, dependency string
		setup            func(p *protected)
	}{
		{"rate limiter", "rate limiter", func(p *protected) {
			p.limiter.EXPECT().Take(gomock.Any(), "tok", gomock.Any(), gomock.Any()).Return(ingest.RateDecision{}, down)
		}},
		{"backlog", "queue", func(p *protected) {
			p.limiter.EXPECT().Take(gomock.Any(), "tok", gomock.Any(), gomock.Any()).Return(allowed(), nil)
			p.backlog.EXPECT().Backlog(gomock.Any()).Return(int64(0), down)
		}},
		{"idempotency store", "idempotency store", func(p *protected) {
			p.limiter.EXPECT().Take(gomock.Any(), "tok", gomock.Any(), gomock.Any()).Return(allowed(), nil)
			p.backlog.EXPECT().Backlog(gomock.Any()).Return(int64(0), nil)
			p.idem.EXPECT().Reserve(gomock.Any(), tenantID, "k-1", gomock.Any(), gomock.Any()).Return(ingest.IdempotencyRecord{}, false, down)
		}},
		{"series gate", "database", func(p *protected) {
			p.limiter.EXPECT().Take(gomock.Any(), "tok", gomock.Any(), gomock.Any()).Return(allowed(), nil)
			p.backlog.EXPECT().Backlog(gomock.Any()).Return(int64(0), nil)
			p.idem.EXPECT().Reserve(gomock.Any(), tenantID, "k-1", gomock.Any(), gomock.Any()).Return(ingest.IdempotencyRecord{}, false, nil)
			p.gate.EXPECT().Admit(gomock.Any(), tenantID, gomock.Any(), 10).Return(nil, down)
			p.idem.EXPECT().Release(gomock.Any(), tenantID, "k-1").Return(nil)
		}},
		{"queue", "queue", func(p *protected) {
			p.limiter.EXPECT().Take(gomock.Any(), "tok", gomock.Any(), gomock.Any()).Return(allowed(), nil)
			p.backlog.EXPECT().Backlog(gomock.Any()).Return(int64(0), nil)
			p.idem.EXPECT().Reserve(gomock.Any(), tenantID, "k-1", gomock.Any(), gomock.Any()).Return(ingest.IdempotencyRecord{}, false, nil)
			p.gate.EXPECT().Admit(gomock.Any(), tenantID, gomock.Any(), 10).Return(nil, nil)
			p.queue.EXPECT().Enqueue(gomock.Any(), gomock.Any()).Return(down)
			p.idem.EXPECT().Release(gomock.Any(), tenantID, "k-1").Return(nil)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProtected(t, 100, 10)
			p.limits.EXPECT().LimitsFor(gomock.Any(), tenantID).Return(metric.DefaultLimits(), nil).AnyTimes()
			tt.setup(p)
			r := ingest.Request{Caller: ingest.Caller{TenantID: tenantID, Key: "tok"}, Inputs: twoSamples(), IdempotencyKey: "k-1"}
			_, err := p.svc.Accept(context.Background(), r)
			var oe *outage.Error
			if !errors.As(err, &oe) || oe.Dependency != tt.dependency || !errors.Is(err, down) {
				t.Fatalf("err = %v, want the %s's outage wrapping the cause", err, tt.dependency)
			}
		})
	}
}
