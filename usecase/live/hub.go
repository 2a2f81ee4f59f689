package live

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pulsemetrics/pulse/domain/outage"
)

// Hub fans committed points out to the open streams of this process.
// Safe for concurrent use.
type Hub struct {
	cfg  Config
	feed Feed
	log  *slog.Logger
	now  func() time.Time

	mu      sync.Mutex
	floor   ID
	tenants map[int64]*tenantStreams
	open    int
	sweptAt int64
	// since is what Run asked the feed for, until the first entry: a
	// feed with history (redislive) sets a floor at or after it and then
	// delivers every entry after that floor, so it may lower the floor the
	// hub started with.
	since  *ID
	closed bool
	// buffered is the samples in all tenants' replay buffers.
	buffered int

	stats Stats
}

type tenantStreams struct {
	ring    ring
	streams map[*Stream]map[string][]int // stream → metric name → query indexes
}

// Stats are the hub's running totals (telemetry reads them).
type Stats struct {
	Opened, Refused, Slow, Entries, Points atomic.Int64
}

// NewHub returns a hub following feed (nil: Run does nothing and entries
// come only through Add).
func NewHub(feed Feed, cfg Config, log *slog.Logger, now func() time.Time) *Hub {
	if now == nil {
		now = time.Now
	}
	h := &Hub{cfg: cfg.withDefaults(), feed: feed, log: log, now: now, tenants: map[int64]*tenantStreams{}}
	h.floor = ID{Ms: now().UnixMilli()}
	return h
}

// Run follows the feed until ctx ends, then ends every stream.
func (h *Hub) Run(ctx context.Context) error {
	defer h.Close()
	if h.feed == nil {
		<-ctx.Done()
		return nil
	}
	since := ID{Ms: h.now().Add(-h.cfg.Replay).UnixMilli()}
	h.mu.Lock()
	h.since = &since
	h.mu.Unlock()
	return h.feed.Follow(ctx, since, h)
}

// Stats are the hub's totals.
func (h *Hub) Stats() *Stats { return &h.stats }

// Open counts the streams open now.
func (h *Hub) Open() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.open
}

// Floor is the Sink side: entries after id are complete from now on.
func (h *Hub) Floor(id ID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if id.Less(h.floor) {
		if h.since == nil || id.Less(*h.since) {
			return // an earlier floor would claim entries this hub never saw
		}
		// Before any entry: the history after id is on its way.
		h.floor = id
		for _, t := range h.tenants {
			t.ring.floor = id
		}
		return
	}
	h.floor = id
	for _, t := range h.tenants {
		if t.ring.floor.Less(id) {
			t.ring.floor = id
		}
	}
}

// Entry is the Sink side: one committed batch, fanned out to the
// tenant's streams and kept for replay.
func (h *Hub) Entry(e Entry) {
	h.stats.Entries.Add(1)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.since = nil
	t := h.tenant(e.Batch.TenantID)
	h.buffered -= t.ring.samples
	t.ring.add(e)
	cutoff := h.now().Add(-h.cfg.Replay).UnixMilli()
	t.ring.trim(cutoff, h.cfg.MaxReplaySamples)
	h.buffered += t.ring.samples
	h.sweep(cutoff)
	for h.buffered > h.cfg.MaxReplayTotal {
		h.trimLargest()
	}
	for s, byName := range t.streams {
		if !s.offer(e, byName) {
			h.stats.Slow.Add(1)
			h.removeLocked(s, EndSlow)
		}
	}
}

// sweep trims every tenant's buffer now and then, so a tenant that went
// quiet does not keep its last entries, and forgets tenants with neither
// entries nor streams.
func (h *Hub) sweep(cutoff int64) {
	if cutoff < h.sweptAt+sweepEvery.Milliseconds() {
		return
	}
	h.sweptAt = cutoff
	for id, t := range h.tenants {
		h.buffered -= t.ring.samples
		t.ring.trim(cutoff, h.cfg.MaxReplaySamples)
		h.buffered += t.ring.samples
		if len(t.ring.entries) == 0 && len(t.streams) == 0 {
			delete(h.tenants, id)
		}
	}
}

const sweepEvery = 10 * time.Second

// trimLargest halves the largest tenant's buffer (the process-wide bound).
func (h *Hub) trimLargest() {
	var largest *tenantStreams
	for _, t := range h.tenants {
		if largest == nil || t.ring.samples > largest.ring.samples {
			largest = t
		}
	}
	before := largest.ring.samples
	largest.ring.trim(0, before/2)
	h.buffered -= before - largest.ring.samples
}

func (h *Hub) tenant(id int64) *tenantStreams {
	t := h.tenants[id]
	if t == nil {
		// The sweep may have forgotten this tenant after its entries aged
		// out: whatever is older than Replay is gone, so a resume from
		// before that must be told of a gap.
		floor := h.floor
		if aged := (ID{Ms: h.now().Add(-h.cfg.Replay).UnixMilli()}); floor.Less(aged) {
			floor = aged
		}
		t = &tenantStreams{streams: map[*Stream]map[string][]int{}, ring: ring{floor: floor}}
		h.tenants[id] = t
	}
	return t
}

// Subscribe opens a stream of tenantID's points matching subs. With a
// resume id, the replay buffer's entries after it are pending at once,
// and a Gap if the buffer no longer reaches back to it.
func (h *Hub) Subscribe(tenantID int64, subs []Subscription, resume *ID) (*Stream, error) {
	if len(subs) == 0 || len(subs) > MaxSubscriptions {
		return nil, fmt.Errorf("%w: a stream carries 1 to %d queries, not %d", ErrInvalid, MaxSubscriptions, len(subs))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, outage.Unavailable("live streams", errShuttingDown)
	}
	t := h.tenant(tenantID)
	switch {
	case h.open >= h.cfg.MaxStreams:
		h.stats.Refused.Add(1)
		return nil, &LimitError{Limit: "streams per process", Max: h.cfg.MaxStreams}
	case len(t.streams) >= h.cfg.MaxStreamsPerTenant:
		h.stats.Refused.Add(1)
		return nil, &LimitError{Limit: "streams per tenant", Max: h.cfg.MaxStreamsPerTenant}
	}
	s := &Stream{id: rand.Text()[:12], tenantID: tenantID, subs: subs, hub: h,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	byName := map[string][]int{}
	for i, sub := range subs {
		byName[sub.Name] = append(byName[sub.Name], i)
	}
	if n := len(t.ring.entries); n > 0 {
		s.last = t.ring.entries[n-1].ID
	} else {
		s.last = h.floor
	}
	s.start = s.last
	if resume != nil {
		s.start = *resume
		entries, complete := t.ring.after(*resume)
		if !complete {
			s.gap = &Gap{From: resume.Ms, To: h.now().UnixMilli()}
		}
		for _, e := range entries {
			if !s.offer(e, byName) { // more to replay than a stream may hold: refetch instead
				s.pending, s.points = nil, 0
				s.gap = &Gap{From: resume.Ms, To: h.now().UnixMilli()}
				s.last = t.ring.entries[len(t.ring.entries)-1].ID
				break
			}
		}
		if s.gap != nil {
			s.signal()
		}
	}
	t.streams[s] = byName
	h.open++
	h.stats.Opened.Add(1)
	return s, nil
}

// EndTenant ends every stream of a tenant (disabled) with reason.
func (h *Hub) EndTenant(tenantID int64, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.tenants[tenantID]; t != nil {
		for s := range t.streams {
			h.removeLocked(s, reason)
		}
	}
}

func (h *Hub) remove(s *Stream, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(s, reason)
}

func (h *Hub) removeLocked(s *Stream, reason string) {
	t := h.tenants[s.tenantID]
	if t == nil {
		return
	}
	if _, ok := t.streams[s]; !ok {
		return
	}
	delete(t.streams, s)
	h.open--
	if reason == "" {
		reason = "closed"
	}
	s.end(reason)
}

// Close ends every stream (reason EndShutdown) and refuses new ones: the
// process is stopping.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for _, t := range h.tenants {
		for s := range t.streams {
			h.removeLocked(s, EndShutdown)
		}
	}
}
