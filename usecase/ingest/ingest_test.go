package ingest_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

const tenantID = int64(42)

var now = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

type fixture struct {
	svc    *ingest.Service
	queue  *MockQueue
	limits *MockTenantLimits
	ids    int
}

func newFixture(t *testing.T) *fixture {
	ctrl := gomock.NewController(t)
	f := &fixture{queue: NewMockQueue(ctrl), limits: NewMockTenantLimits(ctrl)}
	f.svc = ingest.NewService(f.queue, f.limits, func() time.Time { return now }, func() string {
		f.ids++
		return "req-" + string(rune('0'+f.ids))
	})
	return f
}

func in(name string, v float64, tags map[string]string) metric.Input {
	return metric.Input{Name: name, Value: v, HasValue: true, Tags: tags}
}

func (f *fixture) expectLimits(lim metric.Limits) {
	f.limits.EXPECT().LimitsFor(gomock.Any(), tenantID).Return(lim, nil)
}

func TestAcceptEnqueuesOneBatch(t *testing.T) {
	f := newFixture(t)
	f.expectLimits(metric.DefaultLimits())
	tsGiven := now.Add(-time.Minute)
	inputs := []metric.Input{
		in("cpu.load", 0.42, map[string]string{"host": "a"}),
		{Name: "mem.used", Value: 1024, HasValue: true, TS: tsGiven, HasTS: true, DedupeID: "d-1"},
		in("disk.free", 0, nil),
	}
	var got metric.Batch
	f.queue.EXPECT().Enqueue(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, b metric.Batch) error {
		got = b
		return nil
	}).Times(1)

	res, err := f.svc.Accept(context.Background(), req(tenantID, inputs))
	if err != nil {
		t.Fatal(err)
	}
	if res != (ingest.Result{RequestID: "req-1", Accepted: 3}) {
		t.Errorf("Result = %+v", res)
	}
	if got.ID != "req-1" || got.TenantID != tenantID || !got.AcceptedAt.Equal(now) || len(got.Samples) != 3 {
		t.Fatalf("batch = id %q tenant %d at %v with %d samples", got.ID, got.TenantID, got.AcceptedAt, len(got.Samples))
	}
	wantTS := []int64{now.UnixMilli(), tsGiven.UnixMilli(), now.UnixMilli()}
	for i, s := range got.Samples {
		if s.Name() != inputs[i].Name || s.Value() != inputs[i].Value || s.DedupeID() != inputs[i].DedupeID {
			t.Errorf("sample %d = %q %v %q, want input order kept", i, s.Name(), s.Value(), s.DedupeID())
		}
		if s.TimestampMillis() != wantTS[i] {
			t.Errorf("sample %d ts = %d, want %d", i, s.TimestampMillis(), wantTS[i])
		}
		if !slices.Equal(s.Tags(), metric.SortedTags(inputs[i].Tags)) {
			t.Errorf("sample %d tags = %v", i, s.Tags())
		}
	}
}

func TestAcceptUsesAFreshIDPerRequest(t *testing.T) {
	f := newFixture(t)
	f.limits.EXPECT().LimitsFor(gomock.Any(), tenantID).Return(metric.DefaultLimits(), nil).Times(2)
	gomock.InOrder(
		f.queue.EXPECT().Enqueue(gomock.Any(), batchWithID("req-1")),
		f.queue.EXPECT().Enqueue(gomock.Any(), batchWithID("req-2")),
	)
	for _, want := range []string{"req-1", "req-2"} {
		res, err := f.svc.Accept(context.Background(), req(tenantID, []metric.Input{in("x", 1, nil)}))
		if err != nil || res.RequestID != want {
			t.Errorf("Accept = %+v, %v; want id %s", res, err, want)
		}
	}
}

func batchWithID(id string) gomock.Matcher {
	return gomock.Cond(func(b metric.Batch) bool { return b.ID == id })
}

func TestAcceptInvalidEnqueuesNothing(t *testing.T) {
	tests := []struct {
		name   string
		inputs []metric.Input
		want   []metric.FieldError // Index and Field; messages checked non-empty
	}{
		{
			name:   "one bad among good",
			inputs: []metric.Input{in("ok", 1, nil), in("9bad", 1, nil), in("ok2", 2, nil)},
			want:   []metric.FieldError{{Index: 1, Field: "name"}},
		},
		{
			name: "every bad index listed",
			inputs: []metric.Input{
				in("", math.NaN(), nil),
				in("ok", 1, nil),
				{Name: "ok", HasValue: false},
				in("ok", math.Inf(1), map[string]string{"h": strings.Repeat("v", 300)}),
				{Name: "ok", Value: 1, HasValue: true, TS: now.Add(time.Hour), HasTS: true},
			},
			want: []metric.FieldError{
				{Index: 0, Field: "name"}, {Index: 0, Field: "value"},
				{Index: 2, Field: "value"},
				{Index: 3, Field: "value"}, {Index: 3, Field: "tags.h"},
				{Index: 4, Field: "ts"},
			},
		},
		{
			name:   "last one bad",
			inputs: []metric.Input{in("a", 1, nil), in("b", 1, nil), {Name: "c", Value: 1, HasValue: true, DedupeID: strings.Repeat("d", 500)}},
			want:   []metric.FieldError{{Index: 2, Field: "dedupe_id"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLimits(metric.DefaultLimits())
			// No Enqueue expectation: gomock fails the test if it is called.
			res, err := f.svc.Accept(context.Background(), req(tenantID, tt.inputs))
			var ve *metric.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *metric.ValidationError", err)
			}
			if res != (ingest.Result{}) {
				t.Errorf("Result = %+v on error", res)
			}
			got := make([]metric.FieldError, 0, len(ve.Errors))
			for _, e := range ve.Errors {
				if e.Message == "" {
					t.Errorf("empty message at %d %s", e.Index, e.Field)
				}
				got = append(got, metric.FieldError{Index: e.Index, Field: e.Field})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("errors = %+v, want %+v", got, tt.want)
			}
			if f.ids != 0 {
				t.Errorf("a request id was drawn for a rejected request")
			}
		})
	}
}

func TestAcceptEmpty(t *testing.T) {
	for _, inputs := range [][]metric.Input{nil, {}} {
		f := newFixture(t)
		// Neither LimitsFor nor Enqueue may be called.
		_, err := f.svc.Accept(context.Background(), req(tenantID, inputs))
		var ve *metric.ValidationError
		if !errors.As(err, &ve) || len(ve.Errors) != 1 || ve.Errors[0].Message == "" {
			t.Errorf("Accept(%v) err = %v, want one ValidationError entry", inputs, err)
		}
	}
}

func TestAcceptQueueError(t *testing.T) {
	for _, queueErr := range []error{ingest.ErrBackpressure, errors.New("disk full")} {
		t.Run(queueErr.Error(), func(t *testing.T) {
			f := newFixture(t)
			f.expectLimits(metric.DefaultLimits())
			f.queue.EXPECT().Enqueue(gomock.Any(), gomock.Any()).Return(queueErr).Times(1)
			res, err := f.svc.Accept(context.Background(), req(tenantID, []metric.Input{in("x", 1, nil)}))
			if !errors.Is(err, queueErr) {
				t.Fatalf("err = %v, want it to wrap %v", err, queueErr)
			}
			if !strings.Contains(err.Error(), "req-1") || !strings.Contains(err.Error(), "42") {
				t.Errorf("err %q lacks batch id / tenant context", err)
			}
			if res != (ingest.Result{}) {
				t.Errorf("Result = %+v on error (the door must not answer 202)", res)
			}
			var ve *metric.ValidationError
			if errors.As(err, &ve) {
				t.Error("a queue failure looks like a validation error")
			}
		})
	}
}

func TestAcceptLimitsError(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("tenant store down")
	f.limits.EXPECT().LimitsFor(gomock.Any(), tenantID).Return(metric.Limits{}, boom)
	_, err := f.svc.Accept(context.Background(), req(tenantID, []metric.Input{in("x", 1, nil)}))
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
	var ve *metric.ValidationError
	if errors.As(err, &ve) {
		t.Error("a limits failure looks like a validation error")
	}
}

func TestAcceptAppliesTenantRetention(t *testing.T) {
	lim := metric.DefaultLimits().WithRetention(7)
	tests := []struct {
		name string
		age  time.Duration
		ok   bool
	}{
		{"6 days old", 6 * 24 * time.Hour, true},
		{"8 days old", 8 * 24 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLimits(lim)
			if tt.ok {
				f.queue.EXPECT().Enqueue(gomock.Any(), gomock.Any()).Return(nil)
			}
			_, err := f.svc.Accept(context.Background(), req(tenantID, []metric.Input{
				{Name: "x", Value: 1, HasValue: true, TS: now.Add(-tt.age), HasTS: true},
			}))
			if tt.ok && err != nil {
				t.Fatalf("err = %v", err)
			}
			var ve *metric.ValidationError
			if !tt.ok && (!errors.As(err, &ve) || ve.Errors[0].Field != "ts" || !strings.Contains(ve.Errors[0].Message, "7 days")) {
				t.Fatalf("err = %v, want a ts error naming the 7-day retention", err)
			}
		})
	}
}

func TestAcceptPassesContext(t *testing.T) {
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	hasValue := gomock.Cond(func(c context.Context) bool { return c.Value(key{}) == "v" })
	f := newFixture(t)
	f.limits.EXPECT().LimitsFor(hasValue, tenantID).Return(metric.DefaultLimits(), nil)
	f.queue.EXPECT().Enqueue(hasValue, gomock.Any()).Return(nil)
	if _, err := f.svc.Accept(ctx, req(tenantID, []metric.Input{in("x", 1, nil)})); err != nil {
		t.Fatal(err)
	}
}

func req(tenantID int64, inputs []metric.Input) ingest.Request {
	return ingest.Request{Caller: ingest.Caller{TenantID: tenantID, Key: "tok"}, Inputs: inputs}
}
