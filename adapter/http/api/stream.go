package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/live"
)

// Streamer opens live streams (usecase/live.Hub). Safe for concurrent use.
type Streamer interface {
	Subscribe(tenantID int64, subs []live.Subscription, resume *live.ID) (*live.Stream, error)
}

// StreamTiming paces a live stream. Zero fields take the defaults.
type StreamTiming struct {
	// Coalesce is the least time between two batches of events (default
	// 250 ms: at most 4 a second).
	Coalesce time.Duration
	// Heartbeat is the idle time after which a comment line keeps proxies
	// from closing the connection (default 15 s).
	Heartbeat time.Duration
	// Recheck is how often the credentials are checked again (default 2 s,
	// so a revoked token or an ended session stops its streams within
	// about this plus the auth cache's 2 s).
	Recheck time.Duration
	// WriteTimeout bounds one write to the client (default 10 s): a client
	// that stops reading is dropped.
	WriteTimeout time.Duration
	// Retry is the reconnect delay told to the client (default 3 s).
	Retry time.Duration
}

func (t StreamTiming) withDefaults() StreamTiming {
	if t.Coalesce <= 0 {
		t.Coalesce = 250 * time.Millisecond
	}
	if t.Heartbeat <= 0 {
		t.Heartbeat = 15 * time.Second
	}
	if t.Recheck <= 0 {
		t.Recheck = 2 * time.Second
	}
	if t.WriteTimeout <= 0 {
		t.WriteTimeout = 10 * time.Second
	}
	if t.Retry <= 0 {
		t.Retry = 3 * time.Second
	}
	return t
}

// Recheck tells whether a stream's credentials still hold:
// token.ErrUnauthenticated or token.ErrForbidden end it; another error (a
// database away) keeps it open.
type Recheck func(ctx context.Context) error

// handleStream serves GET /api/metrics/stream for the token's tenant.
func (s *server) handleStream(w http.ResponseWriter, r *http.Request) {
	raw := r.Header.Get(tokenHeader)
	s.serveStream(w, r, principalFrom(r.Context()).TenantID, func(ctx context.Context) error {
		_, err := s.auth.Authenticate(ctx, raw, token.ScopeRead)
		return err
	})
}

// serveStream runs one stream until the client leaves, the hub ends it or
// the credentials stop holding.
func (s *server) serveStream(w http.ResponseWriter, r *http.Request, tenantID int64, recheck Recheck) {
	if s.live == nil {
		writeJSON(w, http.StatusNotImplemented, errorBody{Error: "live streams are not available on this server"})
		return
	}
	subs, err := parseSubscriptions(r.URL.Query())
	if err != nil {
		s.writeError(w, err)
		return
	}
	resume, err := resumeID(r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	st, err := s.live.Subscribe(tenantID, subs, resume)
	if err != nil {
		s.writeError(w, err)
		return
	}
	defer st.Close()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	sse := newEventWriter(w, s.timing.WriteTimeout)
	first := st.Start()
	if err := sse.event("ready", first.String(), readyEvent{Retry: s.timing.Retry, Stream: st.ID(), Queries: st.Queries(),
		CoalesceMS: s.timing.Coalesce.Milliseconds(), HeartbeatS: int64(s.timing.Heartbeat.Seconds()), ReplayS: s.liveReplaySeconds}); err != nil {
		return
	}
	s.pump(r.Context(), sse, st, first, recheck)
}

type readyEvent struct {
	Retry      time.Duration `json:"-"`
	Stream     string        `json:"stream"`
	Queries    int           `json:"queries"`
	CoalesceMS int64         `json:"coalesce_ms"`
	HeartbeatS int64         `json:"heartbeat_s"`
	ReplayS    int64         `json:"replay_s"`
}

type endEvent struct {
	Reason string `json:"reason"`
}

type gapEvent struct {
	Query *int  `json:"q"`
	From  int64 `json:"from"`
	To    int64 `json:"to"`
}

type updateEvent struct {
	Query  int          `json:"q"`
	Series []liveSeries `json:"series"`
}

type liveSeries struct {
	Tags   map[string]string `json:"tags"`
	Points []livePoint       `json:"points"`
}

type livePoint struct {
	TS    int64   `json:"ts"`
	Value float64 `json:"value"`
}

// pump writes the stream's points, at most one batch of events per
// Coalesce, until it ends. sent is the id the client is up to: every event
// carries one, and only the last event of a batch moves it on, so a
// client cut off mid-batch resumes without missing a point.
func (s *server) pump(ctx context.Context, sse *eventWriter, st *live.Stream, sent live.ID, recheck Recheck) {
	heartbeat := time.NewTicker(s.timing.Heartbeat)
	defer heartbeat.Stop()
	again := time.NewTicker(s.timing.Recheck)
	defer again.Stop()
	var lastBatch time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-st.Done():
			_ = sse.event("end", sent.String(), endEvent{Reason: st.Reason()})
			return
		case <-again.C:
			if err := recheck(ctx); errors.Is(err, token.ErrUnauthenticated) || errors.Is(err, token.ErrForbidden) {
				_ = sse.event("end", sent.String(), endEvent{Reason: live.EndRevoked})
				return
			}
		case <-heartbeat.C:
			if sse.comment("heartbeat") != nil {
				return
			}
		case <-st.Wake():
			if wait := s.timing.Coalesce - time.Since(lastBatch); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-st.Done():
					continue
				case <-time.After(wait):
				}
			}
			lastBatch = time.Now()
			var err error
			if sent, err = writeBatch(sse, st, sent); err != nil {
				return
			}
		}
	}
}

// writeBatch writes what the stream gathered and returns the id the client
// is now up to.
func writeBatch(sse *eventWriter, st *live.Stream, sent live.ID) (live.ID, error) {
	gap, updates, upTo := st.Take()
	if gap != nil {
		id := sent
		if len(updates) == 0 {
			id = upTo
		}
		if err := sse.event("gap", id.String(), gapEvent{From: gap.From, To: gap.To}); err != nil {
			return sent, err
		}
	}
	for i, u := range updates {
		id := sent
		if i == len(updates)-1 {
			id = upTo
		}
		if err := sse.event("points", id.String(), updateWire(u)); err != nil {
			return sent, err
		}
	}
	if gap == nil && len(updates) == 0 {
		return sent, nil
	}
	return upTo, nil
}

func updateWire(u live.Update) updateEvent {
	out := updateEvent{Query: u.Query, Series: make([]liveSeries, len(u.Series))}
	for i, ser := range u.Series {
		ps := make([]livePoint, len(ser.Points))
		for j, p := range ser.Points {
			ps[j] = livePoint{TS: p.TS, Value: p.Value}
		}
		out.Series[i] = liveSeries{Tags: ser.Tags.Map(), Points: ps}
	}
	return out
}

// parseSubscriptions reads the stream's queries: each q parameter is one
// query in the query API's own parameters (name, tag.<k>, agg), URL-encoded;
// without q, the request's own name, tag.<k> and agg are its one query.
func parseSubscriptions(v url.Values) ([]live.Subscription, error) {
	sets := []url.Values{v}
	if qs := v["q"]; len(qs) > 0 {
		if len(qs) > live.MaxSubscriptions {
			return nil, fmt.Errorf("%w: a stream carries at most %d queries, not %d", live.ErrInvalid, live.MaxSubscriptions, len(qs))
		}
		sets = sets[:0]
		for i, raw := range qs {
			one, err := url.ParseQuery(raw)
			if err != nil {
				return nil, fmt.Errorf("%w: query %d (q=%q) is not URL-encoded parameters", live.ErrInvalid, i, raw)
			}
			sets = append(sets, one)
		}
	}
	out := make([]live.Subscription, 0, len(sets))
	for i, one := range sets {
		tags := map[string]string{}
		for key, vals := range one {
			if tag, ok := strings.CutPrefix(key, "tag."); ok && len(vals) > 0 {
				if tag == "" {
					return nil, fmt.Errorf("%w: query %d: tag filter needs a key: tag.<key>=<value>", live.ErrInvalid, i)
				}
				tags[tag] = vals[0]
			}
		}
		sub, err := live.NewSubscription(one.Get("name"), tags, one.Get("agg"))
		if err != nil {
			return nil, fmt.Errorf("query %d: %w", i, err)
		}
		out = append(out, sub)
	}
	return out, nil
}

// resumeID is the Last-Event-ID header, or the last_event_id parameter (a
// client reopening with a changed set of queries, which EventSource cannot
// give a header).
func resumeID(r *http.Request) (*live.ID, error) {
	raw := r.Header.Get("Last-Event-ID")
	if raw == "" {
		raw = r.URL.Query().Get("last_event_id")
	}
	if raw == "" {
		return nil, nil
	}
	id, err := live.ParseID(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: Last-Event-ID: %v", live.ErrInvalid, err)
	}
	return &id, nil
}
