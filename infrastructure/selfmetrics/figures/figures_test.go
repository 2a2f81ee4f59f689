package figures_test

import (
	"math"
	"reflect"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/pulsemetrics/pulse/infrastructure/selfmetrics/figures"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func labels(kv ...string) []*dto.LabelPair {
	var out []*dto.LabelPair
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, &dto.LabelPair{Name: proto.String(kv[i]), Value: proto.String(kv[i+1])})
	}
	return out
}

func fam(name string, typ dto.MetricType, ms ...*dto.Metric) *dto.MetricFamily {
	return &dto.MetricFamily{Name: proto.String(name), Type: typ.Enum(), Metric: ms}
}

func gauge(v float64, kv ...string) *dto.Metric {
	return &dto.Metric{Label: labels(kv...), Gauge: &dto.Gauge{Value: proto.Float64(v)}}
}

func counter(v float64, kv ...string) *dto.Metric {
	return &dto.Metric{Label: labels(kv...), Counter: &dto.Counter{Value: proto.Float64(v)}}
}

// histo is a histogram series with cumulative counts at bounds; total
// counts the +Inf bucket too.
func histo(bounds []float64, cum []uint64, total uint64, kv ...string) *dto.Metric {
	h := &dto.Histogram{SampleCount: proto.Uint64(total), SampleSum: proto.Float64(0)}
	for i, b := range bounds {
		h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: proto.Float64(b), CumulativeCount: proto.Uint64(cum[i])})
	}
	h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: proto.Float64(math.Inf(1)), CumulativeCount: proto.Uint64(total)})
	return &dto.Metric{Label: labels(kv...), Histogram: h}
}

var (
	G  = dto.MetricType_GAUGE
	C  = dto.MetricType_COUNTER
	H  = dto.MetricType_HISTOGRAM
	b3 = []float64{0.01, 0.1, 1}
)

func fig(name string, v float64, kv ...string) figures.Figure {
	tags := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		tags[kv[i]] = kv[i+1]
	}
	return figures.Figure{Name: name, Value: v, Tags: tags}
}

func TestConvert(t *testing.T) {
	tests := []struct {
		name string
		prev []*dto.MetricFamily // gathered at t0+10s; nil: the first gather
		cur  []*dto.MetricFamily // gathered 10 s after prev (t0+20s), or at t0+10s when prev is nil
		want []figures.Figure
	}{
		{name: "nothing gathered", want: nil},
		{name: "only metrics without a rule", cur: []*dto.MetricFamily{fam("go_goroutines", G, gauge(12))}, want: nil},
		{name: "queue depth sums waiting and pending; age and dead letters as they are",
			cur: []*dto.MetricFamily{fam("pulse_queue_waiting", G, gauge(3)), fam("pulse_queue_pending", G, gauge(2)),
				fam("pulse_queue_oldest_age_seconds", G, gauge(1.5)), fam("pulse_queue_dead_letters", G, gauge(0))},
			want: []figures.Figure{fig("pulse.queue.dead_letters", 0), fig("pulse.queue.depth", 5), fig("pulse.queue.oldest_age_seconds", 1.5)}},
		{name: "queue depth from waiting alone", cur: []*dto.MetricFamily{fam("pulse_queue_waiting", G, gauge(7))},
			want: []figures.Figure{fig("pulse.queue.depth", 7)}},
		{name: "backlog keeps its stage; rollup pending",
			cur: []*dto.MetricFamily{fam("pulse_notification_queue_depth", G, gauge(1, "stage", "outbox"), gauge(4, "stage", "messages")),
				fam("pulse_rollup_pending", G, gauge(9))},
			want: []figures.Figure{fig("pulse.notify.backlog", 4, "stage", "messages"), fig("pulse.notify.backlog", 1, "stage", "outbox"),
				fig("pulse.rollup.pending", 9)}},
		{name: "live streams summed over their labels",
			cur:  []*dto.MetricFamily{fam("pulse_live_streams", G, gauge(2, "tenant", "a"), gauge(3, "tenant", "b"))},
			want: []figures.Figure{fig("pulse.live.streams", 5)}},
		{name: "first gather: a counter's increase since the start, per second",
			cur:  []*dto.MetricFamily{fam("pulse_ingest_accepted_samples_total", C, counter(50, "door", "http", "tenant", "acme"))},
			want: []figures.Figure{fig("pulse.ingest.accepted", 5, "door", "http", "tenant", "acme")}},
		{name: "rates per door and tenant over the interval",
			prev: []*dto.MetricFamily{fam("pulse_ingest_accepted_samples_total", C, counter(100, "door", "http", "tenant", "acme"), counter(10, "door", "mqtt", "tenant", "acme"))},
			cur:  []*dto.MetricFamily{fam("pulse_ingest_accepted_samples_total", C, counter(300, "door", "http", "tenant", "acme"), counter(10, "door", "mqtt", "tenant", "acme"))},
			// mqtt grew in the first interval (shown), not in this one: a last 0.
			want: []figures.Figure{fig("pulse.ingest.accepted", 20, "door", "http", "tenant", "acme"), fig("pulse.ingest.accepted", 0, "door", "mqtt", "tenant", "acme")}},
		{name: "refusals keep their reason; a counter that never grew shows nothing",
			prev: []*dto.MetricFamily{fam("pulse_ingest_refused_samples_total", C, counter(0, "door", "http", "tenant", "a", "reason", "quota"))},
			cur: []*dto.MetricFamily{fam("pulse_ingest_refused_samples_total", C, counter(0, "door", "http", "tenant", "a", "reason", "quota"),
				counter(30, "door", "http", "tenant", "a", "reason", "invalid"))},
			want: []figures.Figure{fig("pulse.ingest.refused", 3, "door", "http", "reason", "invalid", "tenant", "a")}},
		{name: "a counter that restarted counts from zero",
			prev: []*dto.MetricFamily{fam("pulse_ingest_accepted_samples_total", C, counter(500, "door", "http", "tenant", "a"))},
			cur:  []*dto.MetricFamily{fam("pulse_ingest_accepted_samples_total", C, counter(40, "door", "http", "tenant", "a"))},
			want: []figures.Figure{fig("pulse.ingest.accepted", 4, "door", "http", "tenant", "a")}},
		{name: "quantiles from the interval's bucket deltas only",
			// Before: 100 slow observations (in (0.1, 1]); in the interval: 10 fast ones in (0, 0.01].
			prev: []*dto.MetricFamily{fam("pulse_ingest_accept_duration_seconds", H, histo(b3, []uint64{0, 0, 100}, 100, "door", "http"))},
			cur:  []*dto.MetricFamily{fam("pulse_ingest_accept_duration_seconds", H, histo(b3, []uint64{10, 10, 110}, 110, "door", "http"))},
			want: []figures.Figure{fig("pulse.ingest.latency.p50", 0.005, "door", "http"), fig("pulse.ingest.latency.p99", 0.0099, "door", "http")}},
		{name: "no observation in the interval: no quantile",
			prev: []*dto.MetricFamily{fam("pulse_flush_duration_seconds", H, histo(b3, []uint64{1, 2, 3}, 3))},
			cur:  []*dto.MetricFamily{fam("pulse_flush_duration_seconds", H, histo(b3, []uint64{1, 2, 3}, 3))},
			want: nil},
		{name: "series of one histogram merged; beyond the last bound: that bound",
			cur: []*dto.MetricFamily{fam("pulse_flush_lag_seconds", H, histo(b3, []uint64{0, 0, 0}, 5, "x", "1"), histo(b3, []uint64{0, 0, 0}, 5, "x", "2")),
				fam("pulse_alert_eval_duration_seconds", H, histo(b3, []uint64{0, 100, 100}, 100)),
				fam("pulse_alert_eval_lag_seconds", H, histo(b3, []uint64{1, 1, 1}, 1))},
			want: []figures.Figure{fig("pulse.alert.eval.lag_seconds", 0.0099), fig("pulse.alert.eval.latency.p99", 0.0991), fig("pulse.flush.lag_seconds", 1)}},
		{name: "retention's last run as an age; other jobs ignored",
			cur: []*dto.MetricFamily{fam("pulse_scheduled_job_last_success_timestamp_seconds", G,
				gauge(float64(t0.Unix())-50, "job", "retention"), gauge(float64(t0.Unix()), "job", "rollup"))},
			want: []figures.Figure{fig("pulse.retention.last_run_age_seconds", 60)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := figures.NewState(t0)
			at := t0.Add(10 * time.Second)
			if tt.prev != nil {
				// A first interval in which every counter of prev grew.
				_, st = figures.Convert(tt.prev, st, at)
				at = at.Add(10 * time.Second)
			}
			got, _ := figures.Convert(tt.cur, st, at)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d figures %v, want %v", len(got), got, tt.want)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.Name != w.Name || !reflect.DeepEqual(g.Tags, w.Tags) || math.Abs(g.Value-w.Value) > 1e-9 {
					t.Errorf("figure %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// A rate shown at 0 once after its counter stopped is not shown again.
func TestRateDropsToZeroOnce(t *testing.T) {
	c := func(v float64) []*dto.MetricFamily {
		return []*dto.MetricFamily{fam("pulse_ingest_accepted_samples_total", C, counter(v, "door", "http", "tenant", "a"))}
	}
	st := figures.NewState(t0)
	var counts []int
	for i, v := range []float64{10, 10, 10, 20} {
		var got []figures.Figure
		got, st = figures.Convert(c(v), st, t0.Add(time.Duration(i+1)*10*time.Second))
		counts = append(counts, len(got))
	}
	if want := []int{1, 1, 0, 1}; !reflect.DeepEqual(counts, want) {
		t.Errorf("figures per gather = %v, want %v (grew, stopped: 0 once, still stopped: none, grew)", counts, want)
	}
}

func TestQuantile(t *testing.T) {
	bounds := []float64{0.1, 0.5, 1}
	tests := []struct {
		name  string
		q     float64
		cum   []float64
		total float64
		want  float64
		ok    bool
	}{
		{"no observation", 0.5, []float64{0, 0, 0}, 0, 0, false},
		{"all in the first bucket, from 0", 0.5, []float64{10, 10, 10}, 10, 0.05, true},
		{"the median in the second bucket", 0.5, []float64{2, 8, 10}, 10, 0.1 + 0.4*(5-2)/6.0, true},
		{"p99 in the last finite bucket", 0.99, []float64{0, 0, 100}, 100, 0.5 + 0.5*0.99, true},
		{"beyond the last bound", 0.99, []float64{0, 0, 1}, 10, 1, true},
		{"q out of range", 1.5, []float64{1, 1, 1}, 1, 0, false},
		{"q 0 is the start of the first bucket with data", 0, []float64{0, 4, 4}, 4, 0.1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := figures.Quantile(tt.q, bounds, tt.cum, tt.total)
			if ok != tt.ok || math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("Quantile = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestNamesAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range figures.Names() {
		if seen[n] {
			t.Errorf("%s twice", n)
		}
		seen[n] = true
	}
}
