package telemetry_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/outage"
	"github.com/pulsemetrics/pulse/infrastructure/telemetry"
	"github.com/pulsemetrics/pulse/usecase/flush"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

type answer struct {
	res ingest.Result
	err error
}

type scripted struct{ answers []answer }

func (s *scripted) Accept(context.Context, ingest.Request) (ingest.Result, error) {
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a.res, a.err
}

// series renders a family's series as "labels value" lines, sorted.
func series(t *testing.T, reg *telemetry.Registry, name string) []string {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			out = append(out, fmt.Sprintf("%s %v", strings.Join(ls, ","), value(m)))
		}
	}
	sort.Strings(out)
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetHistogram() != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return -1
}

func TestIngestDoorCounts(t *testing.T) {
	reg := telemetry.NewRegistry("test")
	lookups := 0
	name := func(id int64) string {
		lookups++
		if id == 1 {
			return "acme"
		}
		return "" // unknown (yet)
	}
	next := &scripted{answers: []answer{
		{res: ingest.Result{Accepted: 3}},
		{res: ingest.Result{Accepted: 3, Replayed: true}},
		{err: &metric.ValidationError{}},
		{err: &ingest.RateLimitError{}},
		{err: fmt.Errorf("enqueue: %w", ingest.ErrBackpressure)},
		{err: outage.Unavailable("queue", errors.New("down"))},
		{res: ingest.Result{Accepted: 2}},
	}}
	door := reg.Ingest(name).Door("http", next)
	if again := reg.Ingest(nil); again == nil {
		t.Fatal("a second Ingest call must share the first")
	}
	in := make([]metric.Input, 3)
	for _, tenant := range []int64{1, 1, 1, 1, 1, 1, 2} {
		_, _ = door.Accept(context.Background(), ingest.Request{Caller: ingest.Caller{TenantID: tenant}, Inputs: in})
	}
	want := []string{"door=http,tenant=acme 3", "door=http,tenant=id:2 2"}
	if got := series(t, reg, "pulse_ingest_accepted_samples_total"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("accepted = %v, want %v (a replay is not counted)", got, want)
	}
	want = []string{"door=http,reason=backpressure,tenant=acme 3", "door=http,reason=invalid,tenant=acme 3",
		"door=http,reason=quota,tenant=acme 3", "door=http,reason=unavailable,tenant=acme 3"}
	if got := series(t, reg, "pulse_ingest_refused_samples_total"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("refused = %v, want %v", got, want)
	}
	if got := series(t, reg, "pulse_ingest_accept_duration_seconds"); fmt.Sprint(got) != "[door=http 2]" {
		t.Errorf("durations = %v, want the 2 accepted requests", got)
	}
	before := lookups
	series(t, reg, "pulse_ingest_accepted_samples_total")
	if lookups-before != 1 {
		t.Errorf("%d name lookups on a second scrape, want 1 (only the unresolved tenant)", lookups-before)
	}
}

type fakeSource struct{ ackErr error }

func (f *fakeSource) Fetch(context.Context, int, time.Duration) ([]flush.Delivery, error) {
	at := time.Now().Add(-2 * time.Second)
	return []flush.Delivery{{ID: "a", Batch: metric.Batch{AcceptedAt: at}}, {ID: "b", Batch: metric.Batch{AcceptedAt: at}}}, nil
}
func (f *fakeSource) Ack(context.Context, []string) error { return f.ackErr }

func TestFlushLag(t *testing.T) {
	reg := telemetry.NewRegistry("test")
	src := &fakeSource{}
	lagged := reg.FlushLag(src)
	ctx := context.Background()
	if _, err := lagged.Fetch(ctx, 10, 0); err != nil {
		t.Fatal(err)
	}
	if err := lagged.Ack(ctx, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	src.ackErr = errors.New("broken")
	_, _ = lagged.Fetch(ctx, 10, 0)
	_ = lagged.Ack(ctx, []string{"a"})
	if got := series(t, reg, "pulse_flush_lag_seconds"); fmt.Sprint(got) != "[ 2]" {
		t.Errorf("lag observations = %v, want the 2 acknowledged entries", got)
	}
}

func TestJobSucceeded(t *testing.T) {
	reg := telemetry.NewRegistry("test")
	reg.JobSucceeded("retention", time.Unix(1000, 500e6))
	reg.JobSucceeded("retention", time.Unix(2000, 0))
	if got := series(t, reg, "pulse_scheduled_job_last_success_timestamp_seconds"); fmt.Sprint(got) != "[job=retention 2000]" {
		t.Errorf("last success = %v", got)
	}
}
