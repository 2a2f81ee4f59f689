package alerts_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

type countingObserver struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *countingObserver) Evaluated(r string, _, _ time.Duration) {
	o.mu.Lock()
	o.n[r]++
	o.mu.Unlock()
}
func (o *countingObserver) Firing(map[int64]int) {}

// A rule created while a scheduler is busy is first evaluated at its
// aligned time, never at the instant of its creation (the use case with
// this store; the clock is frozen, so nothing else is ever due).
func TestARuleCreatedUnderABusySchedulerWaitsForItsAlignedTime(t *testing.T) {
	tg := sqldbtest.SQLite(t)
	ctx := context.Background()
	tid := sqldbtest.MkTenant(t, tg.Store, "race")
	now := time.Date(2030, 1, 1, 0, 0, 0, 500_000_000, time.UTC)
	obs := &countingObserver{n: map[string]int{}}
	svc := alerting.New(tg.Store, tg.Store, tg.Store, tg.Store, func() time.Time { return now },
		alerting.Options{MinCadence: time.Second, Observer: obs})
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				_, _ = svc.RunDue(ctx)
			}
		}
	}()
	a := alerting.Actor{TenantID: tid, Admin: true}
	for range 100 {
		r, err := svc.Create(ctx, a, alert.Rule{Name: "r", Metric: "m", Agg: alert.AggAvg, Window: 10 * time.Minute,
			Op: alert.GT, Threshold: 1, Cadence: 5 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if r.LastEvaluatedAt != 0 {
			t.Errorf("rule %d evaluated at its creation (%d); first due %d", r.ID, r.LastEvaluatedAt, r.NextEvalAt)
		}
	}
	close(stop)
	<-done
	if len(obs.n) != 0 {
		t.Errorf("evaluations while nothing was due: %v", obs.n)
	}
}
