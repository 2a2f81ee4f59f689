package live_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/usecase/live"
)

// historyFeed is a feed like redislive's: it holds the entries of the
// last minutes and, when followed, sets the floor to since and delivers
// what it holds after it.
type historyFeed struct {
	held    []live.Entry
	started chan struct{}
}

func (f *historyFeed) Follow(ctx context.Context, since live.ID, sink live.Sink) error {
	sink.Floor(since)
	for _, e := range f.held {
		if since.Less(e.ID) {
			sink.Entry(e)
		}
	}
	close(f.started)
	<-ctx.Done()
	return nil
}

// A replica that starts reads the feed's recent history so that a client
// moved to it (a rolling deploy) resumes there: from an id within that
// history it gets the entries after it, and no gap.
func TestResumeOnAReplicaThatReadTheHistoryIsNoGap(t *testing.T) {
	now := time.Now()
	ms := now.Add(-30 * time.Second).UnixMilli()
	f := &historyFeed{started: make(chan struct{}), held: []live.Entry{
		entry(ms, 1, sample("cpu", "a", ms, 1)),
		entry(ms+1000, 1, sample("cpu", "a", ms+1000, 2)),
	}}
	h := live.NewHub(f, live.Config{Replay: 2 * time.Minute}, slog.New(slog.DiscardHandler), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-f.started
	st, err := h.Subscribe(1, []live.Subscription{sub(t, "cpu", nil, "")}, &live.ID{Ms: ms})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	gap, ups, _ := st.Take()
	if gap != nil {
		t.Errorf("gap %+v, though the replica holds every entry after the resume id", *gap)
	}
	if len(ups) != 1 || len(ups[0].Series) != 1 || len(ups[0].Series[0].Points) != 1 || ups[0].Series[0].Points[0].Value != 2 {
		t.Errorf("updates %+v; want the one entry after the resume id", ups)
	}
}

// A tenant whose entries all aged out and that had no stream is forgotten
// by the sweep; a client of it resuming from before those entries must
// still be told of a gap, not resumed as if it had missed nothing.
func TestResumeAfterTheSweepForgotATenantIsAGap(t *testing.T) {
	h, c := newHub(live.Config{Replay: time.Minute})
	ms := t0.UnixMilli()
	h.Entry(entry(ms+10, 1, sample("cpu", "a", ms, 1)))
	c.t = t0.Add(2 * time.Minute) // tenant 1's entry is older than Replay now
	h.Entry(entry(c.t.UnixMilli(), 2, sample("cpu", "a", ms, 2)))
	st, err := h.Subscribe(1, []live.Subscription{sub(t, "cpu", nil, "")}, &live.ID{Ms: ms})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if gap, _, _ := st.Take(); gap == nil {
		t.Fatal("resumed from before an entry that aged out of the buffer without a gap")
	}
}
