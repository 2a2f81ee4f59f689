package config

import (
	"fmt"
	"time"
)

// Live is the live streams' settings.
type Live struct {
	// Stream is the Redis stream key of the live feed (distributed mode),
	// capped at about StreamEntries entries (one per committed batch).
	Stream        string
	StreamEntries int
	// Replay is how far back a reconnecting client is resumed.
	Replay time.Duration
	// MaxStreams and MaxStreamsPerTenant cap one api process's streams.
	MaxStreams          int
	MaxStreamsPerTenant int
}

func registerLive(l *Live, str strFlag, num numFlag, dur durFlag) {
	str(&l.Stream, "live-stream", "PULSE_LIVE_STREAM", "pulse:live", "Redis stream key of the live feed (workers publish committed points, api replicas follow)")
	num(&l.StreamEntries, "live-stream-entries", "PULSE_LIVE_STREAM_ENTRIES", 1000, "entries the Redis live stream keeps (about): what a starting api replica can replay; each is one committed batch")
	dur(&l.Replay, "live-replay", "PULSE_LIVE_REPLAY", 2*time.Minute, "how far back a reconnecting live stream is resumed (longer gaps are refetched)")
	num(&l.MaxStreams, "live-max-streams", "PULSE_LIVE_MAX_STREAMS", 2000, "live streams one api process serves at most (429 beyond)")
	num(&l.MaxStreamsPerTenant, "live-max-streams-per-tenant", "PULSE_LIVE_MAX_STREAMS_PER_TENANT", 200, "live streams of one tenant on one api process at most (429 beyond)")
}

func (l Live) validate() error {
	if l.Replay < time.Minute || l.Replay > time.Hour {
		return fmt.Errorf("PULSE_LIVE_REPLAY=%s: want between 1m and 1h", l.Replay)
	}
	if l.StreamEntries < 100 {
		return fmt.Errorf("PULSE_LIVE_STREAM_ENTRIES=%d: want at least 100", l.StreamEntries)
	}
	if l.MaxStreams < 1 || l.MaxStreamsPerTenant < 1 {
		return fmt.Errorf("PULSE_LIVE_MAX_STREAMS=%d, PULSE_LIVE_MAX_STREAMS_PER_TENANT=%d: want at least 1", l.MaxStreams, l.MaxStreamsPerTenant)
	}
	return nil
}
