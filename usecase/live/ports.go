// Package live carries newly committed points to open streams (the
// dashboard's live charts): a worker publishes each committed batch to a
// feed, every api process follows the feed into its Hub, and the Hub keeps
// a short per-tenant replay buffer and fans the points out to the streams
// whose subscriptions match, filtered on the server by tenant, name and
// tags.
package live

import (
	"context"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// Entry is one committed batch as the feed carries it.
type Entry struct {
	ID    ID
	Batch metric.Batch
}

// Sink receives a feed's entries in id order. Floor tells that the feed
// holds every entry after id from now on (what came before may be gone):
// a client resuming from an older id is told of a gap.
type Sink interface {
	Entry(e Entry)
	Floor(id ID)
}

// Feed is what the hub follows: the committed batches of every worker.
// Follow delivers the entries published since about since (as far as the
// feed kept them), then new ones, until ctx ends; it retries a failing
// source itself and returns only with ctx.
type Feed interface {
	Follow(ctx context.Context, since ID, sink Sink) error
}

// Publisher is the worker's side of the feed: Publish hands over batches
// that have committed. It returns promptly (a bounded wait); an error is
// the live view's loss only, never the stored data's.
type Publisher interface {
	Publish(ctx context.Context, batches []metric.Batch) error
}
