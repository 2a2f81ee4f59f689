// Package memlive is the live feed inside one process (`pulse serve`): the
// flush workers' Publish hands each committed batch straight to the
// process's hub, in id order.
package memlive

import (
	"context"
	"sync"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/live"
)

// Bus is both the publisher and the feed. Safe for concurrent use.
type Bus struct {
	mu    sync.Mutex
	last  live.ID
	sinks []live.Sink
	now   func() time.Time
}

// New returns an empty bus.
func New() *Bus { return &Bus{now: time.Now} }

// Publish delivers batches to every follower, each as one entry.
// Delivery is synchronous and cheap (the hub only files the points), so
// workers never wait on a slow client.
func (b *Bus) Publish(_ context.Context, batches []metric.Batch) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, batch := range batches {
		b.last = b.last.Next(b.now().UnixMilli())
		e := live.Entry{ID: b.last, Batch: batch}
		for _, s := range b.sinks {
			s.Entry(e)
		}
	}
	return nil
}

// Follow delivers new entries to sink until ctx ends. A process's bus has
// no history: what was published before Follow is not replayed.
func (b *Bus) Follow(ctx context.Context, _ live.ID, sink live.Sink) error {
	b.mu.Lock()
	b.sinks = append(b.sinks, sink)
	sink.Floor(b.last)
	b.mu.Unlock()
	<-ctx.Done()
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, s := range b.sinks {
		if s == sink {
			b.sinks = append(b.sinks[:i], b.sinks[i+1:]...)
			break
		}
	}
	return nil
}
