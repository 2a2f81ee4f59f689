package flush_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/usecase/flush"
)

// The live view hears of a chunk only once it committed, before the ack,
// and a failing publish neither fails the flush nor stops the ack.
func TestFlushPublishesCommittedBatchesBeforeAck(t *testing.T) {
	for _, publishErr := range []error{nil, errors.New("redis away")} {
		synctest.Test(t, func(t *testing.T) {
			f := newFixture(t, flush.Config{ChunkSamples: 5000, Linger: 50 * time.Millisecond})
			pub := NewMockPublisher(gomock.NewController(t))
			f.w.Live = pub
			d1, d2 := delivery("q1", 1, 3), delivery("q2", 2, 2)
			gomock.InOrder(
				f.src.EXPECT().Fetch(gomock.Any(), 1, time.Second).Return([]flush.Delivery{d1, d2}, nil),
				f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).Return(nil, nil),
				f.store.EXPECT().WriteBatches(gomock.Any(), sameBatches(batchesOf(d1, d2))).Return(flush.Written{1: {Stored: 3}, 2: {Stored: 2}}, nil),
				pub.EXPECT().Publish(gomock.Any(), sameBatches(batchesOf(d1, d2))).Return(publishErr),
				f.src.EXPECT().Ack(gomock.Any(), []string{"q1", "q2"}).Return(nil),
			)
			if n, err := f.w.FlushOnce(context.Background()); err != nil || n != 5 {
				t.Fatalf("FlushOnce = %d, %v; want 5, nil", n, err)
			}
		})
	}
}

// A chunk that never commits is never published: the live view shows
// only what a query would return.
func TestFlushDoesNotPublishUncommitted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFixture(t, flush.Config{ChunkSamples: 5000, Linger: 50 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
		f.w.Live = NewMockPublisher(gomock.NewController(t)) // no Publish expected
		d1 := delivery("q1", 1, 3)
		f.src.EXPECT().Fetch(gomock.Any(), 1, time.Second).Return([]flush.Delivery{d1}, nil)
		f.src.EXPECT().Fetch(gomock.Any(), gomock.Any(), gomock.Any()).Return(nil, nil)
		f.store.EXPECT().WriteBatches(gomock.Any(), gomock.Any()).Return(nil, errStore).AnyTimes()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := f.w.FlushOnce(ctx); !errors.Is(err, errStore) {
			t.Fatalf("FlushOnce error = %v; want the store's", err)
		}
	})
}
