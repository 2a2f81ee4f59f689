package api

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pulsemetrics/pulse/adapter/samplejson"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/query"
)

// defaultRange is the query window when start is not given.
const defaultRange = time.Hour

type queryAnswer struct {
	Name       string       `json:"name"`
	Interval   string       `json:"interval"`
	Agg        string       `json:"agg"`
	Series     []seriesWire `json:"series"`
	NextCursor *string      `json:"next_cursor"`
}

type seriesWire struct {
	Tags   map[string]string `json:"tags"`
	Points []pointWire       `json:"points"`
}

type pointWire struct {
	TS    int64   `json:"ts"`
	Value float64 `json:"value"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Count int64   `json:"count"`
}

// handleQuery serves GET /api/metrics/query for the token's tenant.
func (s *server) handleQuery(w http.ResponseWriter, r *http.Request) {
	q, err := s.parseQuery(r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	q.TenantID = principalFrom(r.Context()).TenantID
	page, err := s.query.Run(r.Context(), q)
	if err != nil {
		s.writeError(w, err)
		return
	}
	agg := q.Agg
	if agg == "" {
		agg = "avg"
	}
	if err := writeQueryAnswer(w, q.Name, page.Interval, agg, page); err != nil {
		s.writeError(w, fmt.Errorf("encode query answer: %w", err))
	}
}

// answerOf is the answer as a value (the reference writeQueryAnswer matches).
func answerOf(name, interval, agg string, page metric.Page) queryAnswer {
	ans := queryAnswer{Name: name, Interval: interval, Agg: agg, Series: make([]seriesWire, 0, len(page.Series))}
	for _, sp := range page.Series {
		sw := seriesWire{Tags: sp.Tags.Map(), Points: make([]pointWire, len(sp.Points))}
		for i, p := range sp.Points {
			sw.Points[i] = pointWire{TS: p.TS, Value: p.Value, Min: p.Min, Max: p.Max, Count: p.Count}
		}
		ans.Series = append(ans.Series, sw)
	}
	if page.Next.Set {
		c := encodeCursor(page.Next)
		ans.NextCursor = &c
	}
	return ans
}

func invalidQuery(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{query.ErrInvalid}, args...)...)
}

// parseQuery reads the query string; the tenant is set by the caller.
func (s *server) parseQuery(r *http.Request) (metric.Query, error) {
	v := r.URL.Query()
	q := metric.Query{Name: v.Get("name"), Interval: v.Get("interval"), Agg: v.Get("agg")}

	end := s.now()
	if raw := v.Get("end"); raw != "" {
		t, msg := samplejson.ParseTimeParam(raw)
		if msg != "" {
			return q, invalidQuery("end %s", msg)
		}
		end = t
	}
	start := end.Add(-defaultRange)
	if raw := v.Get("start"); raw != "" {
		t, msg := samplejson.ParseTimeParam(raw)
		if msg != "" {
			return q, invalidQuery("start %s", msg)
		}
		start = t
	}
	q.Start, q.End = start.UnixMilli(), end.UnixMilli()

	if raw := v.Get("max_points"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 {
			return q, invalidQuery("max_points must be a positive integer")
		}
		q.MaxPoints = n
	}
	if raw := v.Get("cursor"); raw != "" {
		c, ok := decodeCursor(raw)
		if !ok {
			return q, invalidQuery("cursor is not valid (pass next_cursor back unchanged)")
		}
		q.Cursor = c
	}
	for key, vals := range v {
		if tag, ok := strings.CutPrefix(key, "tag."); ok && len(vals) > 0 {
			if tag == "" {
				return q, invalidQuery("tag filter needs a key: tag.<key>=<value>")
			}
			if q.Tags == nil {
				q.Tags = map[string]string{}
			}
			q.Tags[tag] = vals[0]
		}
	}
	return q, nil
}

// A cursor is opaque to clients: base64url of the series id and the
// timestamp of the last point returned, 8 bytes big-endian each.
func encodeCursor(c metric.Cursor) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(c.SeriesID))
	binary.BigEndian.PutUint64(b[8:], uint64(c.TS))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func decodeCursor(s string) (metric.Cursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		return metric.Cursor{}, false
	}
	return metric.Cursor{
		SeriesID: int64(binary.BigEndian.Uint64(b[:8])),
		TS:       int64(binary.BigEndian.Uint64(b[8:])),
		Set:      true,
	}, true
}
