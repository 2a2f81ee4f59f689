package webui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/http/api"
	"github.com/pulsemetrics/pulse/adapter/http/webui"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/rollup"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/catalogue"
	"github.com/pulsemetrics/pulse/usecase/query"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// echoHealth stands for the internal tenant's query handler in the
// matrix: it answers with the query it was handed, so a row can tell
// which tenant's figures would have been read.
var echoHealth = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if subs := q["q"]; len(subs) > 0 { // the stream: its first query tells
		q, _ = url.ParseQuery(subs[0])
	}
	_ = json.NewEncoder(rw).Encode(map[string]any{"kind": "health", "name": q.Get("name"), "tenant": q.Get("tag.tenant"), "query": r.URL.RawQuery})
})

func healthStreamURL(tg target) string {
	return "/ui/api/health/stream?q=" + url.QueryEscape("name=pulse.ingest.accepted&tag.tenant="+tg.slug)
}

func healthURL(tg target) string {
	return "/ui/api/health/query?name=pulse.ingest.accepted&tag.tenant=" + tg.slug
}

// healthWorld is a world whose HealthQuery is the real query handler over
// the internal tenant, which holds figures of both tenants and of the queue.
func healthWorld(t *testing.T) *world {
	t.Helper()
	var w *world
	w = newWorldWith(t, func(d *webui.Deps) {
		d.HealthEvery = 10 * time.Second
		d.HealthQuery = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { healthHandler(t, w).ServeHTTP(rw, r) })
	})
	ctx := context.Background()
	internal, err := w.store.CreateTenant(ctx, tenant.Internal(w.clock.now()))
	if err != nil {
		t.Fatal(err)
	}
	w.tenantIDs[tenant.InternalSlug] = internal.ID
	at := w.clock.now().Add(-time.Minute)
	var samples []metric.Sample
	for _, in := range []metric.Input{
		{Name: "pulse.ingest.accepted", Value: 11, Tags: map[string]string{"door": "http", "tenant": "alpha", "role": "all", "instance": "h/1"}},
		{Name: "pulse.ingest.accepted", Value: 22, Tags: map[string]string{"door": "http", "tenant": "bravo", "role": "all", "instance": "h/1"}},
		{Name: "pulse.queue.depth", Value: 5, Tags: map[string]string{"role": "all", "instance": "h/1"}},
	} {
		in.HasValue, in.TS, in.HasTS = true, at, true
		s, errs := metric.New(in, metric.DefaultLimits(), w.clock.now())
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		samples = append(samples, s)
	}
	if _, err := w.store.WriteBatches(ctx, []metric.Batch{{ID: "figures", TenantID: internal.ID, AcceptedAt: at, Samples: samples}}); err != nil {
		t.Fatal(err)
	}
	return w
}

func healthHandler(t *testing.T, w *world) http.Handler {
	steps, err := rollup.ParseSteps("1m,5m,1h")
	if err != nil {
		t.Fatal(err)
	}
	return api.NewReadHandlers(api.ReadDeps{
		Query: query.NewService(w.store, steps), Catalogue: catalogue.NewService(w.store), Now: w.clock.now,
		Principal: func(*http.Request) (tenancy.Principal, error) {
			return tenancy.Principal{TenantID: w.tenantIDs[tenant.InternalSlug], Scopes: []token.Scope{token.ScopeRead}}, nil
		},
	}).Query
}

func TestHealthPage(t *testing.T) {
	w := healthWorld(t)
	root := w.browser()
	root.login("root@platform.test")
	a := root.inertia(http.MethodGet, "/health", nil)
	p := page(t, a)
	pr := props(t, a)
	if a.status != http.StatusOK || p["component"] != "Health" {
		t.Fatalf("super-admin: %d %v", a.status, p["component"])
	}
	if pr["scope"] != "all" || pr["tenant"] != nil || pr["query_url"] != "/ui/api/health/query" || pr["live_url"] != "/ui/api/health/stream" || pr["every_seconds"] != 10.0 {
		t.Errorf("super-admin props = %v", pr)
	}
	names := map[string]bool{}
	for _, x := range pr["panels"].([]any) {
		pn := x.(map[string]any)
		names[pn["name"].(string)] = true
		if pn["title"] == "" || pn["unit"] == "" || !strings.Contains("avg max sum", pn["agg"].(string)) || pn["tags"] == nil {
			t.Errorf("panel %v lacks a field", pn)
		}
	}
	for _, want := range []string{"pulse.ingest.latency.p50", "pulse.ingest.latency.p99", "pulse.ingest.accepted", "pulse.ingest.refused",
		"pulse.queue.depth", "pulse.queue.oldest_age_seconds", "pulse.flush.latency.p99", "pulse.flush.lag_seconds", "pulse.rollup.pending",
		"pulse.retention.last_run_age_seconds", "pulse.live.streams", "pulse.alert.eval.latency.p99", "pulse.alert.eval.lag_seconds", "pulse.notify.backlog"} {
		if !names[want] {
			t.Errorf("no panel of %s for a super-admin", want)
		}
	}
	if pr["can_see_health"] != true {
		t.Error("can_see_health false for a super-admin")
	}

	admin := w.browser()
	admin.login("admin@alpha.test")
	pr = props(t, admin.inertia(http.MethodGet, "/health", nil))
	if pr["scope"] != "tenant" || pr["tenant"] != "alpha" {
		t.Errorf("tenant admin: scope %v tenant %v", pr["scope"], pr["tenant"])
	}
	panels := pr["panels"].([]any)
	if len(panels) == 0 {
		t.Fatal("no panels for a tenant admin")
	}
	for _, x := range panels {
		pn := x.(map[string]any)
		if !strings.HasPrefix(pn["name"].(string), "pulse.ingest.") || pn["tags"].(map[string]any)["tenant"] != "alpha" {
			t.Errorf("tenant admin's panel %v: want alpha's ingest figures only", pn)
		}
	}

	viewer := w.browser()
	viewer.login("viewer@alpha.test")
	if a := viewer.inertia(http.MethodGet, "/health", nil); a.status != http.StatusForbidden {
		t.Errorf("viewer: %d, want 403", a.status)
	}
	if pr := props(t, viewer.inertia(http.MethodGet, "/dashboards", nil)); pr["can_see_health"] != false {
		t.Errorf("viewer's can_see_health = %v", pr["can_see_health"])
	}
	out := w.browser()
	if a := out.inertia(http.MethodGet, "/health", nil); a.status != http.StatusSeeOther || !strings.HasSuffix(a.location(), "/login") {
		t.Errorf("logged out: %d %s, want 303 /login", a.status, a.location())
	}
}

// seriesTenants lists the tenant tags of a query answer's series.
func seriesTenants(t *testing.T, a answer) []string {
	t.Helper()
	var ans struct {
		Series []struct{ Tags map[string]string } `json:"series"`
	}
	if err := json.Unmarshal([]byte(a.body), &ans); err != nil {
		t.Fatalf("not a query answer (%d): %s", a.status, a.body)
	}
	var out []string
	for _, s := range ans.Series {
		out = append(out, s.Tags["tenant"])
	}
	sort.Strings(out)
	return out
}

func TestHealthQueryScoping(t *testing.T) {
	w := healthWorld(t)
	q := "/ui/api/health/query?start=" + w.clock.now().Add(-time.Hour).Format(time.RFC3339) + "&name="
	admin := w.browser()
	admin.login("admin@alpha.test")
	root := w.browser()
	root.login("root@platform.test")
	viewer := w.browser()
	viewer.login("viewer@alpha.test")
	cases := []struct {
		who     *browser
		url     string
		status  int
		tenants []string // the series' tenant tags, for a 200
	}{
		{admin, q + "pulse.ingest.accepted", 200, []string{"alpha"}},
		{admin, q + "pulse.ingest.accepted&tag.tenant=alpha", 200, []string{"alpha"}},
		{admin, q + "pulse.ingest.accepted&tag.tenant=bravo", 403, nil},
		{admin, q + "pulse.ingest.accepted&tag.tenant=alpha&tag.tenant=bravo", 403, nil},
		{admin, q + "pulse.ingest.accepted&tag%2Etenant=bravo", 403, nil},
		{admin, q + "pulse.queue.depth", 403, nil},
		{admin, q + "cpu.load", 422, nil},
		{admin, q + "pulse.ingest.accepted&name=pulse.queue.depth", 200, []string{"alpha"}},
		{viewer, q + "pulse.ingest.accepted", 403, nil},
		{root, q + "pulse.ingest.accepted", 200, []string{"alpha", "bravo"}},
		{root, q + "pulse.ingest.accepted&tag.tenant=bravo", 200, []string{"bravo"}},
		{root, q + "pulse.queue.depth", 200, []string{""}},
		{root, q + "secret.metric.alpha", 422, nil},
		{w.browser(), q + "pulse.ingest.accepted", 401, nil},
	}
	for i, c := range cases {
		t.Run(fmt.Sprint(i, " ", c.url), func(t *testing.T) {
			a := c.who.do(http.MethodGet, c.url, nil)
			if a.status != c.status {
				t.Fatalf("status %d, want %d: %s", a.status, c.status, a.body)
			}
			if c.status != 200 {
				if strings.Contains(a.body, "series") {
					t.Errorf("a refusal carries data: %s", a.body)
				}
				return
			}
			if got := seriesTenants(t, a); fmt.Sprint(got) != fmt.Sprint(c.tenants) {
				t.Errorf("series of tenants %v, want %v: %s", got, c.tenants, a.body)
			}
		})
	}
}

// The live stream's queries are narrowed one by one as the chart queries
// are: a tenant admin's are pinned to their tenant, and one query out of
// scope refuses the whole stream.
func TestHealthStreamScoping(t *testing.T) {
	w := newWorld(t)
	admin := w.browser()
	admin.login("admin@alpha.test")
	stream := func(qs ...string) string {
		v := url.Values{}
		for _, q := range qs {
			v.Add("q", q)
		}
		return "/ui/api/health/stream?" + v.Encode()
	}
	a := admin.do(http.MethodGet, stream("name=pulse.ingest.accepted", "name=pulse.ingest.refused&tag.door=http"), nil)
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	var got struct{ Query string }
	if err := json.Unmarshal([]byte(a.body), &got); err != nil {
		t.Fatal(err)
	}
	qs, _ := url.ParseQuery(got.Query)
	for _, q := range qs["q"] {
		one, _ := url.ParseQuery(q)
		if one.Get("tag.tenant") != "alpha" {
			t.Fatalf("query %q handed on without the tenant pinned", q)
		}
	}
	for _, bad := range []struct {
		qs     []string
		status int
	}{
		{[]string{"name=pulse.ingest.accepted", "name=pulse.queue.depth"}, 403},
		{[]string{"name=pulse.ingest.accepted&tag.tenant=bravo"}, 403},
		{[]string{"name=cpu.load"}, 422},
		{[]string{"%zz"}, 422},
	} {
		if a := admin.do(http.MethodGet, stream(bad.qs...), nil); a.status != bad.status {
			t.Errorf("%v: status %d, want %d", bad.qs, a.status, bad.status)
		}
	}
}
