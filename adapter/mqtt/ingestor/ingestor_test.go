package ingestor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pulsemetrics/pulse/adapter/mqtt/ingestor"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// resolverFunc is a TenantResolver from a function.
type resolverFunc func(ctx context.Context, slug string) (int64, error)

func (f resolverFunc) TenantIDBySlug(ctx context.Context, slug string) (int64, error) {
	return f(ctx, slug)
}

// tenants resolves a fixed set of slugs; any other is tenant.ErrNotFound.
func tenants(m map[string]int64) resolverFunc {
	return func(_ context.Context, slug string) (int64, error) {
		if id, ok := m[slug]; ok {
			return id, nil
		}
		return 0, fmt.Errorf("slug %q: %w", slug, tenant.ErrNotFound)
	}
}

// fakeIngest records accepted requests; fail, when set, decides an error.
type fakeIngest struct {
	mu       sync.Mutex
	accepted []ingest.Request
	calls    int
	fail     func(req ingest.Request, call int) error
}

func (f *fakeIngest) Accept(_ context.Context, req ingest.Request) (ingest.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		if err := f.fail(req, f.calls); err != nil {
			return ingest.Result{}, err
		}
	}
	f.accepted = append(f.accepted, req)
	return ingest.Result{Accepted: len(req.Inputs)}, nil
}

func (f *fakeIngest) snapshot() (reqs []ingest.Request, samples, calls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.accepted {
		samples += len(r.Inputs)
	}
	return append([]ingest.Request(nil), f.accepted...), samples, f.calls
}

type fixture struct {
	ing *ingestor.Ingestor
	fk  *fakeIngest
	reg *prometheus.Registry
}

func newFixture(t *testing.T, opts ingestor.Options) *fixture {
	t.Helper()
	fk := &fakeIngest{}
	reg := prometheus.NewRegistry()
	if opts.Linger == 0 {
		opts.Linger = 5 * time.Millisecond
	}
	if opts.RetryMin == 0 {
		opts.RetryMin = time.Millisecond
	}
	ing := ingestor.NewIngestor(fk, tenants(map[string]int64{"acme": 7, "globex": 8}), reg, nil, opts)
	t.Cleanup(func() { _ = ing.Close(context.Background()) })
	return &fixture{ing: ing, fk: fk, reg: reg}
}

// acks counts acknowledgements.
type acks struct{ n atomic.Int64 }

func (a *acks) fn() func() { return func() { a.n.Add(1) } }

func (f *fixture) drain(t *testing.T) {
	t.Helper()
	if err := f.ing.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) rejected(tenant, reason string) float64 {
	// gathered labels come sorted by name: reason, tenant
	return testutil.ToFloat64(mustVec(f.reg, "pulse_mqtt_rejected_total", reason, tenant))
}

// mustVec reads a counter of the registry by name and label values.
func mustVec(reg *prometheus.Registry, name string, values ...string) prometheus.Collector {
	mfs, _ := reg.Gather()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var got []string
			for _, l := range m.GetLabel() {
				got = append(got, l.GetValue())
			}
			if strings.Join(got, ",") == strings.Join(values, ",") {
				c.Add(m.GetCounter().GetValue())
			}
		}
	}
	return c
}

const sample = `{"name":"cpu.load","value":0.5,"tags":{"host":"a"}}`

func TestHandleAcceptsValidPayloads(t *testing.T) {
	for _, tc := range []struct {
		name, topic, payload string
		samples              int
	}{
		{name: "one sample", topic: "metrics/acme/host-a", payload: sample, samples: 1},
		{name: "array", topic: "metrics/acme/host-a", payload: "[" + sample + "," + sample + "]", samples: 2},
		{name: "agent topic", topic: "metrics/acme/system/agent-42", payload: sample, samples: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, ingestor.Options{})
			var a acks
			f.ing.Handle(tc.topic, []byte(tc.payload), a.fn())
			f.drain(t)
			reqs, samples, _ := f.fk.snapshot()
			if samples != tc.samples || a.n.Load() != 1 {
				t.Fatalf("samples=%d acks=%d", samples, a.n.Load())
			}
			if c := reqs[0].Caller; c.TenantID != 7 || c.Key != "" {
				t.Fatalf("caller = %+v (no tenant quota unless asked)", c)
			}
			if got := testutil.ToFloat64(mustVec(f.reg, "pulse_mqtt_samples_accepted_total")); got != float64(tc.samples) {
				t.Fatalf("samples accepted metric = %v", got)
			}
		})
	}
}

func TestHandleRejectsAndCarriesOn(t *testing.T) {
	for _, tc := range []struct {
		name, topic, payload string
		tenant, reason       string
	}{
		{name: "invalid JSON", topic: "metrics/acme/h", payload: `{"name":"x","value":`, tenant: "acme", reason: ingestor.ReasonMalformed},
		{name: "bad field", topic: "metrics/acme/h", payload: `{"name":"x","value":"high"}`, tenant: "acme", reason: ingestor.ReasonInvalidSample},
		{name: "empty array", topic: "metrics/acme/h", payload: `[]`, tenant: "acme", reason: ingestor.ReasonEmpty},
		{name: "unknown tenant", topic: "metrics/nobody/h", payload: sample, tenant: "unknown", reason: ingestor.ReasonUnknownTenant},
		{name: "no third level", topic: "metrics/acme", payload: sample, tenant: "unknown", reason: ingestor.ReasonTopic},
		{name: "empty third level", topic: "metrics/acme/", payload: sample, tenant: "unknown", reason: ingestor.ReasonTopic},
		{name: "other root", topic: "logs/acme/h", payload: sample, tenant: "unknown", reason: ingestor.ReasonTopic},
		{name: "too many samples", topic: "metrics/acme/h", payload: "[" + sample + "," + sample + "," + sample + "]", tenant: "acme", reason: ingestor.ReasonTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, ingestor.Options{MaxSamplesPerMessage: 2})
			var bad, good acks
			f.ing.Handle(tc.topic, []byte(tc.payload), bad.fn())
			f.ing.Handle("metrics/acme/h", []byte(sample), good.fn())
			f.drain(t)
			if bad.n.Load() != 1 {
				t.Fatal("a rejected message must be acked, or the broker redelivers it forever")
			}
			if _, samples, _ := f.fk.snapshot(); samples != 1 || good.n.Load() != 1 {
				t.Fatalf("the next valid message: samples=%d acked=%d", samples, good.n.Load())
			}
			if got := f.rejected(tc.tenant, tc.reason); got != 1 {
				t.Fatalf("rejected{%s,%s} = %v", tc.tenant, tc.reason, got)
			}
			if got := testutil.ToFloat64(mustVec(f.reg, "pulse_mqtt_messages_total", "rejected")); got != 1 {
				t.Fatalf("messages{rejected} = %v", got)
			}
		})
	}
}

func TestBatchesManySmallMessages(t *testing.T) {
	f := newFixture(t, ingestor.Options{Linger: 50 * time.Millisecond, MaxBatchSamples: 5000})
	var parts []string
	for range 10 {
		parts = append(parts, sample)
	}
	payload := []byte("[" + strings.Join(parts, ",") + "]")
	var a acks
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.ing.Handle("metrics/acme/h", payload, func() {
				// an ack must come after the Accept that made it durable
				if _, samples, _ := f.fk.snapshot(); samples == 0 {
					t.Error("ack before Accept")
				}
				a.n.Add(1)
			})
		}()
	}
	wg.Wait()
	f.drain(t)
	_, samples, calls := f.fk.snapshot()
	if samples != 1000 || a.n.Load() != 100 {
		t.Fatalf("samples=%d acks=%d", samples, a.n.Load())
	}
	if calls > 5 {
		t.Fatalf("%d Accept calls for 100 messages: not batched", calls)
	}
}

func TestFlushesAtMaxBatchSamples(t *testing.T) {
	f := newFixture(t, ingestor.Options{Linger: time.Hour, MaxBatchSamples: 3})
	var a acks
	for range 3 {
		f.ing.Handle("metrics/acme/h", []byte(sample), a.fn())
	}
	if _, samples, calls := f.fk.snapshot(); samples != 3 || calls != 1 || a.n.Load() != 3 {
		t.Fatalf("a full batch must flush at once: samples=%d calls=%d acks=%d", samples, calls, a.n.Load())
	}
}

func TestBatchesPerTenant(t *testing.T) {
	f := newFixture(t, ingestor.Options{})
	f.ing.Handle("metrics/acme/h", []byte(sample), nil)
	f.ing.Handle("metrics/globex/h", []byte(sample), nil)
	f.drain(t)
	reqs, _, _ := f.fk.snapshot()
	seen := map[int64]bool{}
	for _, r := range reqs {
		seen[r.Caller.TenantID] = true
		if len(r.Inputs) != 1 {
			t.Fatalf("a batch mixes tenants: %+v", r)
		}
	}
	if !seen[7] || !seen[8] {
		t.Fatalf("tenants seen: %v", seen)
	}
}

func TestValidationErrorRejectsOnlyTheBadMessage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		index    func(i int) int // the index the use case reports for the bad sample at i
		maxCalls int
	}{
		// the indices name the bad message: rejected, the rest re-accepted in one go
		{name: "by index", index: func(i int) int { return i }, maxCalls: 2},
		// an index that names no sample: one Accept per message
		{name: "message by message", index: func(int) int { return -1 }, maxCalls: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, ingestor.Options{Linger: 50 * time.Millisecond})
			// The use case refuses any request holding the "future" sample, as
			// it would a ts more than 10 minutes ahead.
			f.fk.fail = func(req ingest.Request, _ int) error {
				for i, in := range req.Inputs {
					if in.Name == "future" {
						return &metric.ValidationError{Errors: []metric.FieldError{{Index: tc.index(i), Field: "ts", Message: "in the future"}}}
					}
				}
				return nil
			}
			var good, bad acks
			f.ing.Handle("metrics/acme/a", []byte(sample), good.fn())
			f.ing.Handle("metrics/acme/b", []byte(`[{"name":"ok","value":1},{"name":"future","value":1}]`), bad.fn())
			f.ing.Handle("metrics/acme/c", []byte("["+sample+","+sample+"]"), good.fn())
			f.drain(t)
			_, samples, calls := f.fk.snapshot()
			if samples != 3 {
				t.Fatalf("the good messages' samples: %d, want 3", samples)
			}
			if calls > tc.maxCalls {
				t.Fatalf("%d Accept calls, want at most %d", calls, tc.maxCalls)
			}
			if good.n.Load() != 2 || bad.n.Load() != 1 {
				t.Fatalf("acks good=%d bad=%d", good.n.Load(), bad.n.Load())
			}
			if got := f.rejected("acme", ingestor.ReasonInvalidSample); got != 1 {
				t.Fatalf("rejected = %v", got)
			}
		})
	}
}

func TestTransientFailureRetriesWithoutAck(t *testing.T) {
	f := newFixture(t, ingestor.Options{Linger: time.Millisecond})
	release := make(chan struct{})
	var acked atomic.Bool
	f.fk.fail = func(_ ingest.Request, call int) error {
		select {
		case <-release:
			return nil
		default:
			if acked.Load() {
				t.Error("acked while Accept fails")
			}
			return fmt.Errorf("enqueue: %w", ingest.ErrBackpressure)
		}
	}
	f.ing.Handle("metrics/acme/h", []byte(sample), func() { acked.Store(true) })
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, _, calls := f.fk.snapshot(); calls >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Accept not retried")
		}
		time.Sleep(time.Millisecond)
	}
	if acked.Load() {
		t.Fatal("acked before Accept succeeded")
	}
	close(release)
	f.drain(t)
	if _, samples, _ := f.fk.snapshot(); samples != 1 || !acked.Load() {
		t.Fatalf("after the queue recovered: samples=%d acked=%v", samples, acked.Load())
	}
}

func TestCloseGivesUpWithoutAck(t *testing.T) {
	f := newFixture(t, ingestor.Options{Linger: time.Hour})
	f.fk.fail = func(ingest.Request, int) error { return errors.New("redis down") }
	var a acks
	f.ing.Handle("metrics/acme/h", []byte(sample), a.fn())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := f.ing.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v", err)
	}
	if a.n.Load() != 0 {
		t.Fatal("a message that never became durable was acked")
	}
	f.ing.Handle("metrics/acme/h", []byte(sample), a.fn())
	if a.n.Load() != 0 {
		t.Fatal("a message taken after Close was acked")
	}
}

func TestResolverIsCached(t *testing.T) {
	var lookups atomic.Int64
	fk := &fakeIngest{}
	res := resolverFunc(func(ctx context.Context, slug string) (int64, error) {
		lookups.Add(1)
		return tenants(map[string]int64{"acme": 7})(ctx, slug)
	})
	ing := ingestor.NewIngestor(fk, res, nil, nil, ingestor.Options{})
	for range 10 {
		ing.Handle("metrics/acme/h", []byte(sample), nil)
		ing.Handle("metrics/nobody/h", []byte(sample), nil)
	}
	if err := ing.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if lookups.Load() != 2 {
		t.Fatalf("%d lookups, want 2", lookups.Load())
	}
}

func TestTenantQuotaKey(t *testing.T) {
	if k := (ingestor.Options{TenantQuota: true}).QuotaKey("acme"); k != "mqtt:acme" {
		t.Fatalf("key %q", k)
	}
	if k := (ingestor.Options{}).QuotaKey("acme"); k != "" {
		t.Fatalf("key %q without TenantQuota", k)
	}
}

// TestEachMessageArrivesAtItsOwnTime: messages batched together are parts of
// one request, each stamped with its own arrival time, so that samples
// without ts from quick successive messages do not collapse onto one
// timestamp (five acknowledged mosquitto_pub messages once stored two).
func TestEachMessageArrivesAtItsOwnTime(t *testing.T) {
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var tick atomic.Int64
	f := newFixture(t, ingestor.Options{Linger: time.Hour, MaxBatchMessages: 5,
		Now: func() time.Time { return base.Add(time.Duration(tick.Add(1)) * 3 * time.Millisecond) }})
	var a acks
	for k := range 5 {
		f.ing.Handle("metrics/acme/dev-1", []byte(fmt.Sprintf(`{"name":"d","value":%d}`, k)), a.fn())
	}
	f.drain(t)
	reqs, samples, _ := f.fk.snapshot()
	if len(reqs) != 1 || samples != 5 || a.n.Load() != 5 {
		t.Fatalf("%d requests, %d samples, %d acks; want 1, 5, 5", len(reqs), samples, a.n.Load())
	}
	parts := reqs[0].Parts
	if len(parts) != 5 {
		t.Fatalf("%d parts, want one per message", len(parts))
	}
	for k, p := range parts {
		if want := base.Add(time.Duration(k+1) * 3 * time.Millisecond); p.End != k+1 || !p.ArrivedAt.Equal(want) {
			t.Errorf("part %d = %+v, want end %d at %v", k, p, k+1, want)
		}
	}
}
