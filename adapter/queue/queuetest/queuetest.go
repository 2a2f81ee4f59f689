// Package queuetest is the contract suite every durable batch queue (the
// embedded SQLite queue, Redis Streams) must pass, so both modes behave the
// same by construction.
package queuetest

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/flush"
)

// Settings every queue under test must be opened with.
const (
	// LeaseTimeout is how long a fetched entry stays invisible before it is
	// redelivered: long enough that the checks made while it is leased end
	// within it on a loaded 2-core CI machine (200 ms did not, once).
	LeaseTimeout = time.Second
	// MaxDeliveries is how many times an entry is delivered before it is
	// dead-lettered instead.
	MaxDeliveries = 3
)

// Queue is the part of a queue adapter the suite exercises: the ingest side
// (Enqueue), the worker side (Fetch, Ack), the operator side (Backlog,
// DeadLetters, Stats) and a test hook (EnqueuePayload).
type Queue interface {
	Enqueue(ctx context.Context, b metric.Batch) error
	Fetch(ctx context.Context, max int, wait time.Duration) ([]flush.Delivery, error)
	Ack(ctx context.Context, ids []string) error
	// Backlog counts entries not yet acknowledged (nor dead-lettered).
	Backlog(ctx context.Context) (int64, error)
	// DeadLetters counts dead-lettered entries.
	DeadLetters(ctx context.Context) (int64, error)
	// Stats is the snapshot behind the queue gauges.
	Stats(ctx context.Context) (flush.QueueStats, error)
	// EnqueuePayload stores payload as an entry as it is, bypassing the
	// codec (a test hook, usually in the adapter's export_test.go): it is
	// how the suite plants an entry no worker can decode.
	EnqueuePayload(ctx context.Context, payload []byte) error
	// DeadPayloads returns the payloads in the dead-letter store, oldest
	// first (a test hook too).
	DeadPayloads(ctx context.Context) ([][]byte, error)
	Close() error
}

// Run runs the contract against the queues newQueue opens. newQueue opens
// a queue with LeaseTimeout and MaxDeliveries on the backing store that
// belongs to t (a file or stream named after t.Name()): calls with the same t
// open further instances on the same store, as further worker processes
// would; calls with different t never share a store. newQueue closes what it
// opens in t.Cleanup; Close must therefore tolerate a second call.
func Run(t *testing.T, newQueue func(t *testing.T) Queue) {
	cases := []struct {
		name string
		fn   func(t *testing.T, newQueue func(t *testing.T) Queue)
	}{
		{"EnqueueThenFetchReturnsTheSameBatch", testRoundTrip},
		{"FetchHonoursMax", testFetchMax},
		{"FIFO", testFIFO},
		{"UnackedEntryIsRedeliveredAfterLease", testRedelivery},
		{"AckedEntriesNeverComeBack", testAckedNeverReturn},
		{"TwoConsumersNeverShareALeasedEntry", testTwoConsumers},
		{"ConcurrentEnqueueEachFetchedOnce", testConcurrentEnqueue},
		{"DeadLetterAfterMaxDeliveries", testDeadLetter},
		{"EmptyFetchWaits", testEmptyFetchWaits},
		{"FetchHonoursCancellation", testFetchCancel},
		{"EnqueueAfterCloseFails", testEnqueueAfterClose},
		{"DenseBatchRoundTrips", testDenseBatch},
		{"GeneratedBatchesRoundTrip", testGeneratedBatches},
		{"StatsCountWaitingPendingAndAge", testStats},
		{"UnreadableEntryIsAnAlarm", testUnreadable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, newQueue)
		})
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Batch returns a distinct batch with a few samples covering every field.
func Batch(i int) metric.Batch {
	ts := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC).UnixMilli() + int64(i)
	return metric.Batch{
		ID:         fmt.Sprintf("batch-%05d", i),
		TenantID:   int64(100 + i%7),
		AcceptedAt: time.UnixMilli(ts).UTC(),
		Samples: []metric.Sample{
			metric.Rehydrate("cpu.load", 0.5+float64(i), metric.Tags{{Key: "host", Value: "a"}, {Key: "region", Value: "eu"}}, ts, fmt.Sprintf("d-%d", i)),
			metric.Rehydrate("cpu.load", -1.25, metric.Tags{{Key: "host", Value: "b"}}, ts+1000, ""),
			metric.Rehydrate("mem.used", 1e12, nil, ts-1000, ""),
		},
	}
}

func enqueue(t *testing.T, q Queue, batches ...metric.Batch) {
	t.Helper()
	for _, b := range batches {
		if err := q.Enqueue(ctxFor(t), b); err != nil {
			t.Fatalf("enqueue %s: %v", b.ID, err)
		}
	}
}

func fetch(t *testing.T, q Queue, max int, wait time.Duration) []flush.Delivery {
	t.Helper()
	ds, err := q.Fetch(ctxFor(t), max, wait)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if len(ds) > max {
		t.Fatalf("fetch max=%d returned %d entries", max, len(ds))
	}
	return ds
}

// fetchN fetches (and acks, if ack) until n entries arrived or 10 s passed.
func fetchN(t *testing.T, q Queue, n int, ack bool) []flush.Delivery {
	t.Helper()
	var out []flush.Delivery
	deadline := time.Now().Add(10 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		ds := fetch(t, q, n-len(out), time.Second)
		if ack && len(ds) > 0 {
			ackAll(t, q, ds)
		}
		out = append(out, ds...)
	}
	if len(out) != n {
		t.Fatalf("fetched %d entries, want %d", len(out), n)
	}
	return out
}

func ackAll(t *testing.T, q Queue, ds []flush.Delivery) {
	t.Helper()
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	if err := q.Ack(ctxFor(t), ids); err != nil {
		t.Fatalf("ack: %v", err)
	}
}

func expectEmpty(t *testing.T, q Queue, wait time.Duration) {
	t.Helper()
	if ds := fetch(t, q, 10, wait); len(ds) != 0 {
		t.Fatalf("want no entry, got %d (first %s, attempts %d)", len(ds), ds[0].Batch.ID, ds[0].Attempts)
	}
}

func expectBacklog(t *testing.T, q Queue, want int64) {
	t.Helper()
	got, err := q.Backlog(ctxFor(t))
	if err != nil {
		t.Fatalf("backlog: %v", err)
	}
	if got != want {
		t.Fatalf("backlog = %d, want %d", got, want)
	}
}

func testRoundTrip(t *testing.T, newQueue func(t *testing.T) Queue) {
	q := newQueue(t)
	expectBacklog(t, q, 0)
	want := Batch(1)
	enqueue(t, q, want)
	expectBacklog(t, q, 1)
	ds := fetch(t, q, 10, time.Second)
	if len(ds) != 1 {
		t.Fatalf("fetched %d entries, want 1", len(ds))
	}
	if ds[0].ID == "" || ds[0].Attempts != 1 {
		t.Fatalf("delivery id %q attempts %d, want an id and attempts 1", ds[0].ID, ds[0].Attempts)
	}
	if msg := Diff(want, ds[0].Batch); msg != "" {
		t.Fatal(msg)
	}
	ackAll(t, q, ds)
	expectBacklog(t, q, 0)
}

func testFetchMax(t *testing.T, newQueue func(t *testing.T) Queue) {
	q := newQueue(t)
	enqueue(t, q, Batch(1), Batch(2), Batch(3), Batch(4), Batch(5))
	if ds := fetch(t, q, 2, time.Second); len(ds) != 2 {
		t.Fatalf("fetch max=2 returned %d", len(ds))
	}
	fetchN(t, q, 3, true)
}

func testFIFO(t *testing.T, newQueue func(t *testing.T) Queue) {
	q := newQueue(t)
	const n = 30
	for i := range n {
		enqueue(t, q, Batch(i))
	}
	ds := fetchN(t, q, n, true)
	for i, d := range ds {
		if want := Batch(i).ID; d.Batch.ID != want {
			t.Fatalf("entry %d is %s, want %s", i, d.Batch.ID, want)
		}
	}
}

func testRedelivery(t *testing.T, newQueue func(t *testing.T) Queue) {
	q := newQueue(t)
	enqueue(t, q, Batch(7))
	first := fetchN(t, q, 1, false)[0]
	expectEmpty(t, q, 50*time.Millisecond) // leased: invisible
	time.Sleep(LeaseTimeout + 50*time.Millisecond)
	again := fetchN(t, q, 1, false)[0]
	if again.Batch.ID != first.Batch.ID || again.Attempts != 2 {
		t.Fatalf("redelivered %s attempts %d, want %s attempts 2", again.Batch.ID, again.Attempts, first.Batch.ID)
	}
	if msg := Diff(Batch(7), again.Batch); msg != "" {
		t.Fatal(msg)
	}
	ackAll(t, q, []flush.Delivery{again})
	expectBacklog(t, q, 0)
}

func testAckedNeverReturn(t *testing.T, newQueue func(t *testing.T) Queue) {
	q := newQueue(t)
	enqueue(t, q, Batch(1), Batch(2))
	fetchN(t, q, 2, true)
	time.Sleep(LeaseTimeout + 50*time.Millisecond)
	expectEmpty(t, q, LeaseTimeout)
	expectBacklog(t, q, 0)
}

func testTwoConsumers(t *testing.T, newQueue func(t *testing.T) Queue) {
	a, b := newQueue(t), newQueue(t)
	// While a holds the leases, b sees nothing.
	enqueue(t, a, Batch(1), Batch(2), Batch(3))
	held := fetchN(t, a, 3, false)
	expectEmpty(t, b, 100*time.Millisecond)
	ackAll(t, a, held)

	// Both consume concurrently: every entry goes to exactly one of them.
	const n = 60
	for i := range n {
		enqueue(t, b, Batch(100+i))
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for _, q := range []Queue{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := q.Fetch(ctxFor(t), 4, 100*time.Millisecond)
				if err != nil {
					t.Errorf("fetch: %v", err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.Batch.ID]++
				}
				mu.Unlock()
				ids := make([]string, len(ds))
				for i, d := range ds {
					ids[i] = d.ID
				}
				if err := q.Ack(ctxFor(t), ids); err != nil {
					t.Errorf("ack: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("consumers saw %d distinct batches, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("batch %s delivered %d times", id, c)
		}
	}
	expectBacklog(t, a, 0)
}

func testConcurrentEnqueue(t *testing.T, newQueue func(t *testing.T) Queue) {
	q := newQueue(t)
	const goroutines, each = 50, 4
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := q.Enqueue(ctxFor(t), Batch(g*each+i)); err != nil {
					t.Errorf("enqueue: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	expectBacklog(t, q, goroutines*each)
	ds := fetchN(t, q, goroutines*each, true)
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.Batch.ID
	}
	sort.Strings(ids)
	for i, id := range ids {
		if want := Batch(i).ID; id != want {
			t.Fatalf("sorted batch %d is %s, want %s (lost or duplicated)", i, id, want)
		}
	}
	expectEmpty(t, q, 50*time.Millisecond)
	expectBacklog(t, q, 0)
}

func testDeadLetter(t *testing.T, newQueue func(t *testing.T) Queue) {
	q := newQueue(t)
	enqueue(t, q, Batch(9), Batch(10))
	for attempt := 1; attempt <= MaxDeliveries; attempt++ {
		ds := fetchN(t, q, 2, false)
		for _, d := range ds {
			if d.Attempts != attempt {
				t.Fatalf("delivery of %s: attempts %d, want %d", d.Batch.ID, d.Attempts, attempt)
			}
		}
		if attempt == MaxDeliveries {
			ackAll(t, q, ds[1:]) // the last delivery of the second one succeeds
		}
		time.Sleep(LeaseTimeout + 50*time.Millisecond)
	}
	expectEmpty(t, q, 100*time.Millisecond)
	expectBacklog(t, q, 0)
	dead, err := q.DeadLetters(ctxFor(t))
	if err != nil {
		t.Fatalf("dead letters: %v", err)
	}
	if dead != 1 {
		t.Fatalf("dead letters = %d, want 1", dead)
	}
	expectStats(t, q, flush.QueueStats{DeadLetters: 1})
}

func testEmptyFetchWaits(t *testing.T, newQueue func(t *testing.T) Queue) {
	q := newQueue(t)
	const wait = 300 * time.Millisecond
	start := time.Now()
	ds, err := q.Fetch(ctxFor(t), 10, wait)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if len(ds) != 0 {
		t.Fatalf("fetched %d entries from an empty queue", len(ds))
	}
	if took < wait-20*time.Millisecond || took > wait+3*time.Second {
		t.Fatalf("empty fetch returned after %v, want about %v", took, wait)
	}
	// An entry enqueued while a fetch waits is returned by that fetch.
	go func() {
		time.Sleep(100 * time.Millisecond)
		enqueue(t, q, Batch(3))
	}()
	ds = fetch(t, q, 10, 5*time.Second)
	if len(ds) != 1 || ds[0].Batch.ID != Batch(3).ID {
		t.Fatalf("waiting fetch got %d entries, want batch-3", len(ds))
	}
}

func testFetchCancel(t *testing.T, newQueue func(t *testing.T) Queue) {
	q := newQueue(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	ds, err := q.Fetch(ctx, 10, 20*time.Second)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("cancelled fetch returned after %v", took)
	}
	if err == nil {
		t.Fatalf("cancelled fetch: no error (%d entries)", len(ds))
	}
	if ctx.Err() == nil {
		t.Fatal("fetch returned before the cancellation")
	}
}

func testEnqueueAfterClose(t *testing.T, newQueue func(t *testing.T) Queue) {
	q := newQueue(t)
	enqueue(t, q, Batch(1))
	if err := q.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := q.Enqueue(ctxFor(t), Batch(2)); err == nil {
		t.Fatal("enqueue after close: no error")
	}
}
