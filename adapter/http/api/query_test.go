package api_test

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
)

func cursorFor(seriesID, ts int64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(seriesID))
	binary.BigEndian.PutUint64(b[8:], uint64(ts))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func TestQueryParams(t *testing.T) {
	start := testNow.Add(-3 * time.Hour)
	tests := []struct {
		name  string
		query string
		want  metric.Query
	}{
		{
			name:  "defaults: the last hour",
			query: "name=cpu.load",
			want:  metric.Query{TenantID: tenantID, Name: "cpu.load", Start: testNow.Add(-time.Hour).UnixMilli(), End: testNow.UnixMilli()},
		},
		{
			name:  "rfc3339 range, interval, max_points, tags",
			query: "name=cpu&start=" + url.QueryEscape(start.Format(time.RFC3339)) + "&end=" + url.QueryEscape(testNow.Format(time.RFC3339)) + "&interval=raw&max_points=50&tag.host=a&tag.region=eu-1",
			want: metric.Query{TenantID: tenantID, Name: "cpu", Start: start.UnixMilli(), End: testNow.UnixMilli(),
				Interval: "raw", MaxPoints: 50, Tags: map[string]string{"host": "a", "region": "eu-1"}},
		},
		{
			name:  "unix seconds and milliseconds",
			query: fmt.Sprintf("name=cpu&start=%d&end=%d", start.Unix(), testNow.UnixMilli()),
			want:  metric.Query{TenantID: tenantID, Name: "cpu", Start: start.UnixMilli(), End: testNow.UnixMilli()},
		},
		{
			name:  "end only: start is an hour before it",
			query: fmt.Sprintf("name=cpu&end=%d.5", start.Unix()),
			want:  metric.Query{TenantID: tenantID, Name: "cpu", Start: start.Add(-time.Hour + 500*time.Millisecond).UnixMilli(), End: start.Add(500 * time.Millisecond).UnixMilli()},
		},
		{
			name:  "rollup interval and aggregate",
			query: "name=cpu&interval=5m&agg=max",
			want:  metric.Query{TenantID: tenantID, Name: "cpu", Start: testNow.Add(-time.Hour).UnixMilli(), End: testNow.UnixMilli(), Interval: "5m", Agg: "max"},
		},
		{
			name:  "cursor decoded",
			query: "name=cpu&cursor=" + cursorFor(42, 1700000000123),
			want: metric.Query{TenantID: tenantID, Name: "cpu", Start: testNow.Add(-time.Hour).UnixMilli(), End: testNow.UnixMilli(),
				Cursor: metric.Cursor{SeriesID: 42, TS: 1700000000123, Set: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			a := e.do(http.MethodGet, "/api/metrics/query?"+tt.query, readToken, nil)
			if a.status != http.StatusOK {
				t.Fatalf("status = %d; body %s", a.status, a.body)
			}
			if got := e.querier.last(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("query =\n %+v, want\n %+v", got, tt.want)
			}
		})
	}
}

func TestQueryAnswerShape(t *testing.T) {
	e := newEnv(t)
	e.querier.page = metric.Page{
		Interval: "raw",
		Series: []metric.SeriesPoints{{
			Tags:   metric.Tags{{Key: "host", Value: "a"}},
			Points: []metric.Point{{TS: 1700000000000, Value: 1.5, Min: 1, Max: 2, Count: 3}},
		}},
		Next: metric.Cursor{SeriesID: 9, TS: 1700000000000, Set: true},
	}
	a := e.do(http.MethodGet, "/api/metrics/query?name=cpu", readToken, nil)
	if a.status != http.StatusOK {
		t.Fatalf("status = %d; body %s", a.status, a.body)
	}
	want := `{"name":"cpu","interval":"raw","agg":"avg","series":[{"tags":{"host":"a"},"points":[{"ts":1700000000000,"value":1.5,"min":1,"max":2,"count":3}]}],"next_cursor":"` + cursorFor(9, 1700000000000) + `"}`
	if got := strings.TrimSpace(string(a.body)); got != want {
		t.Errorf("body =\n %s\nwant\n %s", got, want)
	}

	// The cursor we hand out is the one we accept back.
	next, _ := a.json(t)["next_cursor"].(string)
	e.do(http.MethodGet, "/api/metrics/query?name=cpu&cursor="+next, readToken, nil)
	if c := e.querier.last().Cursor; c != (metric.Cursor{SeriesID: 9, TS: 1700000000000, Set: true}) {
		t.Errorf("cursor round trip = %+v", c)
	}
}

func TestQueryEmptySeries(t *testing.T) {
	e := newEnv(t)
	e.querier.page = metric.Page{Interval: "raw"}
	a := e.do(http.MethodGet, "/api/metrics/query?name=cpu", readToken, nil)
	if a.status != http.StatusOK {
		t.Fatalf("status = %d; body %s", a.status, a.body)
	}
	want := `{"name":"cpu","interval":"raw","agg":"avg","series":[],"next_cursor":null}`
	if got := strings.TrimSpace(string(a.body)); got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
}

func TestQueryErrors(t *testing.T) {
	tests := []struct {
		name   string
		tok    string
		query  string
		status int
		errHas string
	}{
		{"missing token", "", "name=cpu", 401, "token"},
		{"unknown token", "nope", "name=cpu", 401, "token"},
		{"ingest-only token", ingestToken, "name=cpu", 403, "scope"},
		{"bad start", readToken, "name=cpu&start=yesterday", 422, "start"},
		{"bad end", readToken, "name=cpu&end=2026-99-01", 422, "end"},
		{"bad max_points", readToken, "name=cpu&max_points=lots", 422, "max_points"},
		{"negative max_points", readToken, "name=cpu&max_points=-1", 422, "max_points"},
		{"cursor not base64", readToken, "name=cpu&cursor=***", 422, "cursor"},
		{"cursor wrong length", readToken, "name=cpu&cursor=" + base64.RawURLEncoding.EncodeToString([]byte("short")), 422, "cursor"},
		{"empty tag key", readToken, "name=cpu&tag.=x", 422, "tag"},
		{"use case says invalid", readToken, "start=1", 422, "name is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			a := e.do(http.MethodGet, "/api/metrics/query?"+tt.query, tt.tok, nil)
			if a.status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", a.status, tt.status, a.body)
			}
			if msg, _ := a.json(t)["error"].(string); !strings.Contains(msg, tt.errHas) {
				t.Errorf("error %q does not contain %q", msg, tt.errHas)
			}
		})
	}
}
