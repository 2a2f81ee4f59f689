package live_test

import (
	"errors"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/outage"
	"github.com/pulsemetrics/pulse/usecase/live"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var t0 = time.UnixMilli(1_800_000_000_000)

func newHub(cfg live.Config) (*live.Hub, *clock) {
	c := &clock{t: t0}
	return live.NewHub(nil, cfg, slog.New(slog.DiscardHandler), c.now), c
}

func sample(name, host string, ts int64, v float64) metric.Sample {
	return metric.Rehydrate(name, v, metric.Tags{{Key: "host", Value: host}}, ts, "")
}

// entry is one committed batch of tenant published at ms (seq 0).
func entry(ms int64, tenant int64, samples ...metric.Sample) live.Entry {
	return live.Entry{ID: live.ID{Ms: ms}, Batch: metric.Batch{TenantID: tenant, Samples: samples}}
}

func sub(t *testing.T, name string, tags map[string]string, agg string) live.Subscription {
	t.Helper()
	s, err := live.NewSubscription(name, tags, agg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func points(t *testing.T, st *live.Stream) map[int][]live.Point {
	t.Helper()
	_, ups, _ := st.Take()
	out := map[int][]live.Point{}
	for _, u := range ups {
		for _, ser := range u.Series {
			out[u.Query] = append(out[u.Query], ser.Points...)
		}
	}
	return out
}

func TestPointsAfterOpenArriveFilteredByTenantNameAndTags(t *testing.T) {
	h, _ := newHub(live.Config{})
	st, err := h.Subscribe(1, []live.Subscription{
		sub(t, "cpu", map[string]string{"host": "a"}, ""),
		sub(t, "cpu", nil, "count"),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ms := t0.UnixMilli()
	h.Entry(entry(ms+1, 1, sample("cpu", "a", ms, 0.5), sample("cpu", "b", ms, 0.7), sample("mem", "a", ms, 9)))
	h.Entry(entry(ms+2, 2, sample("cpu", "a", ms+5, 99))) // another tenant's
	select {
	case <-st.Wake():
	default:
		t.Fatal("the stream was not woken by a matching point")
	}
	got := points(t, st)
	want := map[int][]live.Point{
		0: {{TS: ms, Value: 0.5}},
		1: {{TS: ms, Value: 1}, {TS: ms, Value: 1}}, // count of one raw sample, per series
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("points = %v; want %v", got, want)
	}
	if got := points(t, st); len(got) != 0 {
		t.Fatalf("a second Take gave %v; want nothing", got)
	}
}

func TestPointsComeInTimeOrderOncePerTimestamp(t *testing.T) {
	h, _ := newHub(live.Config{})
	st, _ := h.Subscribe(1, []live.Subscription{sub(t, "cpu", nil, "")}, nil)
	ms := t0.UnixMilli()
	h.Entry(entry(ms+1, 1, sample("cpu", "a", ms+20, 3), sample("cpu", "a", ms+10, 1)))
	h.Entry(entry(ms+2, 1, sample("cpu", "a", ms+10, 2), sample("cpu", "a", ms+30, 4))) // a repeat of ms+10
	want := []live.Point{{TS: ms + 10, Value: 1}, {TS: ms + 20, Value: 3}, {TS: ms + 30, Value: 4}}
	if got := points(t, st)[0]; !reflect.DeepEqual(got, want) {
		t.Fatalf("points = %v; want %v (the first write of a timestamp wins, as in the store)", got, want)
	}
}

func TestResumeDeliversExactlyTheMissedPoints(t *testing.T) {
	h, _ := newHub(live.Config{})
	subs := []live.Subscription{sub(t, "cpu", nil, "")}
	ms := t0.UnixMilli()
	first, _ := h.Subscribe(1, subs, nil)
	h.Entry(entry(ms+1, 1, sample("cpu", "a", ms+1, 1)))
	_, _, upTo := first.Take()
	first.Close()
	h.Entry(entry(ms+2, 1, sample("cpu", "a", ms+2, 2)))
	h.Entry(entry(ms+3, 2, sample("cpu", "a", ms+3, 3)))
	h.Entry(entry(ms+4, 1, sample("cpu", "a", ms+4, 4)))

	again, err := h.Subscribe(1, subs, &upTo)
	if err != nil {
		t.Fatal(err)
	}
	if again.Start() != upTo {
		t.Fatalf("Start = %v; want the resume id %v", again.Start(), upTo)
	}
	gap, ups, last := again.Take()
	if gap != nil {
		t.Fatalf("gap %+v on a resume inside the buffer", gap)
	}
	want := []live.Point{{TS: ms + 2, Value: 2}, {TS: ms + 4, Value: 4}}
	if len(ups) != 1 || !reflect.DeepEqual(ups[0].Series[0].Points, want) {
		t.Fatalf("replayed %+v; want %v", ups, want)
	}
	if last != (live.ID{Ms: ms + 4}) {
		t.Fatalf("up to %v; want the newest entry", last)
	}
}

func TestResumeFromBeyondTheBufferIsAGap(t *testing.T) {
	h, c := newHub(live.Config{Replay: time.Minute})
	subs := []live.Subscription{sub(t, "cpu", nil, "")}
	ms := t0.UnixMilli()
	h.Entry(entry(ms+1, 1, sample("cpu", "a", ms+1, 1)))
	c.t = t0.Add(2 * time.Minute)
	late := c.t.UnixMilli()
	h.Entry(entry(late, 1, sample("cpu", "a", late, 2))) // trims the first
	old := live.ID{Ms: ms}                               // the client had not seen the trimmed entry
	st, _ := h.Subscribe(1, subs, &old)
	gap, ups, _ := st.Take()
	if gap == nil || gap.From != ms || gap.To != late {
		t.Fatalf("gap = %+v; want [%d, %d]", gap, ms, late)
	}
	// Having seen the trimmed entry, nothing is missing.
	seen := live.ID{Ms: ms + 1}
	st, _ = h.Subscribe(1, subs, &seen)
	if gap, _, _ := st.Take(); gap != nil {
		t.Fatalf("gap %+v for a client that had every trimmed entry", gap)
	}
	if len(ups) != 1 || ups[0].Series[0].Points[0].TS != late {
		t.Fatalf("after the gap: %+v; want the kept entry", ups)
	}
	// A resume from before the hub started is a gap too: it never saw those.
	fresh, _ := newHub(live.Config{})
	before := live.ID{Ms: ms - 1000}
	st, _ = fresh.Subscribe(1, subs, &before)
	if gap, _, _ := st.Take(); gap == nil {
		t.Fatal("no gap for a resume from before the hub started")
	}
}

func TestSizeBoundedBufferTellsAGap(t *testing.T) {
	h, _ := newHub(live.Config{MaxReplaySamples: 2})
	ms := t0.UnixMilli()
	for i := range int64(4) {
		h.Entry(entry(ms+i+1, 1, sample("cpu", "a", ms+i, float64(i))))
	}
	from := live.ID{Ms: ms + 1}
	st, _ := h.Subscribe(1, []live.Subscription{sub(t, "cpu", nil, "")}, &from)
	if gap, _, _ := st.Take(); gap == nil {
		t.Fatal("no gap although entries after the resume id were dropped for size")
	}
}

func TestConnectionCaps(t *testing.T) {
	h, _ := newHub(live.Config{MaxStreams: 3, MaxStreamsPerTenant: 2})
	subs := []live.Subscription{sub(t, "cpu", nil, "")}
	a1, _ := h.Subscribe(1, subs, nil)
	if _, err := h.Subscribe(1, subs, nil); err != nil {
		t.Fatal(err)
	}
	var lim *live.LimitError
	if _, err := h.Subscribe(1, subs, nil); !errors.As(err, &lim) || lim.Limit != "streams per tenant" || lim.Max != 2 {
		t.Fatalf("third stream of a tenant: %v; want the per-tenant limit", err)
	}
	if _, err := h.Subscribe(2, subs, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe(3, subs, nil); !errors.As(err, &lim) || lim.Limit != "streams per process" {
		t.Fatalf("fourth stream: %v; want the per-process limit", err)
	}
	a1.Close()
	if _, err := h.Subscribe(1, subs, nil); err != nil {
		t.Fatalf("after a close: %v; want a place again", err)
	}
	if h.Open() != 3 {
		t.Fatalf("Open = %d; want 3", h.Open())
	}
}

func TestSlowClientIsEndedNotBuffered(t *testing.T) {
	h, _ := newHub(live.Config{MaxPending: 3})
	st, _ := h.Subscribe(1, []live.Subscription{sub(t, "cpu", nil, "")}, nil)
	ms := t0.UnixMilli()
	for i := range int64(4) {
		h.Entry(entry(ms+i+1, 1, sample("cpu", "a", ms+i, 1)))
	}
	select {
	case <-st.Done():
	default:
		t.Fatal("a stream over its pending bound is still open")
	}
	if st.Reason() != live.EndSlow || h.Open() != 0 || h.Stats().Slow.Load() != 1 {
		t.Fatalf("reason %q, open %d, slow %d", st.Reason(), h.Open(), h.Stats().Slow.Load())
	}
}

func TestEndTenantAndBadSubscriptions(t *testing.T) {
	h, _ := newHub(live.Config{})
	st, _ := h.Subscribe(1, []live.Subscription{sub(t, "cpu", nil, "")}, nil)
	other, _ := h.Subscribe(2, []live.Subscription{sub(t, "cpu", nil, "")}, nil)
	h.EndTenant(1, live.EndRevoked)
	<-st.Done()
	if st.Reason() != live.EndRevoked || other.Reason() != "" {
		t.Fatalf("reasons %q, %q", st.Reason(), other.Reason())
	}
	if _, err := h.Subscribe(1, nil, nil); !errors.Is(err, live.ErrInvalid) {
		t.Fatalf("no queries: %v", err)
	}
	if _, err := live.NewSubscription("", nil, ""); !errors.Is(err, live.ErrInvalid) {
		t.Fatalf("no name: %v", err)
	}
	if _, err := live.NewSubscription("cpu", nil, "median"); !errors.Is(err, live.ErrInvalid) {
		t.Fatalf("bad agg: %v", err)
	}
}

func TestIDRoundTripAndOrder(t *testing.T) {
	for _, id := range []live.ID{{}, {Ms: 1}, {Ms: 1_800_000_000_000, Seq: 42}} {
		got, err := live.ParseID(id.String())
		if err != nil || got != id {
			t.Fatalf("ParseID(%q) = %v, %v", id.String(), got, err)
		}
	}
	for _, bad := range []string{"", "x", "-1-0", "5-x", "5--1"} {
		if _, err := live.ParseID(bad); err == nil {
			t.Fatalf("ParseID(%q) accepted", bad)
		}
	}
	a := live.ID{Ms: 5, Seq: 2}
	if a.Next(5) != (live.ID{Ms: 5, Seq: 3}) || a.Next(4) != (live.ID{Ms: 5, Seq: 3}) || a.Next(6) != (live.ID{Ms: 6}) {
		t.Fatal("Next must stay monotonic whatever the clock says")
	}
}

// The buffers of all tenants together stay under MaxReplayTotal: the
// largest tenant gives way first, and a resume into what it lost is a gap.
func TestProcessWideReplayBound(t *testing.T) {
	h, _ := newHub(live.Config{MaxReplayTotal: 10})
	ms := t0.UnixMilli()
	big := make([]metric.Sample, 4)
	for i := range big {
		big[i] = sample("cpu", "a", ms+int64(i), 1)
	}
	for i := range int64(3) {
		h.Entry(entry(ms+i+1, 1, big...)) // tenant 1: 12 samples, over the bound
	}
	h.Entry(entry(ms+10, 2, sample("cpu", "a", ms, 1)))
	subs := []live.Subscription{sub(t, "cpu", nil, "")}
	from := live.ID{Ms: ms}
	if gap, _, _ := mustSubscribe(t, h, 1, subs, &from).Take(); gap == nil {
		t.Fatal("tenant 1 lost entries to the process-wide bound but no gap was told")
	}
	if gap, ups, _ := mustSubscribe(t, h, 2, subs, &from).Take(); gap != nil || len(ups) != 1 {
		t.Fatalf("tenant 2 (small) kept its entry: gap %+v, %d updates", gap, len(ups))
	}
}

func mustSubscribe(t *testing.T, h *live.Hub, tenant int64, subs []live.Subscription, from *live.ID) *live.Stream {
	t.Helper()
	st, err := h.Subscribe(tenant, subs, from)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Close (the process stopping) ends every stream and refuses new ones as
// a passing outage (503 + Retry-After), not as a client's mistake.
func TestCloseEndsStreamsAndRefusesNewOnes(t *testing.T) {
	h, _ := newHub(live.Config{})
	subs := []live.Subscription{sub(t, "cpu", nil, "")}
	st := mustSubscribe(t, h, 1, subs, nil)
	h.Close()
	<-st.Done()
	if st.Reason() != live.EndShutdown || h.Open() != 0 {
		t.Fatalf("reason %q, open %d", st.Reason(), h.Open())
	}
	if _, err := h.Subscribe(1, subs, nil); !errors.Is(err, outage.ErrUnavailable) {
		t.Fatalf("Subscribe after Close: %v; want an outage", err)
	}
}
