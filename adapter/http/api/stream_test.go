package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/http/api"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/usecase/live"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// revocableAuth is fakeAuth whose read token can be revoked.
type revocableAuth struct {
	fakeAuth
	revoked atomic.Bool
}

func (a *revocableAuth) Authenticate(ctx context.Context, raw string, need token.Scope) (tenancy.Principal, error) {
	if raw == readToken && a.revoked.Load() {
		return tenancy.Principal{}, token.ErrUnauthenticated
	}
	return a.fakeAuth.Authenticate(ctx, raw, need)
}

type liveEnv struct {
	srv  *httptest.Server
	hub  *live.Hub
	auth *revocableAuth
}

func newLiveEnv(t *testing.T, cfg live.Config) *liveEnv {
	t.Helper()
	e := &liveEnv{hub: live.NewHub(nil, cfg, slog.New(slog.DiscardHandler), nil), auth: &revocableAuth{}}
	h := newEnv(t, func(d *api.Deps) {
		d.Auth, d.Live = e.auth, e.hub
		d.LiveTiming = api.StreamTiming{Coalesce: 20 * time.Millisecond, Recheck: 50 * time.Millisecond, Heartbeat: 100 * time.Millisecond}
	}).h
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

// open starts a stream; it returns the answer and its events.
func (e *liveEnv) open(t *testing.T, query string, hdr ...string) (*http.Response, <-chan testservice.Event) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/api/metrics/stream?"+query, nil)
	req.Header.Set("X-API-Token", readToken)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp, testservice.ReadEvents(resp.Body)
}

func next(t *testing.T, events <-chan testservice.Event, name string) testservice.Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("stream closed waiting for %q", name)
			}
			if ev.Name == name {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %q event within 5 s", name)
		}
	}
}

func publish(h *live.Hub, id int64, tenant int64, samples ...metric.Sample) {
	h.Entry(live.Entry{ID: live.ID{Ms: id}, Batch: metric.Batch{TenantID: tenant, Samples: samples}})
}

func cpu(host string, ts int64, v float64) metric.Sample {
	return metric.Rehydrate("cpu", v, metric.Tags{{Key: "host", Value: host}}, ts, "")
}

type pointsData struct {
	Q      int `json:"q"`
	Series []struct {
		Tags   map[string]string `json:"tags"`
		Points []struct {
			TS    int64   `json:"ts"`
			Value float64 `json:"value"`
		} `json:"points"`
	} `json:"series"`
}

func decode[T any](t *testing.T, ev testservice.Event) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(ev.Data), &v); err != nil {
		t.Fatalf("event %s data %q: %v", ev.Name, ev.Data, err)
	}
	return v
}

func TestStreamProtocolAndPoints(t *testing.T) {
	e := newLiveEnv(t, live.Config{})
	resp, events := e.open(t, "name=cpu&tag.host=a")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for k, want := range map[string]string{"Content-Type": "text/event-stream; charset=utf-8", "X-Accel-Buffering": "no", "Cache-Control": "no-cache, no-transform"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q; want %q", k, got, want)
		}
	}
	if resp.Header.Get("Content-Encoding") != "" {
		t.Error("a stream must not be compressed")
	}
	ready := next(t, events, "ready")
	if ready.ID == "" || !strings.Contains(ready.Data, `"queries":1`) {
		t.Fatalf("ready = %+v", ready)
	}
	now := time.Now().UnixMilli()
	publish(e.hub, now, tenantID, cpu("a", now, 0.25), cpu("b", now, 0.5))
	publish(e.hub, now+1, 99, cpu("a", now, 99)) // another tenant's
	ev := next(t, events, "points")
	got := decode[pointsData](t, ev)
	if ev.ID != (live.ID{Ms: now}).String() || got.Q != 0 || len(got.Series) != 1 || got.Series[0].Tags["host"] != "a" ||
		len(got.Series[0].Points) != 1 || got.Series[0].Points[0].Value != 0.25 || got.Series[0].Points[0].TS != now {
		t.Fatalf("points event %+v", ev)
	}
	// The heartbeat comes while nothing happens.
	timeout := time.After(2 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Comment == "heartbeat" {
				return
			}
			if ev.Name == "points" {
				t.Fatalf("another tenant's points arrived: %+v", ev)
			}
		case <-timeout:
			t.Fatal("no heartbeat")
		}
	}
}

func TestStreamResumeFromLastEventID(t *testing.T) {
	e := newLiveEnv(t, live.Config{})
	_, events := e.open(t, "name=cpu")
	next(t, events, "ready")
	now := time.Now().UnixMilli()
	publish(e.hub, now, tenantID, cpu("a", now, 1))
	seen := next(t, events, "points")
	publish(e.hub, now+1, tenantID, cpu("a", now+1, 2))
	publish(e.hub, now+2, tenantID, cpu("a", now+2, 3))

	_, again := e.open(t, "q="+url.QueryEscape("name=cpu"), "Last-Event-ID", seen.ID)
	next(t, again, "ready")
	var got []float64
	for len(got) < 2 {
		for _, s := range decode[pointsData](t, next(t, again, "points")).Series {
			for _, p := range s.Points {
				got = append(got, p.Value)
			}
		}
	}
	if len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Fatalf("resumed points %v; want exactly the missed [2 3]", got)
	}
	_, gap := e.open(t, "name=cpu&last_event_id=1000-0")
	if ev := next(t, gap, "gap"); !strings.Contains(ev.Data, `"from":1000`) {
		t.Fatalf("gap event %+v", ev)
	}
}

func TestStreamEndsWhenTheTokenIsRevoked(t *testing.T) {
	e := newLiveEnv(t, live.Config{})
	_, events := e.open(t, "name=cpu")
	next(t, events, "ready")
	e.auth.revoked.Store(true)
	if ev := next(t, events, "end"); !strings.Contains(ev.Data, "revoked") {
		t.Fatalf("end event %+v", ev)
	}
	for range events { // the server closes the stream
	}
	if e.hub.Open() != 0 {
		t.Fatalf("%d streams still open", e.hub.Open())
	}
}

func TestStreamRefusals(t *testing.T) {
	e := newLiveEnv(t, live.Config{MaxStreamsPerTenant: 1})
	_, events := e.open(t, "name=cpu")
	next(t, events, "ready")
	resp, _ := e.open(t, "name=cpu")
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "1 streams per tenant") {
		t.Fatalf("over the cap: %d %q", resp.StatusCode, body)
	}
	for _, q := range []string{"", "name=cpu&agg=median", "q=%zz", "name=cpu&last_event_id=soon"} {
		resp, _ := e.open(t, q)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%q: status %d; want 422", q, resp.StatusCode)
		}
	}
	plain := newEnv(t) // no hub
	if a := plain.do(http.MethodGet, "/api/metrics/stream?name=cpu", readToken, nil); a.status != http.StatusNotImplemented {
		t.Fatalf("without a hub: %d", a.status)
	}
	if a := plain.do(http.MethodGet, "/api/metrics/stream?name=cpu", ingestToken, nil); a.status != http.StatusForbidden {
		t.Fatalf("an ingest token: %d; want 403", a.status)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}

// A stream outlives the request timeout (2 s here) that bounds every
// other request.
func TestStreamOutlivesTheRequestTimeout(t *testing.T) {
	e := newLiveEnv(t, live.Config{})
	_, events := e.open(t, "name=cpu")
	next(t, events, "ready")
	time.Sleep(2500 * time.Millisecond)
	now := time.Now().UnixMilli()
	publish(e.hub, now, tenantID, cpu("a", now, 1))
	next(t, events, "points")
}
