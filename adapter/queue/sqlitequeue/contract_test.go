package sqlitequeue_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/queue/queuetest"
	"github.com/pulsemetrics/pulse/adapter/queue/sqlitequeue"
)

func testOptions() sqlitequeue.Options {
	return sqlitequeue.Options{LeaseTimeout: queuetest.LeaseTimeout, MaxAttempts: queuetest.MaxDeliveries}
}

func open(t *testing.T, path string) *sqlitequeue.Queue {
	t.Helper()
	q, err := sqlitequeue.Open(path, testOptions())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func TestContract(t *testing.T) {
	dir := t.TempDir()
	queuetest.Run(t, func(t *testing.T) queuetest.Queue {
		return open(t, filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".db"))
	})
}

func TestEntrySurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "queue.db")
	ctx := context.Background()
	q := open(t, path)
	if err := q.Enqueue(ctx, queuetest.Batch(1)); err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(ctx, queuetest.Batch(2)); err != nil {
		t.Fatal(err)
	}
	// Lease the first one, then "crash" (close without acking).
	if ds, err := q.Fetch(ctx, 1, time.Second); err != nil || len(ds) != 1 {
		t.Fatalf("fetch: %d entries, %v", len(ds), err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}

	q = open(t, path)
	if n, err := q.Backlog(ctx); err != nil || n != 2 {
		t.Fatalf("backlog after reopen = %d, %v; want 2", n, err)
	}
	ds, err := q.Fetch(ctx, 10, time.Second)
	if err != nil || len(ds) != 1 || ds[0].Batch.ID != queuetest.Batch(2).ID {
		t.Fatalf("fetch after reopen: %d entries, %v; want the unleased batch-00002", len(ds), err)
	}
	time.Sleep(queuetest.LeaseTimeout + 50*time.Millisecond)
	ds, err = q.Fetch(ctx, 10, time.Second)
	if err != nil || len(ds) != 2 || ds[0].Batch.ID != queuetest.Batch(1).ID || ds[0].Attempts != 2 {
		t.Fatalf("fetch after lease: %+v, %v; want batch-00001 at attempt 2 first", ds, err)
	}
}

func TestUsesWALAndFullSync(t *testing.T) {
	q := open(t, filepath.Join(t.TempDir(), "queue.db"))
	mode, sync, err := q.Pragmas()
	if err != nil || mode != "wal" || sync != 2 {
		t.Fatalf("journal_mode=%q synchronous=%d (%v); want wal and 2 (FULL)", mode, sync, err)
	}
}
