package selfmetrics_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/infrastructure/selfmetrics"
	"github.com/pulsemetrics/pulse/infrastructure/telemetry"
	"github.com/pulsemetrics/pulse/usecase/flush"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// fakeIngester records what it is given and answers err (nil: accepts).
type fakeIngester struct {
	mu   sync.Mutex
	reqs []ingest.Request
	err  error
}

func (f *fakeIngester) Accept(_ context.Context, req ingest.Request) (ingest.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	if f.err != nil {
		return ingest.Result{}, f.err
	}
	return ingest.Result{Accepted: len(req.Inputs)}, nil
}

// stats is a queue's look at itself.
type stats flush.QueueStats

func (s stats) Stats(context.Context) (flush.QueueStats, error) { return flush.QueueStats(s), nil }

var start = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// world is a real registry fed as the roles feed it: a door that accepted
// and refused, a queue, a rollup gauge, an alert evaluation.
func world(t *testing.T) (*telemetry.Registry, *clock) {
	t.Helper()
	reg := telemetry.NewRegistry("test")
	names := map[int64]string{7: "acme"}
	door := reg.Ingest(func(id int64) string { return names[id] }).Door("http", &fakeIngester{})
	ctx := context.Background()
	in := []metric.Input{{Name: "cpu", Value: 1, HasValue: true}, {Name: "cpu", Value: 2, HasValue: true}}
	for range 3 {
		if _, err := door.Accept(ctx, ingest.Request{Caller: ingest.Caller{TenantID: 7}, Inputs: in}); err != nil {
			t.Fatal(err)
		}
	}
	refusing := reg.Ingest(nil).Door("mqtt", &fakeIngester{err: ingest.ErrBackpressure})
	_, _ = refusing.Accept(ctx, ingest.Request{Caller: ingest.Caller{TenantID: 7}, Inputs: in})
	reg.RegisterQueue(stats{Waiting: 4, Pending: 1, OldestAge: 3 * time.Second})
	reg.Rollup().Pending.Set(2)
	reg.Alerts(nil).Evaluated("ok", 3*time.Millisecond, 0)
	return reg, &clock{t: start}
}

func byName(in []metric.Input) map[string][]metric.Input {
	out := map[string][]metric.Input{}
	for _, s := range in {
		out[s.Name] = append(out[s.Name], s)
	}
	return out
}

func TestTickRecordsTheRegistrysFigures(t *testing.T) {
	reg, c := world(t)
	ing := &fakeIngester{}
	rec := selfmetrics.New(reg, ing, func(context.Context) (int64, error) { return 99, nil },
		selfmetrics.Options{Every: 10 * time.Second, Role: "api", Instance: "host-a/42", Now: c.now, Registerer: reg})
	c.t = start.Add(10 * time.Second)
	n, err := rec.Tick(context.Background())
	if err != nil || n == 0 {
		t.Fatalf("Tick = %d, %v", n, err)
	}
	if len(ing.reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(ing.reqs))
	}
	req := ing.reqs[0]
	if req.Caller.TenantID != 99 || req.Caller.Key != selfmetrics.QuotaKey {
		t.Errorf("caller = %+v, want the internal tenant and its quota", req.Caller)
	}
	got := byName(req.Inputs)
	for _, s := range req.Inputs {
		if s.Tags["role"] != "api" || s.Tags["instance"] != "host-a/42" || !s.HasTS || !s.TS.Equal(c.t) || !s.HasValue {
			t.Errorf("%s: tags %v ts %v, want role, instance and the tick's time", s.Name, s.Tags, s.TS)
		}
	}
	acc := got["pulse.ingest.accepted"]
	if len(acc) != 1 || acc[0].Value != 0.6 || acc[0].Tags["tenant"] != "acme" || acc[0].Tags["door"] != "http" {
		t.Errorf("pulse.ingest.accepted = %+v, want 6 samples in 10 s for acme over http", acc)
	}
	ref := got["pulse.ingest.refused"]
	if len(ref) != 1 || ref[0].Value != 0.2 || ref[0].Tags["reason"] != "backpressure" || ref[0].Tags["door"] != "mqtt" {
		t.Errorf("pulse.ingest.refused = %+v", ref)
	}
	if d := got["pulse.queue.depth"]; len(d) != 1 || d[0].Value != 5 {
		t.Errorf("pulse.queue.depth = %+v, want 5", d)
	}
	if d := got["pulse.queue.oldest_age_seconds"]; len(d) != 1 || d[0].Value != 3 {
		t.Errorf("pulse.queue.oldest_age_seconds = %+v", d)
	}
	if d := got["pulse.rollup.pending"]; len(d) != 1 || d[0].Value != 2 {
		t.Errorf("pulse.rollup.pending = %+v", d)
	}
	for _, name := range []string{"pulse.ingest.latency.p50", "pulse.ingest.latency.p99", "pulse.alert.eval.latency.p99", "pulse.alert.eval.lag_seconds"} {
		if len(got[name]) != 1 {
			t.Errorf("%s: %+v, want one figure", name, got[name])
		}
	}
	// Absent from this registry: no figure, no error.
	for _, name := range []string{"pulse.flush.latency.p99", "pulse.live.streams", "pulse.notify.backlog", "pulse.retention.last_run_age_seconds"} {
		if len(got[name]) != 0 {
			t.Errorf("%s recorded from nothing: %+v", name, got[name])
		}
	}
	if v := figuresTotal(t, reg, "accepted"); v != float64(n) {
		t.Errorf("pulse_health_figures_total{accepted} = %v, want %d", v, n)
	}

	// Nothing happened in the next interval: the rates show 0 once, the
	// latencies nothing.
	c.t = c.t.Add(10 * time.Second)
	if _, err := rec.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	got = byName(ing.reqs[1].Inputs)
	if a := got["pulse.ingest.accepted"]; len(a) != 1 || a[0].Value != 0 {
		t.Errorf("second tick's accepted = %+v, want one 0", a)
	}
	if l := got["pulse.ingest.latency.p99"]; len(l) != 0 {
		t.Errorf("a latency without requests: %+v", l)
	}
}

// Ingest refusing, or the tenant not answering, drops the tick: counted,
// never retried, never blocking; the next tick records again.
func TestRefusalsDropTheTick(t *testing.T) {
	reg, c := world(t)
	ing := &fakeIngester{err: ingest.ErrBackpressure}
	tenantErr := errors.New("database down")
	tenantOK := false
	rec := selfmetrics.New(reg, ing, func(context.Context) (int64, error) {
		if !tenantOK {
			return 0, tenantErr
		}
		return 1, nil
	}, selfmetrics.Options{Every: time.Second, Role: "worker", Now: c.now, Registerer: reg})

	c.t = c.t.Add(time.Second)
	if _, err := rec.Tick(context.Background()); !errors.Is(err, tenantErr) {
		t.Fatalf("without the tenant: %v", err)
	}
	if len(ing.reqs) != 0 {
		t.Fatal("ingested without a tenant")
	}
	tenantOK = true
	c.t = c.t.Add(time.Second)
	if _, err := rec.Tick(context.Background()); !errors.Is(err, ingest.ErrBackpressure) {
		t.Fatalf("refused tick: %v", err)
	}
	refused := figuresTotal(t, reg, "refused")
	if refused == 0 {
		t.Error("refused figures not counted")
	}
	ing.err = nil
	c.t = c.t.Add(time.Second)
	if n, err := rec.Tick(context.Background()); err != nil || n == 0 {
		t.Fatalf("after the refusals: %d, %v", n, err)
	}
}

// Run stops with its context; with Every 0 it records nothing at all.
func TestRun(t *testing.T) {
	reg, _ := world(t)
	ing := &fakeIngester{}
	off := selfmetrics.New(reg, ing, func(context.Context) (int64, error) { return 1, nil }, selfmetrics.Options{})
	if err := off.Run(context.Background()); err != nil || len(ing.reqs) != 0 {
		t.Fatalf("off: %v, %d requests", err, len(ing.reqs))
	}
	on := selfmetrics.New(reg, ing, func(context.Context) (int64, error) { return 1, nil }, selfmetrics.Options{Every: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- on.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ing.mu.Lock()
		n := len(ing.reqs)
		ing.mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(ing.reqs) == 0 {
		t.Error("Run recorded nothing")
	}
}

// figuresTotal reads pulse_health_figures_total{result} from reg.
func figuresTotal(t *testing.T, reg *telemetry.Registry, result string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "pulse_health_figures_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no pulse_health_figures_total{result=%q}", result)
	return 0
}
