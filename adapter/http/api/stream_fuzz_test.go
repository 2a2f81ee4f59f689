package api

import (
	"encoding/json"
	"math"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/usecase/live"
)

// Any update the hub can hand over reaches the client intact: written as an
// event and read back as EventSource would (testservice.ReadEvents), its
// tags, timestamps and values are the same, bit for bit.
func FuzzStreamEventRoundTrip(f *testing.F) {
	f.Add("host", "web-1", int64(1_800_000_000_000), 0.25, 3)
	f.Add("k\u00e9y", "line\nbreak: data\r\n\n", int64(0), -1e308, 1)
	f.Add("", "", int64(-5), 5e-324, 0)
	f.Fuzz(func(t *testing.T, key, value string, ts int64, v float64, n int) {
		if math.IsNaN(v) || math.IsInf(v, 0) || !utf8.ValidString(key) || !utf8.ValidString(value) {
			return // refused at ingest: never in the store, never live
		}
		id := live.ID{Ms: max(ts, 0), Seq: int64(n)}.String()
		n = min(max(n, 0), 50)
		ser := live.Series{Tags: metric.Tags{{Key: key, Value: value}}}
		for i := range n {
			ser.Points = append(ser.Points, live.Point{TS: ts + int64(i), Value: v / float64(i+1)})
		}
		u := live.Update{Query: n % 3, Series: []live.Series{ser}}
		rec := httptest.NewRecorder()
		if err := newEventWriter(rec, 0).event("points", id, updateWire(u)); err != nil {
			t.Fatal(err)
		}
		ev, ok := <-testservice.ReadEvents(rec.Body)
		if !ok || ev.Name != "points" || ev.ID != id {
			t.Fatalf("event %+v from %q", ev, rec.Body.String())
		}
		var got updateEvent
		if err := json.Unmarshal([]byte(ev.Data), &got); err != nil {
			t.Fatalf("data %q: %v", ev.Data, err)
		}
		want := updateWire(u)
		if got.Query != want.Query || len(got.Series) != 1 || len(got.Series[0].Points) != len(want.Series[0].Points) {
			t.Fatalf("got %+v; want %+v", got, want)
		}
		if gv, wv := got.Series[0].Tags[key], want.Series[0].Tags[key]; gv != wv {
			t.Fatalf("tag %q = %q; want %q", key, gv, wv)
		}
		for i, p := range got.Series[0].Points {
			if w := want.Series[0].Points[i]; p.TS != w.TS || p.Value != w.Value {
				t.Fatalf("point %d = %+v; want %+v", i, p, w)
			}
		}
	})
}
