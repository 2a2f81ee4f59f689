package sqlitequeue_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/queue/queuetest"
	"github.com/pulsemetrics/pulse/adapter/queue/sqlitequeue"
	"github.com/pulsemetrics/pulse/domain/metric"
)

func TestConcurrentEnqueuesShareCommits(t *testing.T) {
	q := open(t, filepath.Join(t.TempDir(), "queue.db"))
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := q.Enqueue(context.Background(), queuetest.Batch(i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if c := q.Commits(); c >= n/2 {
		t.Fatalf("%d enqueues took %d commits; want them grouped", n, c)
	}
	if b, err := q.Backlog(context.Background()); err != nil || b != n {
		t.Fatalf("backlog %d, %v; want %d", b, err, n)
	}
}

func TestCorruptPayloadIsDeadLettered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queue.db")
	q := open(t, path)
	if err := q.Enqueue(context.Background(), queuetest.Batch(1)); err != nil {
		t.Fatal(err)
	}
	if err := q.CorruptAll(); err != nil {
		t.Fatal(err)
	}
	ds, err := q.Fetch(context.Background(), 10, 50*time.Millisecond)
	if err != nil || len(ds) != 0 {
		t.Fatalf("fetch of a corrupt entry: %d entries, %v; want none", len(ds), err)
	}
	if n, _ := q.DeadLetters(context.Background()); n != 1 {
		t.Fatalf("dead letters = %d, want 1", n)
	}
}

// An undecodable entry is an alarm: an ERROR naming the entry and the
// decode error, the Unreadable count, and its payload kept in dead_entries.
func TestUnreadableEntryIsLoggedAndCounted(t *testing.T) {
	var logs bytes.Buffer
	opts := testOptions()
	opts.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	q, err := sqlitequeue.Open(filepath.Join(t.TempDir(), "queue.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	ctx := context.Background()
	if err := q.EnqueuePayload(ctx, []byte{1, 0, 0, 0, 0, 100}); err != nil { // 100 samples in 0 bytes
		t.Fatal(err)
	}
	if ds, err := q.Fetch(ctx, 10, 50*time.Millisecond); err != nil || len(ds) != 0 {
		t.Fatalf("fetch: %d entries, %v; want none", len(ds), err)
	}
	found := false
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "queue entry unreadable" {
			found = true
			if rec["level"] != "ERROR" || rec["id"] != float64(1) || !strings.Contains(fmt.Sprint(rec["err"]), "sample count 100") {
				t.Fatalf("unreadable entry logged as %v; want level ERROR, id 1 and the decode error", rec)
			}
		}
		if rec["msg"] == "queue entry dead-lettered" && !strings.Contains(fmt.Sprint(rec["reason"]), "unreadable") {
			t.Fatalf("dead-letter report %v does not say why", rec)
		}
	}
	if !found {
		t.Fatalf("no \"queue entry unreadable\" in the log:\n%s", logs.String())
	}
	st, err := q.Stats(ctx)
	if err != nil || st.Unreadable != 1 || st.DeadLetters != 1 || st.Backlog() != 0 {
		t.Fatalf("stats %+v, %v; want 1 unreadable, 1 dead letter, nothing queued", st, err)
	}
}

// A queue file written before the stats indexes existed opens (they are
// added) and its entries are served and counted.
func TestOpensAFileWithoutTheIndexes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queue.db")
	q := open(t, path)
	ctx := context.Background()
	if err := q.Enqueue(ctx, queuetest.Batch(1)); err != nil {
		t.Fatal(err)
	}
	if err := q.DropIndexes(); err != nil {
		t.Fatal(err)
	}
	_ = q.Close()
	q = open(t, path)
	st, err := q.Stats(ctx)
	if err != nil || st.Waiting != 1 {
		t.Fatalf("stats of the old file: %+v, %v; want 1 waiting", st, err)
	}
	if ds, err := q.Fetch(ctx, 10, time.Second); err != nil || len(ds) != 1 || ds[0].Batch.ID != queuetest.Batch(1).ID {
		t.Fatalf("fetch from the old file: %d entries, %v", len(ds), err)
	}
}

func benchBatch(n int) metric.Batch {
	s := make([]metric.Sample, n)
	base := time.Now().UnixMilli()
	for i := range s {
		s[i] = metric.Rehydrate("http.requests", float64(i), metric.Tags{{Key: "host", Value: fmt.Sprintf("web-%d", i%8)}, {Key: "route", Value: "/api/metrics"}}, base+int64(i), "")
	}
	return metric.Batch{ID: "bench", TenantID: 1, AcceptedAt: time.Now(), Samples: s}
}

// BenchmarkEnqueue1000 enqueues 1,000-sample batches from 64 goroutines per
// CPU, as concurrent ingest requests would.
func BenchmarkEnqueue1000(b *testing.B) {
	q, err := sqlitequeue.Open(filepath.Join(b.TempDir(), "queue.db"), sqlitequeue.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	batch := benchBatch(1000)
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := q.Enqueue(context.Background(), batch); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "samples/s")
	b.ReportMetric(float64(b.N)/float64(max(q.Commits(), 1)), "batches/commit")
}

// BenchmarkEnqueue1000Serial is one caller at a time: one fsync per batch.
func BenchmarkEnqueue1000Serial(b *testing.B) {
	q, err := sqlitequeue.Open(filepath.Join(b.TempDir(), "queue.db"), sqlitequeue.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	batch := benchBatch(1000)
	for b.Loop() {
		if err := q.Enqueue(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*1000/b.Elapsed().Seconds(), "samples/s")
}
