package live

import (
	"slices"
	"strings"
	"sync"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// End reasons a stream is closed with (the client is told which).
const (
	EndRevoked  = "the token was revoked, the session ended or the tenant was disabled"
	EndSlow     = "the client did not keep up with its points; reconnect to resume"
	EndShutdown = "the server is shutting down; reconnect to resume"
)

// Stream is one open live connection of one tenant: its subscriptions and
// the points gathered for them since the last Take. The hub adds points;
// the connection's writer takes them (at most every coalesce interval).
type Stream struct {
	id       string
	tenantID int64
	subs     []Subscription
	hub      *Hub

	mu      sync.Mutex
	pending map[int]map[string]*Series // query index → series key → points
	points  int                        // pending points, bounded by maxPending
	last    ID                         // the newest entry whose points are pending or sent
	start   ID                         // what the client had when it opened
	gap     *Gap
	ended   string
	wake    chan struct{} // a signal: something to take
	done    chan struct{} // closed when the stream ends
}

// ID names the stream (in logs and its first event).
func (s *Stream) ID() string { return s.id }

// Start is the id the client was up to when the stream opened: its resume
// id, or the newest entry then.
func (s *Stream) Start() ID { return s.start }

// Queries is the stream's subscription count.
func (s *Stream) Queries() int { return len(s.subs) }

// Wake is signalled when there is something to take.
func (s *Stream) Wake() <-chan struct{} { return s.wake }

// Done is closed when the hub ended the stream; Reason tells why.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Reason is why the stream ended ("" while it is open).
func (s *Stream) Reason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended
}

// Take returns the gap to report (if any), the pending updates in
// subscription order, and the id they bring the client up to.
func (s *Stream) Take() (*Gap, []Update, ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gap, pending := s.gap, s.pending
	s.gap, s.pending, s.points = nil, nil, 0
	var out []Update
	for q := range s.subs {
		bySeries := pending[q]
		if len(bySeries) == 0 {
			continue
		}
		keys := make([]string, 0, len(bySeries))
		for k := range bySeries {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		u := Update{Query: q, Series: make([]Series, 0, len(keys))}
		for _, k := range keys {
			ser := bySeries[k]
			ser.Points = inTimeOrder(ser.Points)
			u.Series = append(u.Series, *ser)
		}
		out = append(out, u)
	}
	return gap, out, s.last
}

// Close ends the stream and releases its place under the caps.
func (s *Stream) Close() { s.hub.remove(s, "") }

// offer adds e's matching points; false when the stream is over its
// pending bound (the hub then ends it as slow). Called with the hub locked.
func (s *Stream) offer(e Entry, byName map[string][]int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended != "" {
		return true
	}
	added := 0
	for _, smp := range e.Batch.Samples {
		for _, q := range byName[smp.Name()] {
			sub := s.subs[q]
			if !sub.matches(smp.Tags()) {
				continue
			}
			if s.pending == nil {
				s.pending = map[int]map[string]*Series{}
			}
			bySeries := s.pending[q]
			if bySeries == nil {
				bySeries = map[string]*Series{}
				s.pending[q] = bySeries
			}
			key := seriesKey(smp.Tags())
			ser := bySeries[key]
			if ser == nil {
				ser = &Series{Tags: smp.Tags()}
				bySeries[key] = ser
			}
			ser.Points = append(ser.Points, Point{TS: smp.TimestampMillis(), Value: sub.value(smp.Value())})
			added++
		}
	}
	s.last = e.ID
	s.points += added
	s.hub.stats.Points.Add(int64(added))
	if s.points > s.hub.cfg.MaxPending {
		return false
	}
	if added > 0 {
		s.signal()
	}
	return true
}

func (s *Stream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// end marks the stream ended (once) with reason.
func (s *Stream) end(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended != "" {
		return
	}
	s.ended = reason
	s.pending, s.points = nil, 0
	close(s.done)
}

// inTimeOrder sorts points by time and keeps the first one given for a
// timestamp, as the store does (its first write wins; a repeat is dropped).
func inTimeOrder(ps []Point) []Point {
	slices.SortStableFunc(ps, func(a, b Point) int {
		switch {
		case a.TS < b.TS:
			return -1
		case a.TS > b.TS:
			return 1
		}
		return 0
	})
	out := ps[:0]
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].TS == p.TS {
			continue
		}
		out = append(out, p)
	}
	return out
}

func seriesKey(tags metric.Tags) string {
	var b strings.Builder
	for _, t := range tags {
		b.WriteString(t.Key)
		b.WriteByte(0)
		b.WriteString(t.Value)
		b.WriteByte(0)
	}
	return b.String()
}
