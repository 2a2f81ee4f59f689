package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/http/api"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/catalogue"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// The session door's read handlers answer byte for byte what the token
// routes answer, for the principal the door gives.
func TestReadHandlersMatchTheAPI(t *testing.T) {
	e, lister := newNamesEnv(t)
	e.querier.page = metric.Page{Interval: "raw", Series: []metric.SeriesPoints{{
		Tags: metric.SortedTags(map[string]string{"host": "a"}), Points: []metric.Point{{TS: 1000, Value: 1.5, Min: 1.5, Max: 1.5, Count: 1}},
	}}}
	lister.names = []metric.NameInfo{{Name: "cpu.load"}}
	var principal tenancy.Principal
	var principalErr error
	read := api.NewReadHandlers(api.ReadDeps{
		Query: e.querier, Catalogue: catalogue.NewService(lister), Now: func() time.Time { return testNow },
		Principal: func(*http.Request) (tenancy.Principal, error) { return principal, principalErr },
	})
	serve := func(h http.Handler, target string) answer {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		return answer{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	}
	principal = tenancy.Principal{TokenID: "user:1", TenantID: tenantID}
	for _, c := range []struct {
		h         http.Handler
		api, path string
	}{
		{read.Query, "/api/metrics/query", "?name=cpu.load&start=0&end=2000"},
		{read.Query, "/api/metrics/query", "?name="},
		{read.Names, "/api/metrics/names", "?limit=10"},
		{read.Names, "/api/metrics/names", "?limit=-1"},
	} {
		want := e.do(http.MethodGet, c.api+c.path, readToken, nil)
		got := serve(c.h, "/ui"+c.api+c.path)
		if got.status != want.status || !bytes.Equal(got.body, want.body) {
			t.Errorf("%s%s: %d %s, the API answers %d %s", c.api, c.path, got.status, got.body, want.status, want.body)
		}
	}
	if q := e.querier.last(); q.TenantID != tenantID {
		t.Errorf("query tenant %d, want the principal's %d", q.TenantID, tenantID)
	}
	for err, status := range map[error]int{token.ErrUnauthenticated: 401, token.ErrForbidden: 403} {
		principalErr = err
		if a := serve(read.Query, "/ui/api/metrics/query?name=cpu.load"); a.status != status {
			t.Errorf("principal error %v: %d, want %d", err, a.status, status)
		}
	}
}

func TestWebUIFallback(t *testing.T) {
	ui := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	e := newEnv(t, func(d *api.Deps) { d.WebUI = ui })
	for target, want := range map[string]int{"/": 418, "/login": 418, "/dashboards/1": 418, "/api/nope": 404, "/api": 404, "/healthz": 200} {
		if a := e.do(http.MethodGet, target, "", nil); a.status != want {
			t.Errorf("GET %s: %d, want %d", target, a.status, want)
		}
	}
	if a := e.do(http.MethodGet, "/api/metrics", "", nil); a.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /api/metrics: %d, want 405 (the API's, not the UI's)", a.status)
	}
}
