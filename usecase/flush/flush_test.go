package flush_test

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/flush"
)

// Every test runs in a synctest bubble: time is fake, so retry delays are
// measured exactly and cost no wall-clock time.

type fixture struct {
	w     *flush.Worker
	src   *MockSource
	store *MockStore
}

func newFixture(t *testing.T, cfg flush.Config) *fixture {
	ctrl := gomock.NewController(t)
	f := &fixture{src: NewMockSource(ctrl), store: NewMockStore(ctrl)}
	f.w = flush.NewWorker(f.src, f.store, cfg, slog.New(slog.DiscardHandler))
	return f
}

// delivery returns a queue entry whose batch holds n samples.
func delivery(id string, tenant int64, n int) flush.Delivery {
	s := make([]metric.Sample, n)
	for i := range s {
		s[i] = metric.Rehydrate("m."+id, float64(i), metric.Tags{{Key: "i", Value: id}}, 1700000000000+int64(i), "")
	}
	return flush.Delivery{ID: id, Batch: metric.Batch{ID: "b-" + id, TenantID: tenant, Samples: s}}
}

func batchesOf(ds ...flush.Delivery) []metric.Batch {
	out := make([]metric.Batch, len(ds))
	for i, d := range ds {
		out[i] = d.Batch
	}
	return out
}

// sameBatches matches a []metric.Batch by batch id, tenant and sample count, in order.
func sameBatches(want []metric.Batch) gomock.Matcher {
	return gomock.Cond(func(got []metric.Batch) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i].ID != want[i].ID || got[i].TenantID != want[i].TenantID || len(got[i].Samples) != len(want[i].Samples) {
				return false
			}
		}
		return true
	})
}

var errStore = errors.New("db down")

func TestFlushOnceWritesAllThenAcksAllInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, flush.Config{ChunkSamples: 5000, Linger: 50 * time.Millisecond})
		d1, d2, d3 := delivery("q1", 1, 3), delivery("q2", 2, 1), delivery("q3", 1, 2)
		var flushed []flush.Written
		f.w.OnFlushed = func(w flush.Written, _ time.Duration) { flushed = append(flushed, w) }
		written := flush.Written{1: {Stored: 4, Repeated: 1}, 2: {Deduped: 1}}
		gomock.InOrder(
			// The first fetch takes one entry; later ones size on the average seen.
			f.src.EXPECT().Fetch(gomock.Any(), 1, time.Second).Return([]flush.Delivery{d1, d2}, nil),
			f.src.EXPECT().Fetch(gomock.Any(), 100, 50*time.Millisecond).Return([]flush.Delivery{d3}, nil),
			f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).Return(nil, nil),
			f.store.EXPECT().WriteBatches(gomock.Any(), sameBatches(batchesOf(d1, d2, d3))).Return(written, nil).Times(1),
			f.src.EXPECT().Ack(gomock.Any(), []string{"q1", "q2", "q3"}).Return(nil).Times(1),
		)
		n, err := f.w.FlushOnce(context.Background())
		if err != nil || n != 6 {
			t.Fatalf("FlushOnce = %d, %v; want 6, nil", n, err)
		}
		if len(flushed) != 1 || !reflect.DeepEqual(flushed[0], written) || flushed[0].Samples() != 6 {
			t.Errorf("OnFlushed calls = %v, want [%v]", flushed, written)
		}
	})
}

// Entries hold whole requests: a chunk must not grow to 100 entries × 1,000
// samples when ChunkSamples is 5,000.
func TestFlushOnceSizesFetchesOnEntrySize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, flush.Config{ChunkSamples: 5000, Linger: time.Second})
		big := func(id string) flush.Delivery { return delivery(id, 1, 1000) }
		gomock.InOrder(
			f.src.EXPECT().Fetch(gomock.Any(), 1, time.Second).Return([]flush.Delivery{big("a")}, nil),
			f.src.EXPECT().Fetch(gomock.Any(), 4, gomock.Any()).Return([]flush.Delivery{big("b"), big("c"), big("d"), big("e")}, nil),
			f.store.EXPECT().WriteBatches(gomock.Any(), gomock.Any()).Return(nil, nil),
			f.src.EXPECT().Ack(gomock.Any(), []string{"a", "b", "c", "d", "e"}).Return(nil),
		)
		if n, err := f.w.FlushOnce(context.Background()); err != nil || n != 5000 {
			t.Fatalf("FlushOnce = %d, %v; want 5000", n, err)
		}
	})
}

func TestFlushOnceStopsGatheringAtChunkSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, flush.Config{ChunkSamples: 5})
		d1, d2 := delivery("q1", 1, 3), delivery("q2", 1, 2)
		gomock.InOrder(
			// A budget smaller than 100 samples still fetches one entry.
			f.src.EXPECT().Fetch(gomock.Any(), 1, time.Second).Return([]flush.Delivery{d1}, nil),
			f.src.EXPECT().Fetch(gomock.Any(), 1, gomock.Any()).Return([]flush.Delivery{d2}, nil),
			// 5 samples gathered: no third Fetch.
			f.store.EXPECT().WriteBatches(gomock.Any(), sameBatches(batchesOf(d1, d2))).Return(nil, nil),
			f.src.EXPECT().Ack(gomock.Any(), []string{"q1", "q2"}).Return(nil),
		)
		if n, err := f.w.FlushOnce(context.Background()); err != nil || n != 5 {
			t.Fatalf("FlushOnce = %d, %v", n, err)
		}
	})
}

func TestFlushOnceStopsGatheringAfterLinger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, flush.Config{ChunkSamples: 5000, Linger: 50 * time.Millisecond})
		d1, d2 := delivery("q1", 1, 1), delivery("q2", 1, 1)
		gomock.InOrder(
			f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).Return([]flush.Delivery{d1}, nil),
			// The source is slow: this entry arrives after the linger deadline.
			f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(
				func(context.Context, int, time.Duration) ([]flush.Delivery, error) {
					time.Sleep(60 * time.Millisecond)
					return []flush.Delivery{d2}, nil
				}),
			f.store.EXPECT().WriteBatches(gomock.Any(), sameBatches(batchesOf(d1, d2))).Return(nil, nil),
			f.src.EXPECT().Ack(gomock.Any(), []string{"q1", "q2"}).Return(nil),
		)
		if n, err := f.w.FlushOnce(context.Background()); err != nil || n != 2 {
			t.Fatalf("FlushOnce = %d, %v", n, err)
		}
	})
}

func TestFlushOnceIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, flush.Config{})
		f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).Return(nil, nil).Times(1)
		// No WriteBatches, no Ack.
		f.w.OnFlushed = func(flush.Written, time.Duration) { t.Error("OnFlushed called with nothing written") }
		if n, err := f.w.FlushOnce(context.Background()); err != nil || n != 0 {
			t.Fatalf("FlushOnce = %d, %v; want 0, nil", n, err)
		}
	})
}

func TestFlushOnceFetchError(t *testing.T) {
	t.Run("nothing gathered: error, no write", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, flush.Config{})
			boom := errors.New("redis down")
			f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).Return(nil, boom)
			n, err := f.w.FlushOnce(context.Background())
			if !errors.Is(err, boom) || n != 0 {
				t.Fatalf("FlushOnce = %d, %v; want 0 and an error wrapping %v", n, err, boom)
			}
		})
	})
	t.Run("after some entries: writes what it has", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, flush.Config{})
			d1 := delivery("q1", 1, 2)
			gomock.InOrder(
				f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).Return([]flush.Delivery{d1}, nil),
				f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).Return(nil, errors.New("blip")),
				f.store.EXPECT().WriteBatches(gomock.Any(), sameBatches(batchesOf(d1))).Return(nil, nil),
				f.src.EXPECT().Ack(gomock.Any(), []string{"q1"}).Return(nil),
			)
			if n, err := f.w.FlushOnce(context.Background()); err != nil || n != 2 {
				t.Fatalf("FlushOnce = %d, %v", n, err)
			}
		})
	})
}

// expectOneDelivery makes the source hand out d once, then nothing.
func (f *fixture) expectOneDelivery(d flush.Delivery) *gomock.Call {
	first := f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).Return([]flush.Delivery{d}, nil)
	return f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).Return(nil, nil).After(first)
}

func TestFlushOnceRetriesStoreThenAcks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, flush.Config{MaxBackoff: time.Second})
		d := delivery("q1", 1, 4)
		var flushed int
		f.w.OnFlushed = func(w flush.Written, _ time.Duration) { flushed += w.Samples() }
		gomock.InOrder(
			f.expectOneDelivery(d),
			f.store.EXPECT().WriteBatches(gomock.Any(), sameBatches(batchesOf(d))).Return(nil, errStore).Times(3),
			f.store.EXPECT().WriteBatches(gomock.Any(), sameBatches(batchesOf(d))).Return(flush.Written{1: {Stored: 4}}, nil),
			// Ack only after the successful write (InOrder fails an earlier Ack).
			f.src.EXPECT().Ack(gomock.Any(), []string{"q1"}).Return(nil),
		)
		start := time.Now()
		n, err := f.w.FlushOnce(context.Background())
		if err != nil || n != 4 {
			t.Fatalf("FlushOnce = %d, %v", n, err)
		}
		if flushed != 4 {
			t.Errorf("OnFlushed saw %d samples, want 4 (once, after the commit)", flushed)
		}
		// Backoff doubles from 100ms: 100 + 200 + 400.
		if took := time.Since(start); took != 700*time.Millisecond {
			t.Errorf("retries took %v of (fake) time, want 700ms", took)
		}
	})
}

func TestFlushOnceBackoffIsCappedByMaxBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, flush.Config{MaxBackoff: 250 * time.Millisecond})
		d := delivery("q1", 1, 1)
		gomock.InOrder(
			f.expectOneDelivery(d),
			f.store.EXPECT().WriteBatches(gomock.Any(), gomock.Any()).Return(nil, errStore).Times(4),
			f.store.EXPECT().WriteBatches(gomock.Any(), gomock.Any()).Return(nil, nil),
			f.src.EXPECT().Ack(gomock.Any(), []string{"q1"}).Return(nil),
		)
		start := time.Now()
		if _, err := f.w.FlushOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		// 100 + 200 + 250 + 250.
		if took := time.Since(start); took != 800*time.Millisecond {
			t.Errorf("retries took %v of (fake) time, want 800ms", took)
		}
	})
}

// TestFlushOnceFirstRetryHonoursMaxBackoff: Config documents MaxBackoff as the
// cap of the retry delay, but the first delay is a fixed 100ms whatever the cap.
// BUG: fails until writeWithRetry starts with min(100ms, MaxBackoff).
func TestFlushOnceFirstRetryHonoursMaxBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxBackoff = 10 * time.Millisecond
		f := newFixture(t, flush.Config{MaxBackoff: maxBackoff})
		d := delivery("q1", 1, 1)
		gomock.InOrder(
			f.expectOneDelivery(d),
			f.store.EXPECT().WriteBatches(gomock.Any(), gomock.Any()).Return(nil, errStore).Times(2),
			f.store.EXPECT().WriteBatches(gomock.Any(), gomock.Any()).Return(nil, nil),
			f.src.EXPECT().Ack(gomock.Any(), []string{"q1"}).Return(nil),
		)
		start := time.Now()
		if _, err := f.w.FlushOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 2*maxBackoff {
			t.Errorf("two retries took %v with MaxBackoff=%v; no delay may exceed MaxBackoff", took, maxBackoff)
		}
	})
}

func TestFlushOnceStoreFailsUntilContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, flush.Config{MaxBackoff: 50 * time.Millisecond})
		d := delivery("q1", 1, 3)
		f.w.OnFlushed = func(flush.Written, time.Duration) { t.Error("OnFlushed called although nothing was committed") }
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		gomock.InOrder(
			f.expectOneDelivery(d),
			f.store.EXPECT().WriteBatches(gomock.Any(), gomock.Any()).Return(nil, errStore).MinTimes(2),
		)
		// No Ack expectation: the entry must stay leased and be redelivered.
		n, err := f.w.FlushOnce(ctx)
		if !errors.Is(err, errStore) {
			t.Fatalf("err = %v, want it to wrap the store error", err)
		}
		if n != 0 {
			t.Errorf("n = %d, want 0 (nothing committed)", n)
		}
		if !strings.Contains(err.Error(), context.DeadlineExceeded.Error()) {
			t.Errorf("err %q does not say why it gave up", err)
		}
	})
}

func TestFlushOnceAckErrorStillCountsSamples(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, flush.Config{})
		d1, d2 := delivery("q1", 1, 2), delivery("q2", 1, 5)
		boom := errors.New("ack lost")
		var flushed int
		f.w.OnFlushed = func(w flush.Written, _ time.Duration) { flushed += w.Samples() }
		gomock.InOrder(
			f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).Return([]flush.Delivery{d1, d2}, nil),
			f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).Return(nil, nil),
			f.store.EXPECT().WriteBatches(gomock.Any(), gomock.Any()).Return(flush.Written{1: {Stored: 7}}, nil).Times(1),
			f.src.EXPECT().Ack(gomock.Any(), []string{"q1", "q2"}).Return(boom).Times(1),
		)
		n, err := f.w.FlushOnce(context.Background())
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want it to wrap %v", err, boom)
		}
		if n != 7 || flushed != 7 {
			t.Errorf("n = %d, OnFlushed saw %d; want 7 (rows are committed)", n, flushed)
		}
	})
}

// blockingFetch behaves like a real empty queue: it waits up to wait or until ctx ends.
func blockingFetch(ctx context.Context, _ int, wait time.Duration) ([]flush.Delivery, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(wait):
		return nil, nil
	}
}

func TestRunFlushesUntilContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, flush.Config{})
		d := delivery("q1", 1, 2)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// Run gathers the next chunk while writing the current one, so the
		// fetches are ordered among themselves, and the write before its ack.
		gomock.InOrder(
			f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).Return([]flush.Delivery{d}, nil),
			f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).Return(nil, nil),
			f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(blockingFetch).MinTimes(1),
		)
		gomock.InOrder(
			f.store.EXPECT().WriteBatches(gomock.Any(), sameBatches(batchesOf(d))).Return(nil, nil),
			f.src.EXPECT().Ack(gomock.Any(), []string{"q1"}).Return(nil),
		)
		if err := f.w.Run(ctx); err != nil {
			t.Fatalf("Run = %v, want nil after ctx ends", err)
		}
	})
}

// TestRunBacksOffWhenFetchFails: a source that fails at once (Redis refusing
// connections) must not turn Run into a hot loop that spins a core and floods
// the log. BUG: Run retries FlushOnce immediately, so 50 failures take no time.
func TestRunBacksOffWhenFetchFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, flush.Config{MaxBackoff: time.Second})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		calls := 0
		f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(
			func(context.Context, int, time.Duration) ([]flush.Delivery, error) {
				calls++
				if calls == 50 {
					cancel() // bound the test whatever Run does
				}
				return nil, errors.New("connection refused")
			}).MinTimes(1)
		start := time.Now()
		if err := f.w.Run(ctx); err != nil {
			t.Fatalf("Run = %v", err)
		}
		if took := time.Since(start); calls >= 50 && took == 0 {
			t.Errorf("Run called a failing Fetch %d times back to back without waiting", calls)
		}
	})
}

// Run overlaps the queue with the database: the next chunk is fetched while
// the current one is still being written.
func TestRunGathersNextChunkWhileWriting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, flush.Config{Linger: time.Millisecond})
		d1, d2 := delivery("q1", 1, 2), delivery("q2", 1, 2)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		secondFetched := make(chan struct{})
		gomock.InOrder(
			f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).Return([]flush.Delivery{d1}, nil),
			f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).Return(nil, nil),
			f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(
				func(context.Context, int, time.Duration) ([]flush.Delivery, error) {
					close(secondFetched)
					return []flush.Delivery{d2}, nil
				}),
			f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).DoAndReturn(blockingFetch).AnyTimes(),
		)
		gomock.InOrder(
			f.store.EXPECT().WriteBatches(gomock.Any(), sameBatches(batchesOf(d1))).DoAndReturn(
				func(context.Context, []metric.Batch) (flush.Written, error) {
					select {
					case <-secondFetched:
						return nil, nil
					case <-time.After(time.Minute):
						return nil, errors.New("the next chunk was not fetched while this one was written")
					}
				}),
			f.src.EXPECT().Ack(gomock.Any(), []string{"q1"}).Return(nil),
			f.store.EXPECT().WriteBatches(gomock.Any(), sameBatches(batchesOf(d2))).DoAndReturn(
				func(context.Context, []metric.Batch) (flush.Written, error) { cancel(); return nil, nil }),
			f.src.EXPECT().Ack(gomock.Any(), []string{"q2"}).Return(nil),
		)
		if err := f.w.Run(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// AckDelay (crash tests) pauses after the commit and before the ack.
func TestAckDelayPausesBetweenCommitAndAck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, flush.Config{AckDelay: 5 * time.Second})
		d := delivery("q1", 1, 2)
		var committed time.Time
		gomock.InOrder(
			f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).Return([]flush.Delivery{d}, nil),
			f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).Return(nil, nil),
			f.store.EXPECT().WriteBatches(gomock.Any(), gomock.Any()).DoAndReturn(func(context.Context, []metric.Batch) (flush.Written, error) {
				committed = time.Now()
				return nil, nil
			}),
			f.src.EXPECT().Ack(gomock.Any(), []string{"q1"}).DoAndReturn(func(context.Context, []string) error {
				if waited := time.Since(committed); waited != 5*time.Second {
					t.Errorf("acked %s after commit, want 5s", waited)
				}
				return nil
			}),
		)
		if _, err := f.w.FlushOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// A stalled database (SIGSTOP) must not hang the worker: each write has a
// deadline, after which it is retried.
func TestFlushOnceStalledWriteTimesOutAndRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, flush.Config{WriteTimeout: 10 * time.Second, MaxBackoff: time.Second})
		d := delivery("q1", 1, 2)
		start := time.Now()
		gomock.InOrder(
			f.expectOneDelivery(d),
			f.store.EXPECT().WriteBatches(gomock.Any(), gomock.Any()).DoAndReturn(func(ctx context.Context, _ []metric.Batch) (flush.Written, error) {
				<-ctx.Done() // the database never answers
				return nil, ctx.Err()
			}),
			f.store.EXPECT().WriteBatches(gomock.Any(), gomock.Any()).Return(flush.Written{1: {Stored: 2}}, nil),
			f.src.EXPECT().Ack(gomock.Any(), []string{"q1"}).Return(nil),
		)
		if n, err := f.w.FlushOnce(context.Background()); err != nil || n != 2 {
			t.Fatalf("FlushOnce = %d, %v", n, err)
		}
		if took := time.Since(start); took < 10*time.Second || took > 11*time.Second {
			t.Errorf("took %s, want the 10 s deadline and one short retry", took)
		}
	})
}
