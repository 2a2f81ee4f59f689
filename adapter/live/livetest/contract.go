// Package livetest is the contract every live feed (usecase/live's Feed
// and Publisher) must meet: what is published after a follower started
// reaches it whole, in publish order, with strictly increasing ids.
package livetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/live"
)

// Feed is what the suite drives.
type Feed interface {
	live.Feed
	live.Publisher
}

// Recorder is a Sink that keeps what it was given.
type Recorder struct {
	mu      sync.Mutex
	Entries []live.Entry
	Floors  []live.ID
}

// Entry records e.
func (r *Recorder) Entry(e live.Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Entries = append(r.Entries, e)
}

// Floor records id.
func (r *Recorder) Floor(id live.ID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Floors = append(r.Floors, id)
}

// Wait returns the entries once there are n, failing t after 5 s.
func (r *Recorder) Wait(t *testing.T, n int) []live.Entry {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		got := append([]live.Entry(nil), r.Entries...)
		r.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("follower got %d entries; want %d", len(got), n)
			}
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Batch is tenant's batch of n samples named name, dense (1 ms apart).
func Batch(tenant int64, name string, n int) metric.Batch {
	s := make([]metric.Sample, n)
	base := time.Now().UnixMilli()
	for i := range s {
		s[i] = metric.Rehydrate(name, float64(i)+0.5, metric.Tags{{Key: "host", Value: fmt.Sprint("h", i%3)}}, base+int64(i), "")
	}
	return metric.Batch{ID: name, TenantID: tenant, Samples: s}
}

// Follow starts a follower of f, stopped at the test's end.
func Follow(t *testing.T, f live.Feed, since live.ID) *Recorder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rec := &Recorder{}
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Follow(ctx, since, rec) }()
	t.Cleanup(func() { cancel(); <-done })
	return rec
}

// Run checks the contract on feeds made by newFeed (a fresh, empty feed
// per call).
func Run(t *testing.T, newFeed func(t *testing.T) Feed) {
	t.Run("published batches reach every follower whole and in order", func(t *testing.T) {
		f := newFeed(t)
		a, b := Follow(t, f, live.ID{}), Follow(t, f, live.ID{})
		time.Sleep(50 * time.Millisecond) // followers attached
		want := []metric.Batch{Batch(1, "cpu", 3), Batch(2, "mem", 1000), Batch(1, "disk", 1)}
		if err := f.Publish(context.Background(), want[:2]); err != nil {
			t.Fatal(err)
		}
		if err := f.Publish(context.Background(), want[2:]); err != nil {
			t.Fatal(err)
		}
		ga, gb := a.Wait(t, 3), b.Wait(t, 3)
		for i, e := range ga {
			if !same(e.Batch, want[i]) {
				t.Fatalf("entry %d = tenant %d, %d samples; want batch %s of tenant %d", i, e.Batch.TenantID, len(e.Batch.Samples), want[i].ID, want[i].TenantID)
			}
			if gb[i].ID != e.ID {
				t.Fatalf("entry %d has id %v at one follower and %v at the other", i, e.ID, gb[i].ID)
			}
			if i > 0 && !ga[i-1].ID.Less(e.ID) {
				t.Fatalf("ids not increasing: %v then %v", ga[i-1].ID, e.ID)
			}
		}
	})
	t.Run("publishing nothing is fine", func(t *testing.T) {
		if err := newFeed(t).Publish(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	})
}

func same(a, b metric.Batch) bool {
	if a.TenantID != b.TenantID || len(a.Samples) != len(b.Samples) {
		return false
	}
	for i := range a.Samples {
		x, y := a.Samples[i], b.Samples[i]
		if x.Name() != y.Name() || x.Value() != y.Value() || x.TimestampMillis() != y.TimestampMillis() || seriesOf(x) != seriesOf(y) {
			return false
		}
	}
	return true
}

func seriesOf(s metric.Sample) string { return fmt.Sprint(s.Tags()) }
