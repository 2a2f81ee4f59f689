package queuetest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/queue/batchcodec"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/flush"
)

func stats(t *testing.T, q Queue) flush.QueueStats {
	t.Helper()
	s, err := q.Stats(ctxFor(t))
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	if s.Waiting < 0 || s.Pending < 0 || s.DeadLetters < 0 || s.Unreadable < 0 || s.OldestAge < 0 {
		t.Fatalf("stats %+v: a negative figure", s)
	}
	if s.Backlog() == 0 && s.OldestAge != 0 {
		t.Fatalf("stats %+v: an oldest age without entries", s)
	}
	return s
}

// expectStats checks every count of want; OldestAge only for being 0 with
// an empty backlog and under a minute otherwise.
func expectStats(t *testing.T, q Queue, want flush.QueueStats) flush.QueueStats {
	t.Helper()
	got := stats(t, q)
	if got.Waiting != want.Waiting || got.Pending != want.Pending || got.DeadLetters != want.DeadLetters || got.Unreadable != want.Unreadable {
		t.Fatalf("stats = %+v, want %+v", got, want)
	}
	if got.Backlog() == 0 && got.OldestAge != 0 || got.OldestAge > time.Minute {
		t.Fatalf("stats = %+v: oldest age %v with a backlog of %d", got, got.OldestAge, got.Backlog())
	}
	if b, err := q.Backlog(ctxFor(t)); err != nil || b != got.Backlog() {
		t.Fatalf("backlog %d (%v) disagrees with stats %+v", b, err, got)
	}
	return got
}

// The batch: 100 samples of one series 10 ms apart. It encoded to
// 10 bytes a sample, which the decoder refused: the worker dead-lettered
// it after the client got 202.
func testDenseBatch(t *testing.T, newQueue func(t *testing.T) Queue) {
	q := newQueue(t)
	want := Dense(GenNow)
	enqueue(t, q, want)
	ds := fetch(t, q, 10, time.Second)
	if len(ds) != 1 {
		t.Fatalf("fetched %d entries, want the dense batch (stats %+v)", len(ds), stats(t, q))
	}
	if msg := Diff(want, ds[0].Batch); msg != "" {
		t.Fatal(msg)
	}
	ackAll(t, q, ds)
	expectStats(t, q, flush.QueueStats{})
}

// Every shape and a few hundred generated batches (whose samples all pass
// validation) come out of the queue equal to what went in, in order.
func testGeneratedBatches(t *testing.T, newQueue func(t *testing.T) Queue) {
	q := newQueue(t)
	var want []metric.Batch
	for _, sh := range Shapes(GenNow) {
		want = append(want, sh.Batch)
	}
	r := rand.New(rand.NewPCG(21, 2))
	for range 200 {
		want = append(want, GenBatch(r, GenNow))
	}
	enqueue(t, q, want...)
	got := fetchN(t, q, len(want), true)
	for i := range want {
		if msg := Diff(want[i], got[i].Batch); msg != "" {
			t.Fatalf("batch %d of %d: %s", i, len(want), msg)
		}
	}
	expectStats(t, q, flush.QueueStats{})
}

func testStats(t *testing.T, newQueue func(t *testing.T) Queue) {
	q := newQueue(t)
	expectStats(t, q, flush.QueueStats{})
	enqueue(t, q, Batch(1), Batch(2), Batch(3))
	expectStats(t, q, flush.QueueStats{Waiting: 3})

	time.Sleep(100 * time.Millisecond)
	first := stats(t, q)
	if first.OldestAge < 90*time.Millisecond {
		t.Fatalf("oldest age %v, want at least the 100 ms slept since the enqueue", first.OldestAge)
	}
	time.Sleep(50 * time.Millisecond)
	if again := stats(t, q); again.OldestAge <= first.OldestAge {
		t.Fatalf("oldest age went from %v to %v in 50 ms: it does not grow", first.OldestAge, again.OldestAge)
	}

	ds := fetch(t, q, 2, time.Second)
	if len(ds) != 2 {
		t.Fatalf("fetched %d entries, want 2", len(ds))
	}
	expectStats(t, q, flush.QueueStats{Waiting: 1, Pending: 2})
	ackAll(t, q, ds[:1])
	expectStats(t, q, flush.QueueStats{Waiting: 1, Pending: 1})

	// An entry whose lease expired is still pending (it was delivered).
	time.Sleep(LeaseTimeout + 50*time.Millisecond)
	expectStats(t, q, flush.QueueStats{Waiting: 1, Pending: 1})

	fetchN(t, q, 2, true)
	expectStats(t, q, flush.QueueStats{})
}

// An entry no worker can decode is an alarm: it is counted, moved to the
// dead-letter store with its payload kept as evidence, and never blocks
// the entries behind it.
func testUnreadable(t *testing.T, newQueue func(t *testing.T) Queue) {
	q := newQueue(t)
	bad := [][]byte{
		{0xff, 0x00},                           // an unknown version
		batchcodec.Encode(Dense(GenNow))[:200], // cut short
	}
	for _, p := range bad {
		if err := q.EnqueuePayload(ctxFor(t), p); err != nil {
			t.Fatalf("enqueue payload: %v", err)
		}
	}
	enqueue(t, q, Batch(5))
	ds := fetchN(t, q, 1, false)
	if ds[0].Batch.ID != Batch(5).ID {
		t.Fatalf("fetched %s, want the readable batch-00005", ds[0].Batch.ID)
	}
	expectStats(t, q, flush.QueueStats{Pending: 1, DeadLetters: 2, Unreadable: 2})
	ackAll(t, q, ds)
	expectStats(t, q, flush.QueueStats{DeadLetters: 2, Unreadable: 2})

	dead, err := q.DeadPayloads(ctxFor(t))
	if err != nil {
		t.Fatalf("dead payloads: %v", err)
	}
	if len(dead) != len(bad) {
		t.Fatalf("%d dead payloads, want %d", len(dead), len(bad))
	}
	for i := range bad {
		if !bytes.Equal(dead[i], bad[i]) {
			t.Fatalf("dead payload %d = %s, want the entry's payload %s", i, short(dead[i]), short(bad[i]))
		}
	}
}

func short(b []byte) string {
	if len(b) > 16 {
		return fmt.Sprintf("%x… (%d bytes)", b[:16], len(b))
	}
	return fmt.Sprintf("%x", b)
}
