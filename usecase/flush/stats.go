package flush

import (
	"context"
	"time"
)

// QueueStats is a snapshot of a queue for the process's gauges and readiness.
//
// Every entry not yet acknowledged nor dead-lettered is either Waiting or
// Pending, so Waiting+Pending is the backlog. The counts come from the
// shared store (every process sees the same ones), except Unreadable, which
// is this process's own count.
type QueueStats struct {
	// Waiting counts entries not yet delivered to any worker.
	Waiting int64
	// Pending counts entries delivered to a worker and not yet acknowledged,
	// including those whose lease expired and that wait for redelivery.
	Pending int64
	// OldestAge is the age of the oldest entry not yet acknowledged (waiting
	// or pending), measured from its enqueue; 0 when there is none. A
	// growing age with a steady backlog means the workers are stuck.
	OldestAge time.Duration
	// DeadLetters counts the entries in the dead-letter store: those
	// delivered too many times and those no worker could decode.
	DeadLetters int64
	// Unreadable counts the entries this process found undecodable (and
	// dead-lettered) since it started; one whose move to the dead-letter
	// store failed is found, and counted, again. Any such entry is data
	// accepted with a 202 and not stored: it is an alarm, never routine.
	Unreadable int64
}

// Backlog is Waiting+Pending: the entries not yet acknowledged.
func (s QueueStats) Backlog() int64 { return s.Waiting + s.Pending }

// StatsSource is a queue that can describe itself. Stats must be cheap
// enough for a metrics scrape (a few queries, no scan of payloads).
type StatsSource interface {
	Stats(ctx context.Context) (QueueStats, error)
}
