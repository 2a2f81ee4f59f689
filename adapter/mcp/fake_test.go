package mcp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/pulsemetrics/pulse/adapter/mcp"
	"github.com/pulsemetrics/pulse/domain/metric"
)

// fakePulse is an in-memory Backend: it keeps what it is sent and answers
// raw queries from it in pages of MaxPoints, as Pulse pages them.
type fakePulse struct {
	mu       sync.Mutex
	batches  []int
	samples  []metric.Input
	rules    []json.RawMessage
	ingestFn func(n int) error // when set, may fail a batch
	figures  []map[string]float64
	reads    int
}

func (f *fakePulse) Ingest(_ context.Context, s []metric.Input) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ingestFn != nil {
		if err := f.ingestFn(len(f.batches)); err != nil {
			return 0, err
		}
	}
	f.batches = append(f.batches, len(s))
	f.samples = append(f.samples, s...)
	return len(s), nil
}

func tagKey(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k + "=" + m[k] + ",")
	}
	return b.String()
}

func (f *fakePulse) Query(_ context.Context, q mcp.Query) (mcp.QueryPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if q.Name == "" {
		return mcp.QueryPage{}, errors.New("Pulse answered 422: name is required")
	}
	bySeries := map[string]*mcp.Series{}
	for _, s := range f.samples {
		ms := s.TS.UnixMilli()
		if s.Name != q.Name || ms < q.Start.UnixMilli() || ms >= q.End.UnixMilli() {
			continue
		}
		k := tagKey(s.Tags)
		if bySeries[k] == nil {
			bySeries[k] = &mcp.Series{Tags: s.Tags}
		}
		bySeries[k].Points = append(bySeries[k].Points, mcp.Point{TS: ms, Value: s.Value, Min: s.Value, Max: s.Value, Count: 1})
	}
	keys := slices.Sorted(maps.Keys(bySeries))
	// The cursor is "series index:points already read of it".
	si, pi := 0, 0
	if q.Cursor != "" {
		a, b, _ := strings.Cut(q.Cursor, ":")
		si, _ = strconv.Atoi(a)
		pi, _ = strconv.Atoi(b)
	}
	size := q.MaxPoints
	if size == 0 {
		size = 1000
	}
	page := mcp.QueryPage{Name: q.Name, Interval: "raw", Agg: "avg", Series: []mcp.Series{}}
	for ; si < len(keys); si, pi = si+1, 0 {
		s := bySeries[keys[si]]
		sort.Slice(s.Points, func(i, j int) bool { return s.Points[i].TS < s.Points[j].TS })
		take := min(len(s.Points)-pi, size)
		page.Series = append(page.Series, mcp.Series{Tags: s.Tags, Points: s.Points[pi : pi+take]})
		size -= take
		if size == 0 {
			if pi+take < len(s.Points) || si+1 < len(keys) {
				next := fmt.Sprintf("%d:%d", si, pi+take)
				if pi+take == len(s.Points) {
					next = fmt.Sprintf("%d:0", si+1)
				}
				page.NextCursor = &next
			}
			break
		}
	}
	return page, nil
}

func (f *fakePulse) Names(context.Context, string, int) (mcp.Names, error) {
	return mcp.Names{Names: []mcp.NameInfo{{Name: "demo.cpu", Tags: []mcp.TagInfo{}}}}, nil
}

func (f *fakePulse) AlertRules(context.Context, int, int) (json.RawMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return json.Marshal(map[string]any{"data": f.rules, "page": 1, "per_page": 50, "total": len(f.rules), "last_page": 1})
}

func (f *fakePulse) Alerts(context.Context, mcp.AlertFilter) (json.RawMessage, error) {
	return json.RawMessage(`{"data":[],"next_cursor":null}`), nil
}

func (f *fakePulse) CreateAlertRule(_ context.Context, rule json.RawMessage) (json.RawMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, rule)
	return rule, nil
}

func (f *fakePulse) Readiness(context.Context) (mcp.Readiness, error) {
	return mcp.Readiness{Status: "ok", Checks: map[string]string{"database": "ok", "queue": "ok"}}, nil
}

func (f *fakePulse) Figures(context.Context) (map[string]float64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.figures) == 0 {
		return nil, errors.New("no /metrics here")
	}
	m := f.figures[min(f.reads, len(f.figures)-1)]
	f.reads++
	return m, nil
}
