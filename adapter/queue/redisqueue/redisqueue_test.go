package redisqueue_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pulsemetrics/pulse/adapter/queue/queuetest"
	"github.com/pulsemetrics/pulse/adapter/queue/redisqueue"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

func TestMaxLenIsBackpressureNotLoss(t *testing.T) {
	client, prefix := testservice.Redis(t)
	q, err := redisqueue.New(client, redisqueue.Options{Stream: prefix + "capped", MaxLen: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 2 {
		if err := q.Enqueue(ctx, queuetest.Batch(i)); err != nil {
			t.Fatal(err)
		}
	}
	err = q.Enqueue(ctx, queuetest.Batch(2))
	if !errors.Is(err, ingest.ErrBackpressure) {
		t.Fatalf("enqueue past MaxLen: %v, want ingest.ErrBackpressure", err)
	}
	ds, err := q.Fetch(ctx, 10, time.Second)
	if err != nil || len(ds) != 2 || ds[0].Batch.ID != queuetest.Batch(0).ID {
		t.Fatalf("fetch: %d entries, %v; want the first two, untrimmed", len(ds), err)
	}
	if err := q.Ack(ctx, []string{ds[0].ID}); err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(ctx, queuetest.Batch(2)); err != nil {
		t.Fatalf("enqueue after an ack freed room: %v", err)
	}
}

func TestNewRequiresStream(t *testing.T) {
	client, _ := testservice.Redis(t)
	if _, err := redisqueue.New(client, redisqueue.Options{}); err == nil {
		t.Fatal("New without Stream: no error")
	}
}

func TestCloseLeavesClientOpen(t *testing.T) {
	client, prefix := testservice.Redis(t)
	q, err := redisqueue.New(client, redisqueue.Options{Stream: prefix + "s"})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = q.Close()
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("client after queue Close: %v", err)
	}
}

func TestUnreadableEntryIsDeadLettered(t *testing.T) {
	client, prefix := testservice.Redis(t)
	stream := prefix + "garbage"
	var logs bytes.Buffer
	q, err := redisqueue.New(client, redisqueue.Options{Stream: stream, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := client.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"b", "\xff\x00"}}).Err(); err != nil {
		t.Fatal(err)
	}
	ds, err := q.Fetch(ctx, 10, 100*time.Millisecond)
	if err != nil || len(ds) != 0 {
		t.Fatalf("fetch of an unreadable entry: %d entries, %v; want none", len(ds), err)
	}
	if n, err := q.DeadLetters(ctx); err != nil || n != 1 {
		t.Fatalf("dead letters = %d, %v; want 1", n, err)
	}
	if n, err := q.Backlog(ctx); err != nil || n != 0 {
		t.Fatalf("backlog = %d, %v; want 0", n, err)
	}
	// The alarm: an ERROR naming the entry and the decode error, and the count.
	var rec map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r["msg"] == "queue entry unreadable" {
			rec = r
		}
	}
	if rec == nil || rec["level"] != "ERROR" || !strings.Contains(fmt.Sprint(rec["id"]), "-") ||
		!strings.Contains(fmt.Sprint(rec["err"]), "unsupported version 255") {
		t.Fatalf("unreadable entry logged as %v; want level ERROR, the entry id and the decode error:\n%s", rec, logs.String())
	}
	if st, err := q.Stats(ctx); err != nil || st.Unreadable != 1 || st.DeadLetters != 1 {
		t.Fatalf("stats %+v, %v; want 1 unreadable and 1 dead letter", st, err)
	}
	dead, err := client.XRange(ctx, stream+":dead", "-", "+").Result()
	if err != nil || len(dead) != 1 || dead[0].Values["b"] != "\xff\x00" || !strings.Contains(fmt.Sprint(dead[0].Values["reason"]), "unreadable") {
		t.Fatalf("dead stream %+v, %v; want the payload kept with the reason", dead, err)
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

// BenchmarkEnqueue1000 XADDs 1,000-sample batches from 16 goroutines per CPU.
func BenchmarkEnqueue1000(b *testing.B) {
	client, prefix := testservice.Redis(b)
	q, err := redisqueue.New(client, redisqueue.Options{Stream: prefix + "bench"})
	if err != nil {
		b.Fatal(err)
	}
	batch := benchBatch(1000)
	b.SetParallelism(16)
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
}

// A consumer that closes with nothing pending leaves the group; one with
// pending entries stays so that they can still be claimed.
func TestCloseRemovesIdleConsumerOnly(t *testing.T) {
	client, prefix := testservice.Redis(t)
	ctx := context.Background()
	stream := prefix + "consumers"
	idle, err := redisqueue.New(client, redisqueue.Options{Stream: stream, Consumer: "idle"})
	if err != nil {
		t.Fatal(err)
	}
	busy, err := redisqueue.New(client, redisqueue.Options{Stream: stream, Consumer: "busy"})
	if err != nil {
		t.Fatal(err)
	}
	if err := busy.Enqueue(ctx, queuetest.Batch(1)); err != nil {
		t.Fatal(err)
	}
	if got, err := busy.Fetch(ctx, 1, time.Second); err != nil || len(got) != 1 {
		t.Fatalf("fetch: %v %v", got, err)
	}
	if _, err := idle.Fetch(ctx, 1, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	_ = idle.Close()
	_ = busy.Close()
	consumers, err := client.XInfoConsumers(ctx, stream, "pulse-workers").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(consumers) != 1 || consumers[0].Name != "busy" || consumers[0].Pending != 1 {
		t.Fatalf("consumers after Close = %+v; want only busy with 1 pending", consumers)
	}
}

func consumerNames(t *testing.T, client *redis.Client, stream string) map[string]int64 {
	t.Helper()
	cs, err := client.XInfoConsumers(context.Background(), stream, "pulse-workers").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]int64, len(cs))
	for _, c := range cs {
		out[c.Name] = c.Pending
	}
	return out
}

// A worker that fetched and died (no ack, no Close) stays in the group
// until another one has claimed its entries; then, idle past
// DeadConsumerIdle with nothing pending, it is removed by the others'
// fetches. Nothing it held is lost.
func TestDeadConsumerIsRemovedOnceItsEntriesAreClaimed(t *testing.T) {
	client, prefix := testservice.Redis(t)
	ctx := context.Background()
	stream := prefix + "dead-consumer"
	opts := func(name string) redisqueue.Options {
		return redisqueue.Options{Stream: stream, Consumer: name, LeaseTimeout: queuetest.LeaseTimeout}
	}
	dead, err := redisqueue.New(client, opts("dead"))
	if err != nil {
		t.Fatal(err)
	}
	alive, err := redisqueue.New(client, opts("alive"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = alive.Close() })
	if err := dead.Enqueue(ctx, queuetest.Batch(1)); err != nil {
		t.Fatal(err)
	}
	if ds, err := dead.Fetch(ctx, 1, time.Second); err != nil || len(ds) != 1 {
		t.Fatalf("fetch: %d entries, %v", len(ds), err)
	}
	// dead now "dies": it never acks and never closes.
	if got := consumerNames(t, client, stream); got["dead"] != 1 {
		t.Fatalf("consumers %v; want dead holding 1 entry", got)
	}

	claimed := false
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ds, err := alive.Fetch(ctx, 10, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Batch.ID != queuetest.Batch(1).ID || d.Attempts != 2 {
				t.Fatalf("alive got %s at attempt %d, want batch-00001 at attempt 2", d.Batch.ID, d.Attempts)
			}
			if err := alive.Ack(ctx, []string{d.ID}); err != nil {
				t.Fatal(err)
			}
			claimed = true
		}
		if _, present := consumerNames(t, client, stream)["dead"]; !present {
			break
		}
		if !claimed {
			if got := consumerNames(t, client, stream); got["dead"] != 1 {
				t.Fatalf("consumers %v before the claim; want dead still holding its entry", got)
			}
		}
	}
	got := consumerNames(t, client, stream)
	if !claimed {
		t.Fatal("alive never claimed the dead consumer's entry")
	}
	if _, present := got["dead"]; present {
		t.Fatalf("consumers %v: the dead consumer is still in the group", got)
	}
	if _, present := got["alive"]; !present {
		t.Fatalf("consumers %v: the sweeping consumer removed itself", got)
	}
	if st, err := alive.Stats(ctx); err != nil || st.Backlog() != 0 || st.DeadLetters != 0 {
		t.Fatalf("stats %+v, %v; want nothing queued nor dead", st, err)
	}
}

// The sweep removes only consumers with nothing pending that have been
// idle long enough, never the caller: one holding an entry stays whatever
// its idle time (removing it would drop the entry from the group's PEL).
func TestSweepKeepsHoldersPollersAndItself(t *testing.T) {
	client, prefix := testservice.Redis(t)
	ctx := context.Background()
	stream := prefix + "sweep"
	const idle = 300 * time.Millisecond
	open := func(name string) *redisqueue.Queue {
		q, err := redisqueue.New(client, redisqueue.Options{Stream: stream, Consumer: name, LeaseTimeout: time.Minute, DeadConsumerIdle: idle})
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	holder, empty, poller, sweeper := open("holder"), open("empty"), open("poller"), open("sweeper")
	// A consumer exists once it was served an entry: each one takes one,
	// the holder keeps it, the others acknowledge theirs.
	take := func(q *redisqueue.Queue, ack bool) {
		t.Helper()
		if err := q.Enqueue(ctx, queuetest.Batch(1)); err != nil {
			t.Fatal(err)
		}
		ds, err := q.Fetch(ctx, 1, time.Second)
		if err != nil || len(ds) != 1 {
			t.Fatalf("fetch: %d entries, %v", len(ds), err)
		}
		if ack {
			if err := q.Ack(ctx, []string{ds[0].ID}); err != nil {
				t.Fatal(err)
			}
		}
	}
	take(holder, false)
	for _, q := range []*redisqueue.Queue{empty, poller, sweeper} {
		take(q, true)
	}
	time.Sleep(idle + 100*time.Millisecond)
	take(poller, true) // still at work
	removed, err := sweeper.SweepConsumers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != "empty" {
		t.Fatalf("sweep removed %v, want only [empty]", removed)
	}
	got := consumerNames(t, client, stream)
	if len(got) != 3 || got["holder"] != 1 {
		t.Fatalf("consumers %v; want holder (1 pending), poller and sweeper", got)
	}
	if _, ok := got["sweeper"]; !ok {
		t.Fatalf("consumers %v: the sweeper removed itself", got)
	}
}
