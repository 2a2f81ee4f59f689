package live

import (
	"errors"
	"fmt"
	"time"
)

// Config bounds the hub. Zero fields take the defaults.
type Config struct {
	// Replay is how long entries are kept for resuming (default 2 min).
	Replay time.Duration
	// MaxReplaySamples bounds one tenant's replay buffer (default 200,000
	// samples): under a heavier flow the buffer covers less than Replay and
	// a client resuming from further back is told of a gap.
	MaxReplaySamples int
	// MaxReplayTotal bounds the buffers of all tenants together (default
	// 1,000,000 samples, a few hundred MB at most): past it the largest
	// tenant's oldest entries go first.
	MaxReplayTotal int
	// MaxStreams bounds the streams of the process (default 2,000) and
	// MaxStreamsPerTenant those of one tenant (default 200).
	MaxStreams          int
	MaxStreamsPerTenant int
	// MaxPending bounds the points waiting for one stream's writer (default
	// 5,000, some 20,000 points a second at 4 writes a second): a client that reads slower than its points come is ended,
	// so it never grows the server's memory without bound.
	MaxPending int
}

func (c Config) withDefaults() Config {
	if c.Replay <= 0 {
		c.Replay = 2 * time.Minute
	}
	if c.MaxReplaySamples <= 0 {
		c.MaxReplaySamples = 200_000
	}
	if c.MaxReplayTotal <= 0 {
		c.MaxReplayTotal = 1_000_000
	}
	if c.MaxStreams <= 0 {
		c.MaxStreams = 2000
	}
	if c.MaxStreamsPerTenant <= 0 {
		c.MaxStreamsPerTenant = 200
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 5_000
	}
	return c
}

var errShuttingDown = errors.New("the server is shutting down")

// LimitError is an open refused by a connection cap (429).
type LimitError struct {
	Limit string // "streams per tenant" or "streams per process"
	Max   int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("too many live streams: the limit of %d %s is reached; close other live views or try again later", e.Max, e.Limit)
}
