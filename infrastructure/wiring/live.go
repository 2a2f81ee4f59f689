package wiring

import (
	"context"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/pulsemetrics/pulse/adapter/live/memlive"
	"github.com/pulsemetrics/pulse/adapter/live/redislive"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/telemetry"
	"github.com/pulsemetrics/pulse/usecase/live"
)

// LiveFeed carries committed batches from the workers to the hubs: in
// process with the embedded queue (`pulse serve`), a Redis stream with
// Redis (every api replica follows it).
type LiveFeed interface {
	live.Feed
	live.Publisher
}

// ProvideLiveFeed picks the feed by the queue in use.
func ProvideLiveFeed(cfg *config.Config, client *redis.Client, log *slog.Logger) LiveFeed {
	if client == nil {
		return memlive.New()
	}
	return redislive.New(client, redislive.Options{Stream: cfg.Live.Stream, MaxEntries: int64(cfg.Live.StreamEntries)}, log.With("component", "live"))
}

// LiveHub is the hub of an api process, run as one of its loops.
type LiveHub struct{ *live.Hub }

// Run follows the feed until ctx ends.
func (h LiveHub) Run(ctx context.Context) error { return h.Hub.Run(ctx) }

// Close ends the open streams at shutdown (app.Closer), so that the
// server's drain does not wait for them.
func (h LiveHub) Close() { h.Hub.Close() }

// ProvideLiveHub builds the process's hub with PULSE_LIVE_* caps.
// It runs on the wall clock, not the process's Clock: the ids are the
// feed's publish times, and a test's clock moved by days must not age
// them out.
func ProvideLiveHub(cfg *config.Config, feed LiveFeed, reg *telemetry.Registry, log *slog.Logger) LiveHub {
	h := live.NewHub(feed, live.Config{
		Replay: cfg.Live.Replay, MaxStreams: cfg.Live.MaxStreams, MaxStreamsPerTenant: cfg.Live.MaxStreamsPerTenant,
	}, log.With("component", "live"), nil)
	reg.RegisterLive(h)
	return LiveHub{h}
}
