package redislive_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/live/livetest"
	"github.com/pulsemetrics/pulse/adapter/live/redislive"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/usecase/live"
)

func TestContract(t *testing.T) {
	client, prefix := testservice.Redis(t)
	livetest.Run(t, func(t *testing.T) livetest.Feed {
		key := prefix + "live:" + t.Name()
		t.Cleanup(func() { client.Del(context.Background(), key) })
		return redislive.New(client, redislive.Options{Stream: key}, slog.New(slog.DiscardHandler))
	})
}

// A replica that starts late reads the recent history with the ids the
// others saw, and its floor says from when it is complete: resumes work
// on any replica.
func TestLateFollowerGetsHistoryWithTheSameIDs(t *testing.T) {
	client, prefix := testservice.Redis(t)
	key := prefix + "live:history"
	t.Cleanup(func() { client.Del(context.Background(), key) })
	f := redislive.New(client, redislive.Options{Stream: key}, slog.New(slog.DiscardHandler))
	early := livetest.Follow(t, f, live.ID{})
	time.Sleep(50 * time.Millisecond)
	since := live.ID{Ms: time.Now().Add(-time.Minute).UnixMilli()}
	for i := range 3 {
		if err := f.Publish(context.Background(), []metric.Batch{livetest.Batch(int64(i+1), "cpu", 2)}); err != nil {
			t.Fatal(err)
		}
	}
	want := early.Wait(t, 3)
	late := livetest.Follow(t, f, since)
	got := late.Wait(t, 3)
	for i := range want {
		if got[i].ID != want[i].ID || got[i].Batch.TenantID != want[i].Batch.TenantID {
			t.Fatalf("late entry %d = %v tenant %d; want %v tenant %d", i, got[i].ID, got[i].Batch.TenantID, want[i].ID, want[i].Batch.TenantID)
		}
	}
	late.Wait(t, 3)
	if len(late.Floors) == 0 || late.Floors[0] != since {
		t.Fatalf("floors %v; want %v first (the stream reaches back that far)", late.Floors, since)
	}
}
