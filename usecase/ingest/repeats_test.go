package ingest_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// TestAcceptRepeats is the rule for two samples of one series at one
// millisecond: refused within one delivery (both indexes named), and across
// the messages of one MQTT batch a timestamp-less sample takes the next free
// millisecond, while a resend with its own ts is left to the store.
func TestAcceptRepeats(t *testing.T) {
	at := func(ms int64) time.Time { return now.Add(time.Duration(ms) * time.Millisecond) }
	withTS := func(name string, v float64, ts time.Time) metric.Input {
		return metric.Input{Name: name, Value: v, HasValue: true, TS: ts, HasTS: true}
	}
	tests := []struct {
		name     string
		inputs   []metric.Input
		parts    []ingest.Part
		wantBad  []int   // indexes named in the 422
		wantTS   []int64 // ms after now, per stored sample
		enqueued bool
	}{
		{name: "one request, two without ts", inputs: []metric.Input{in("d", 1, nil), in("d", 2, nil)}, wantBad: []int{0, 1}},
		{name: "one request, two with one ts", inputs: []metric.Input{withTS("d", 1, at(-5)), in("x", 0, nil), withTS("d", 2, at(-5))}, wantBad: []int{0, 2}},
		{name: "one request, other series share a ts", inputs: []metric.Input{in("d", 1, nil), in("e", 2, nil), in("d", 3, map[string]string{"h": "a"})},
			wantTS: []int64{0, 0, 0}, enqueued: true},
		{name: "one request, 100 Hz samples", inputs: []metric.Input{withTS("d", 1, at(-30)), withTS("d", 2, at(-20)), withTS("d", 3, at(-10))},
			wantTS: []int64{-30, -20, -10}, enqueued: true},
		{name: "messages at their own arrival times", inputs: []metric.Input{in("d", 1, nil), in("d", 2, nil), in("d", 3, nil)},
			parts:  []ingest.Part{{End: 1, ArrivedAt: at(-30)}, {End: 2, ArrivedAt: at(-20)}, {End: 3, ArrivedAt: at(-10)}},
			wantTS: []int64{-30, -20, -10}, enqueued: true},
		{name: "messages in one millisecond take the next free ones", inputs: []metric.Input{in("d", 1, nil), in("d", 2, nil), in("d", 3, nil)},
			parts:  []ingest.Part{{End: 1, ArrivedAt: at(-5)}, {End: 2, ArrivedAt: at(-5).Add(300 * time.Microsecond)}, {End: 3, ArrivedAt: at(-5).Add(600 * time.Microsecond)}},
			wantTS: []int64{-5, -4, -3}, enqueued: true},
		{name: "a moved sample skips its own message's next sample", inputs: []metric.Input{withTS("d", 1, at(-5)), in("d", 2, nil), withTS("d", 3, at(-4))},
			parts:  []ingest.Part{{End: 1, ArrivedAt: at(-1)}, {End: 3, ArrivedAt: at(-5)}},
			wantTS: []int64{-5, -3, -4}, enqueued: true},
		{name: "a resend in a later message is the store's to drop", inputs: []metric.Input{withTS("d", 1, at(-5)), withTS("d", 1, at(-5))},
			parts:  []ingest.Part{{End: 1, ArrivedAt: at(-2)}, {End: 2, ArrivedAt: at(-1)}},
			wantTS: []int64{-5, -5}, enqueued: true},
		{name: "a repeat inside one message of a batch is that message's fault", inputs: []metric.Input{in("e", 1, nil), in("d", 1, nil), in("d", 2, nil)},
			parts: []ingest.Part{{End: 1, ArrivedAt: at(-2)}, {End: 3, ArrivedAt: at(-1)}}, wantBad: []int{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.expectLimits(metric.DefaultLimits())
			var got metric.Batch
			if tt.enqueued {
				f.queue.EXPECT().Enqueue(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, b metric.Batch) error {
					got = b
					return nil
				})
			}
			r := req(tenantID, tt.inputs)
			r.Parts = tt.parts
			res, err := f.svc.Accept(context.Background(), r)
			if tt.wantBad != nil {
				var verr *metric.ValidationError
				if !errors.As(err, &verr) {
					t.Fatalf("err = %v, want a 422 naming %v", err, tt.wantBad)
				}
				var idx []int
				for _, e := range verr.Errors {
					idx = append(idx, e.Index)
					if e.Field != "ts" || e.Message == "" {
						t.Errorf("error %+v: want field ts with a message", e)
					}
				}
				if !reflect.DeepEqual(idx, tt.wantBad) {
					t.Errorf("indexes %v, want %v", idx, tt.wantBad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Accepted != len(tt.inputs) {
				t.Errorf("accepted %d, want %d", res.Accepted, len(tt.inputs))
			}
			var ts []int64
			for _, s := range got.Samples {
				ts = append(ts, s.TimestampMillis()-now.UnixMilli())
			}
			if !reflect.DeepEqual(ts, tt.wantTS) {
				t.Errorf("stored ts %v, want %v", ts, tt.wantTS)
			}
		})
	}
}
