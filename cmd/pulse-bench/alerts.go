package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

// alertWorkload is the alerting benchmark: rules rules, each over its own
// series of one metric (host=h00000…), a 5 m window and a 1 m cadence, the
// series sampled every every seconds.
type alertWorkload struct {
	rules, every int
	steady       time.Duration // how long the scheduler runs for (v)
	previewRuns  int
}

// runAlerts measures, on MariaDB: (u) a full round — every rule due within
// the last minute, evaluated by one scheduler replica as fast as it goes —
// in evaluations per second; (v) the scheduler at its normal pace for
// w.steady: evaluations and the p50/p99 lag (start − due time); (w) a 24 h
// preview at a 1 m cadence over one series (10 s samples): p50/p95.
func runAlerts(ctx context.Context, w alertWorkload) error {
	fmt.Printf("\n== alerts: MariaDB, %d rules (each one series, 5m window, 1m cadence) ==\n", w.rules)
	dsn, dropDB, err := newMariaDB()
	if err != nil {
		return err
	}
	defer dropDB()
	cfg, err := loadConfig(map[string]string{"PULSE_DATABASE_URL": "mysql://" + mysqlURLFromDSN(dsn), "PULSE_DATA_DIR": mustTempDir()})
	if err != nil {
		return err
	}
	p, cleanup, err := wiring.AssemblePipeline(ctx, cfg, "bench")
	if err != nil {
		return err
	}
	defer cleanup()
	ten, err := p.Tenancy.CreateTenant(ctx, audit.CLI(), "bench", "Bench", 30)
	if err != nil {
		return err
	}
	now := time.Now()
	if err := writeAlertData(ctx, p, ten.ID, w, now.Add(-7*time.Minute), now.Add(2*w.steady+2*time.Minute)); err != nil {
		return err
	}
	actor := alerting.Actor{TenantID: ten.ID, Admin: true}
	began := time.Now()
	if err := createAlertRules(ctx, p.Alerts, actor, w.rules); err != nil {
		return err
	}
	fmt.Printf("setup: %d series × %d samples, %d rules created in %s\n", w.rules, int((7*time.Minute+2*w.steady+2*time.Minute)/(time.Duration(w.every)*time.Second)),
		w.rules, time.Since(began).Round(time.Millisecond))

	// (u) Every rule due at its last aligned time (within the last minute).
	if _, err := p.DB.Write.ExecContext(ctx, "UPDATE alert_rules SET next_eval_at = next_eval_at - 60000"); err != nil {
		return err
	}
	began = time.Now()
	stopProfile := startProfile(*persistProfile) // -persist-cpuprofile: the full round here
	round, err := p.Alerts.RunDue(ctx)
	stopProfile()
	if err != nil {
		return err
	}
	took := time.Since(began)
	fmt.Printf("(u) a full round, one replica:                    %10.0f evaluations/s (%d rules in %s; results %v; %d transitions)\n",
		float64(round.Claimed)/took.Seconds(), round.Claimed, took.Round(time.Millisecond), round.Results, round.Transitions)

	// (v) The scheduler at its pace: each rule due once a minute at its offset.
	obs := &lagRecorder{}
	sctx, cancel := context.WithTimeout(ctx, w.steady)
	defer cancel()
	if err := p.Alerts.Scheduler(obs)(sctx, cfg.AlertTick); err != nil {
		return err
	}
	lags := obs.sorted()
	if len(lags) == 0 {
		return fmt.Errorf("the scheduler evaluated nothing in %s", w.steady)
	}
	fmt.Printf("(v) scheduler for %s: %d evaluations (%.0f/s, the load of %d rules/min); lag p50 %s, p99 %s, max %s; eval p99 %s\n",
		w.steady, len(lags), float64(len(lags))/w.steady.Seconds(), w.rules, lags[len(lags)/2].Round(time.Millisecond),
		lags[len(lags)*99/100].Round(time.Millisecond), lags[len(lags)-1].Round(time.Millisecond), obs.tookP99().Round(time.Microsecond))

	// (w) A 24 h preview over one series sampled every 10 s.
	if err := writePreviewSeries(ctx, p, ten.ID, now); err != nil {
		return err
	}
	rule := alert.Rule{Name: "preview", Metric: "bench.preview", Agg: alert.AggAvg, Window: 5 * time.Minute, Op: alert.GT,
		Threshold: 80, Cadence: time.Minute, For: 2 * time.Minute}
	var lat []time.Duration
	var last alert.PreviewResult
	for r := -1; r < w.previewRuns; r++ {
		began := time.Now()
		res, err := p.Alerts.Preview(ctx, actor, alerting.PreviewRequest{Rule: rule, Start: now.Add(-24 * time.Hour), End: now})
		if err != nil {
			return err
		}
		if r >= 0 {
			lat = append(lat, time.Since(began))
		}
		last = res
	}
	slices.Sort(lat)
	fmt.Printf("(w) preview, 24 h at 1m cadence, one series (10 s samples): p50 %6.1f ms  p95 %6.1f ms  (%d evaluations, fired %d, %d notifications)\n",
		ms(lat[len(lat)/2]), ms(lat[len(lat)*95/100]), last.Evaluations, last.Fired, last.Notifications)
	return nil
}

// writeAlertData writes one series per rule over [from, to): most calm,
// every tenth breaching, so evaluations also record transitions.
func writeAlertData(ctx context.Context, p *wiring.Pipeline, tenantID int64, w alertWorkload, from, to time.Time) error {
	step := time.Duration(w.every) * time.Second
	var batch []metric.Sample
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := p.Samples.WriteBatches(ctx, []metric.Batch{{ID: "bench", TenantID: tenantID, AcceptedAt: time.Now(), Samples: batch}})
		batch = batch[:0]
		return err
	}
	for h := range w.rules {
		tags := metric.SortedTags(map[string]string{"host": fmt.Sprintf("h%05d", h)})
		v := 0.2
		if h%10 == 0 {
			v = 0.95
		}
		for ts := from; ts.Before(to); ts = ts.Add(step) {
			batch = append(batch, metric.Rehydrate("bench.load", v, tags, ts.UnixMilli(), ""))
			if len(batch) == 10000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

func createAlertRules(ctx context.Context, svc *alerting.Service, a alerting.Actor, n int) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan int)
	)
	for range 8 {
		wg.Go(func() {
			for h := range next {
				r := alert.Rule{Name: fmt.Sprintf("load h%05d", h), Metric: "bench.load", Agg: alert.AggAvg, Window: 5 * time.Minute,
					Op: alert.GT, Threshold: 0.9, Cadence: time.Minute,
					Matchers: alert.Matchers{{Tag: "host", Op: alert.MatchEqual, Value: fmt.Sprintf("h%05d", h)}}}
				if _, err := svc.Create(ctx, a, r); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for h := range n {
		next <- h
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%d rules not created, first: %w", len(errs), errs[0])
	}
	return nil
}

func writePreviewSeries(ctx context.Context, p *wiring.Pipeline, tenantID int64, now time.Time) error {
	tags := metric.SortedTags(map[string]string{"host": "p"})
	var batch []metric.Sample
	for ts := now.Add(-24*time.Hour - 5*time.Minute); ts.Before(now); ts = ts.Add(10 * time.Second) {
		v := 50 + 40*float64((ts.Unix()/60)%97)/97
		batch = append(batch, metric.Rehydrate("bench.preview", v, tags, ts.UnixMilli(), ""))
	}
	_, err := p.Samples.WriteBatches(ctx, []metric.Batch{{ID: "bench-preview", TenantID: tenantID, AcceptedAt: time.Now(), Samples: batch}})
	return err
}

// lagRecorder is the benchmark's alerting.Observer.
type lagRecorder struct {
	mu         sync.Mutex
	lags, took []time.Duration
}

func (l *lagRecorder) Evaluated(_ string, took, lag time.Duration) {
	l.mu.Lock()
	l.lags = append(l.lags, lag)
	l.took = append(l.took, took)
	l.mu.Unlock()
}

func (l *lagRecorder) Firing(map[int64]int) {}

func (l *lagRecorder) sorted() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.lags)
	slices.Sort(out)
	return out
}

func (l *lagRecorder) tookP99() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := slices.Clone(l.took)
	slices.Sort(t)
	if len(t) == 0 {
		return 0
	}
	return t[len(t)*99/100]
}
