package redisqueue_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pulsemetrics/pulse/adapter/queuetest"
	"github.com/pulsemetrics/pulse/adapter/redisqueue"
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
	q, err := redisqueue.New(client, redisqueue.Options{Stream: stream})
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
