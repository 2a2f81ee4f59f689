package features_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

// liveClient has no overall timeout: httpClient's 30 s would cut a stream
// that a scenario keeps open longer.
var liveClient = &http.Client{}

// liveStream is one open GET /api/metrics/stream as a client sees it: every
// event received, in order, gathered by a goroutine until the connection
// closes.
type liveStream struct {
	tenant string // the scenario's name of its tenant
	query  string // the request's query string, for a reopen
	cancel context.CancelFunc

	mu      sync.Mutex
	events  []testservice.Event
	lastID  string // the id of the last event that had one (EventSource's Last-Event-ID)
	closed  bool   // the server closed the connection (or we did)
	changed chan struct{}
}

// livePoint is one point of a points event.
type livePoint struct {
	q     int
	tags  map[string]string
	ts    int64
	value float64
}

// openLive opens a stream; a non-200 answer is returned, not kept open.
// On 200 it returns once the ready event came (it must be the first).
func openLive(baseURL, tok, query string, hdr ...string) (*liveStream, *answer, error) {
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/api/metrics/stream?"+query, nil)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	req.Header.Set("X-API-Token", tok)
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := liveClient.Do(req)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("GET /api/metrics/stream?%s: %w", query, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return nil, &answer{status: resp.StatusCode, body: b, header: resp.Header}, nil
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		cancel()
		resp.Body.Close()
		return nil, nil, fmt.Errorf("stream answered 200 with Content-Type %q", ct)
	}
	ls := &liveStream{query: query, cancel: cancel, changed: make(chan struct{}, 1)}
	go ls.gather(resp.Body)
	err = ls.waitFor(5*time.Second, "a ready event first", func() error {
		if len(ls.events) == 0 {
			return errNotYet
		}
		if ev := ls.events[0]; ev.Name != "ready" || ev.ID == "" {
			return fmt.Errorf("first event is %+v, want a ready event with an id", ev)
		}
		return nil
	})
	if err != nil {
		ls.close()
		return nil, nil, err
	}
	return ls, &answer{status: http.StatusOK, header: resp.Header}, nil
}

func (ls *liveStream) gather(body io.ReadCloser) {
	defer body.Close()
	for ev := range testservice.ReadEvents(body) {
		ls.mu.Lock()
		ls.events = append(ls.events, ev)
		if ev.ID != "" {
			ls.lastID = ev.ID
		}
		ls.mu.Unlock()
		ls.signal()
	}
	ls.mu.Lock()
	ls.closed = true
	ls.mu.Unlock()
	ls.signal()
}

func (ls *liveStream) signal() {
	select {
	case ls.changed <- struct{}{}:
	default:
	}
}

// close ends the connection from the client's side.
func (ls *liveStream) close() { ls.cancel() }

// errNotYet tells waitFor to keep waiting.
var errNotYet = errors.New("not yet")

// waitFor calls check (with the stream locked) until it returns anything
// but errNotYet, or bound passes.
func (ls *liveStream) waitFor(bound time.Duration, what string, check func() error) error {
	deadline := time.Now().Add(bound)
	for {
		ls.mu.Lock()
		err := check()
		closed, n := ls.closed, len(ls.events)
		ls.mu.Unlock()
		if !errors.Is(err, errNotYet) {
			return err
		}
		if closed {
			return fmt.Errorf("the stream closed before %s (%d events: %s)", what, n, ls.describe())
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("no %s within %s (%d events: %s)", what, bound, n, ls.describe())
		}
		select {
		case <-ls.changed:
		case <-time.After(min(left, 100*time.Millisecond)):
		}
	}
}

// points is every point received, in order (ls.mu held).
func (ls *liveStream) points() ([]livePoint, error) {
	var out []livePoint
	for _, ev := range ls.events {
		if ev.Name != "points" {
			continue
		}
		var d struct {
			Q      *int `json:"q"`
			Series []struct {
				Tags   map[string]string `json:"tags"`
				Points []struct {
					TS    *int64   `json:"ts"`
					Value *float64 `json:"value"`
				} `json:"points"`
			} `json:"series"`
		}
		if err := json.Unmarshal([]byte(ev.Data), &d); err != nil || d.Q == nil || ev.ID == "" {
			return nil, fmt.Errorf("points event without id, q or JSON data: %+v", ev)
		}
		for _, ser := range d.Series {
			for _, p := range ser.Points {
				if p.TS == nil || p.Value == nil {
					return nil, fmt.Errorf("point without ts or value in %s", ev.Data)
				}
				out = append(out, livePoint{q: *d.Q, tags: ser.Tags, ts: *p.TS, value: *p.Value})
			}
		}
	}
	return out, nil
}

// describe is the events received, shortened, for failure messages
// (ls.mu held).
func (ls *liveStream) describe() string {
	var b strings.Builder
	for i, ev := range ls.events {
		if i == 12 {
			fmt.Fprintf(&b, " … %d more", len(ls.events)-i)
			break
		}
		if ev.Comment != "" {
			fmt.Fprintf(&b, " [:%s]", ev.Comment)
			continue
		}
		fmt.Fprintf(&b, " [%s id=%s %s]", ev.Name, ev.ID, truncate([]byte(ev.Data)))
	}
	return b.String()
}
