package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// eventWriter writes Server-Sent Events, each flushed at once and bounded
// by a write deadline (a client that stops reading is cut off, never
// buffered for).
type eventWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	buf     strings.Builder
}

func newEventWriter(w http.ResponseWriter, timeout time.Duration) *eventWriter {
	return &eventWriter{w: w, rc: http.NewResponseController(w), timeout: timeout}
}

// event writes one event; ready's Retry (if set) goes first as retry:.
func (e *eventWriter) event(name, id string, data any) error {
	body, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", name, err)
	}
	e.buf.Reset()
	if r, ok := data.(readyEvent); ok && r.Retry > 0 {
		fmt.Fprintf(&e.buf, "retry: %d\n", r.Retry.Milliseconds())
	}
	fmt.Fprintf(&e.buf, "id: %s\nevent: %s\ndata: %s\n\n", id, name, body)
	return e.flush()
}

// comment writes a comment line (a heartbeat).
func (e *eventWriter) comment(text string) error {
	e.buf.Reset()
	fmt.Fprintf(&e.buf, ": %s\n\n", text)
	return e.flush()
}

func (e *eventWriter) flush() error {
	_ = e.rc.SetWriteDeadline(time.Now().Add(e.timeout))
	if _, err := e.w.Write([]byte(e.buf.String())); err != nil {
		return err
	}
	return e.rc.Flush()
}
