package testservice

import (
	"bufio"
	"io"
	"strings"
)

// Event is one Server-Sent Event as a client sees it; a comment line
// (a heartbeat) is an Event with Comment set.
type Event struct {
	ID, Name, Data, Comment string
}

// ReadEvents parses an event stream until r ends; the channel closes then.
// Tests and the benchmark read Pulse's live streams with it, as a browser's
// EventSource would (multi-line data joined with "\n").
func ReadEvents(r io.Reader) <-chan Event {
	out := make(chan Event, 256)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		var ev Event
		var data []string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if len(data) > 0 || ev.Name != "" {
					ev.Data = strings.Join(data, "\n")
					out <- ev
				}
				ev, data = Event{}, nil
			case strings.HasPrefix(line, ":"):
				out <- Event{Comment: strings.TrimSpace(line[1:])}
			default:
				field, value, _ := strings.Cut(line, ":")
				value = strings.TrimPrefix(value, " ")
				switch field {
				case "id":
					ev.ID = value
				case "event":
					ev.Name = value
				case "data":
					data = append(data, value)
				}
			}
		}
	}()
	return out
}
