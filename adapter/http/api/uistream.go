package api

import (
	"io"
	"log/slog"
	"net/http"
	"time"
)

// StreamDeps builds the live stream for another door (the web UI's
// session): the principal from Principal, and Recheck (required) telling
// whether the door's credentials of a request still hold.
type StreamDeps struct {
	Live      Streamer
	Principal PrincipalFunc
	Recheck   func(r *http.Request) Recheck
	Timing    StreamTiming
	Replay    time.Duration
	Logger    *slog.Logger
}

// NewStreamHandler is GET /api/metrics/stream for a session door: the
// same queries, events and limits; the web UI mounts it as
// /ui/api/metrics/stream.
func NewStreamHandler(d StreamDeps) http.Handler {
	s := &server{live: d.Live, log: d.Logger, timing: d.Timing.withDefaults(), liveReplaySeconds: int64(d.Replay.Seconds())}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return s.recoverPanics(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := d.Principal(r)
		if err != nil {
			s.writeError(w, err)
			return
		}
		s.serveStream(w, r, p.TenantID, d.Recheck(r))
	}))
}
