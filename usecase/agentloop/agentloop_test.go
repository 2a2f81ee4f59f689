package agentloop_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/agentmetric"
	"github.com/pulsemetrics/pulse/usecase/agentloop"
)

// counter is a Collector whose batches carry their number.
type counter struct{ n atomic.Int64 }

func (c *counter) Collect(context.Context) ([]agentmetric.Sample, error) {
	return []agentmetric.Sample{{Name: "test.n", Value: float64(c.n.Add(1))}}, nil
}

// encode is the batch number as the payload.
func encode(b agentmetric.Batch) ([]byte, error) {
	for _, s := range b.Samples {
		if s.Name == "test.n" {
			return []byte(strconv.Itoa(int(s.Value))), nil
		}
	}
	return nil, errors.New("no test.n")
}

// broker is a Publisher that can be taken down and that records what it
// acknowledged, with the time.
type broker struct {
	mu     sync.Mutex
	up     bool
	failN  int // refuse the next n publishes even when up
	got    []int
	gotAt  []time.Time
	topics map[string]int
}

func (b *broker) Connected() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.up }

func (b *broker) Publish(_ context.Context, topic string, p []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.up {
		return errors.New("not connected")
	}
	if b.failN > 0 {
		b.failN--
		return errors.New("no PUBACK")
	}
	n, _ := strconv.Atoi(string(p))
	b.got = append(b.got, n)
	b.gotAt = append(b.gotAt, time.Now())
	if b.topics == nil {
		b.topics = map[string]int{}
	}
	b.topics[topic]++
	return nil
}

func (b *broker) set(up bool) { b.mu.Lock(); b.up = up; b.mu.Unlock() }

func (b *broker) received() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.got...)
}

// memSpool is an in-memory Spool.
type memSpool struct {
	mu      sync.Mutex
	seq     uint64
	items   []agentloop.Spooled
	appends int
}

func (s *memSpool) Append(at time.Time, p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.appends++
	s.items = append(s.items, agentloop.Spooled{Seq: s.seq, At: at, Payload: p})
	return 0, nil
}

func (s *memSpool) Oldest() (agentloop.Spooled, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.items) == 0 {
		return agentloop.Spooled{}, false, nil
	}
	return s.items[0], true, nil
}

func (s *memSpool) Remove(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, it := range s.items {
		if it.Seq == seq {
			s.items = append(s.items[:i], s.items[i+1:]...)
		}
	}
	return nil
}

func (s *memSpool) Stats() agentloop.SpoolStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return agentloop.SpoolStats{Batches: len(s.items)}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func start(t *testing.T, cfg agentloop.Config, b *broker, sp *memSpool) *agentloop.Service {
	t.Helper()
	svc := agentloop.New(cfg, &counter{}, b, sp, encode, nil, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return svc
}

func TestLiveWhileConnected(t *testing.T) {
	b, sp := &broker{up: true}, &memSpool{}
	start(t, agentloop.Config{Topic: "metrics/t/system/a", Interval: 10 * time.Millisecond}, b, sp)
	waitFor(t, "5 batches", func() bool { return len(b.received()) >= 5 })
	if sp.appends != 0 {
		t.Fatalf("%d batches spooled while the broker acknowledged everything", sp.appends)
	}
	if b.topics["metrics/t/system/a"] == 0 {
		t.Fatalf("published to %v", b.topics)
	}
}

// TestOutageThenDrainInOrder: batches of an outage are spooled, then sent
// oldest first, at no more than DrainRate per second, before any newer
// batch; nothing is lost or sent twice.
func TestOutageThenDrainInOrder(t *testing.T) {
	b, sp := &broker{up: true}, &memSpool{}
	svc := start(t, agentloop.Config{Topic: "x", Interval: 20 * time.Millisecond, DrainRate: 100, RetryEvery: 10 * time.Millisecond}, b, sp)
	waitFor(t, "live batches", func() bool { return len(b.received()) >= 3 })
	b.set(false)
	waitFor(t, "20 spooled batches", func() bool { return sp.Stats().Batches >= 20 })
	b.mu.Lock()
	b.up, b.failN = true, 2 // back, but the first two sends get no PUBACK
	drainFrom := len(b.got)
	b.mu.Unlock()
	waitFor(t, "the spool drained", func() bool { return sp.Stats().Batches == 0 && len(b.received()) > drainFrom+25 })
	got := b.received()
	for i := range got {
		if got[i] != i+1 {
			t.Fatalf("received %v: batch %d at position %d (lost, duplicated or out of order)", got, got[i], i)
		}
	}
	// The drain is paced: 20 batches at ≤ 100/s take ≥ ~190 ms.
	b.mu.Lock()
	took := b.gotAt[drainFrom+19].Sub(b.gotAt[drainFrom])
	b.mu.Unlock()
	if took < 170*time.Millisecond {
		t.Fatalf("20 spooled batches sent in %s: the drain rate bound (100/s) is not applied", took)
	}
	if svc.Counters.PublishErrors.Load() < 2 {
		t.Fatalf("publish errors = %d, want the two refused sends counted", svc.Counters.PublishErrors.Load())
	}
}

func TestOnceEncodesTaggedBatch(t *testing.T) {
	svc := agentloop.New(agentloop.Config{Tags: map[string]string{"host": "h", "agent_id": "a"}}, &counter{}, &broker{}, &memSpool{}, func(b agentmetric.Batch) ([]byte, error) {
		return fmt.Appendf(nil, "%d samples, %s", len(b.Samples), b.Samples[0].Tags["host"]), nil
	}, func() time.Time { return time.UnixMilli(1_800_000_000_123) }, nil)
	b, p, err := svc.Once(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if string(p) != "4 samples, h" || b.At.UnixMilli() != 1_800_000_000_123 {
		t.Fatalf("Once = %q at %v; want the test sample and the 3 spool figures, tagged", p, b.At)
	}
	for _, s := range b.Samples {
		if s.Tags["agent_id"] != "a" {
			t.Fatalf("%s lacks agent_id: %v", s.Name, s.Tags)
		}
	}
}
