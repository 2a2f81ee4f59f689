package webui

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/pulsemetrics/pulse/adapter/http/inertia"
	"github.com/pulsemetrics/pulse/domain/account"
)

// The Health page (docs/dashboard.md "Health"): Pulse's own pipeline
// figures, which every process records into the internal tenant
// (infrastructure/selfmetrics). A super-admin sees all of them; a tenant
// admin the ingest figures of their own tenant; a viewer none. The charts
// load through /ui/api/health/query, which narrows each query to what the
// user may see before the query handler runs it on the internal tenant.

const (
	healthQueryURL  = "/ui/api/health/query"
	healthStreamURL = "/ui/api/health/stream"
)

// healthLiveURL is the page's live_url: the stream when there is one.
func (u *ui) healthLiveURL() any {
	if !u.healthLive {
		return nil
	}
	return healthStreamURL
}

// healthPanel is one chart of the page.
type healthPanel struct {
	Title string            `json:"title"`
	Name  string            `json:"name"`
	Tags  map[string]string `json:"tags"`
	Unit  string            `json:"unit"`
	Agg   string            `json:"agg"`
}

func panel(title, name, unit, agg string, tags ...string) healthPanel {
	p := healthPanel{Title: title, Name: name, Tags: map[string]string{}, Unit: unit, Agg: agg}
	for i := 0; i+1 < len(tags); i += 2 {
		p.Tags[tags[i]] = tags[i+1]
	}
	return p
}

// allPanels are a super-admin's: every figure. Percentiles and gauges
// chart their worst value per bucket (max), medians and rates the mean.
var allPanels = []healthPanel{
	panel("HTTP ingest latency p50", "pulse.ingest.latency.p50", "s", "avg", "door", "http"),
	panel("HTTP ingest latency p99", "pulse.ingest.latency.p99", "s", "max", "door", "http"),
	panel("MQTT ingest latency p50", "pulse.ingest.latency.p50", "s", "avg", "door", "mqtt"),
	panel("MQTT ingest latency p99", "pulse.ingest.latency.p99", "s", "max", "door", "mqtt"),
	panel("Samples accepted", "pulse.ingest.accepted", "samples/s", "avg"),
	panel("Samples refused", "pulse.ingest.refused", "samples/s", "avg"),
	panel("Queue depth", "pulse.queue.depth", "entries", "max"),
	panel("Oldest queue entry", "pulse.queue.oldest_age_seconds", "s", "max"),
	panel("Dead letters", "pulse.queue.dead_letters", "entries", "max"),
	panel("Flush latency p99", "pulse.flush.latency.p99", "s", "max"),
	panel("Flush lag p99", "pulse.flush.lag_seconds", "s", "max"),
	panel("Rollup pending", "pulse.rollup.pending", "ranges", "max"),
	panel("Since retention last ran", "pulse.retention.last_run_age_seconds", "s", "max"),
	panel("Live streams (SSE)", "pulse.live.streams", "streams", "max"),
	panel("Alert evaluation p99", "pulse.alert.eval.latency.p99", "s", "max"),
	panel("Alert evaluation lag p99", "pulse.alert.eval.lag_seconds", "s", "max"),
	panel("Notification backlog", "pulse.notify.backlog", "entries", "max"),
}

// tenantPanels are a tenant admin's: their tenant's ingest figures (the
// latencies are recorded per door, not per tenant).
func tenantPanels(slug string) []healthPanel {
	return []healthPanel{
		panel("Samples accepted", "pulse.ingest.accepted", "samples/s", "avg", "tenant", slug),
		panel("Samples refused", "pulse.ingest.refused", "samples/s", "avg", "tenant", slug),
	}
}

// healthScope is what a visitor may see of the figures: all, their
// tenant's (tenant), or nothing (!ok).
type healthScope struct {
	ok, all bool
	tenant  string
}

func healthScopeOf(v *visit) healthScope {
	switch {
	case !v.loggedIn():
		return healthScope{}
	case v.current.User.SuperAdmin:
		return healthScope{ok: true, all: true}
	case v.current.User.Role == account.RoleAdmin && v.current.Tenant != nil:
		return healthScope{ok: true, tenant: v.current.Tenant.Slug}
	}
	return healthScope{}
}

const healthForbidden = "the Health page is for admins: a tenant admin sees their tenant's ingest figures, a super-admin all of them"

// showHealth serves GET /health (component Health).
func (u *ui) showHealth(w http.ResponseWriter, r *http.Request) {
	sc := healthScopeOf(visitFrom(r.Context()))
	if !sc.ok {
		writeJSONError(w, http.StatusForbidden, healthForbidden)
		return
	}
	props := inertia.Props{"scope": "all", "tenant": nil, "panels": allPanels, "query_url": healthQueryURL,
		"live_url": u.healthLiveURL(), "every_seconds": int(u.healthEvery.Seconds())}
	if !sc.all {
		props["scope"], props["tenant"], props["panels"] = "tenant", sc.tenant, tenantPanels(sc.tenant)
	}
	u.render(w, r, "Health", props)
}

// healthQuery narrows a Health chart's query (the parameters of
// /ui/api/metrics/query) to what the visitor may see, then hands it to
// next, which answers for the internal tenant whoever asks: so this is
// the only gate. A name outside pulse.* is 422; a tenant admin may read
// pulse.ingest.* only (else 403), always filtered on tag.tenant = their
// tenant (set when absent; another tenant is 403). nil next stays nil (501).
// The live stream's twin narrows each of its queries (q=…) the same way.
func (u *ui) healthQuery(next http.Handler) http.Handler {
	if next == nil {
		return nil
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sc := healthScopeOf(visitFrom(r.Context()))
		if !sc.ok {
			writeJSONError(w, http.StatusForbidden, healthForbidden)
			return
		}
		q := r.URL.Query()
		if subs, isStream := q["q"]; isStream {
			for i, raw := range subs {
				one, err := url.ParseQuery(raw)
				if err != nil {
					writeJSONError(w, http.StatusUnprocessableEntity, "q: each query is URL-encoded parameters (name=…&tag.k=v)")
					return
				}
				if status, msg := sc.narrow(one); status != 0 {
					writeJSONError(w, status, msg)
					return
				}
				subs[i] = one.Encode()
			}
		} else if status, msg := sc.narrow(q); status != 0 {
			writeJSONError(w, status, msg)
			return
		}
		narrowed := r.Clone(r.Context())
		narrowed.URL.RawQuery = q.Encode()
		next.ServeHTTP(w, narrowed)
	})
}

// narrow applies the visitor's scope to one query's parameters, in place;
// a non-zero status refuses it.
func (sc healthScope) narrow(q url.Values) (int, string) {
	name := q.Get("name")
	if !strings.HasPrefix(name, "pulse.") {
		return http.StatusUnprocessableEntity, "name: the Health page reads Pulse's own figures only (pulse.*)"
	}
	q["name"] = []string{name} // the one the query handler reads
	if sc.all {
		return 0, ""
	}
	if !strings.HasPrefix(name, "pulse.ingest.") {
		return http.StatusForbidden, "a tenant admin sees the ingest figures (pulse.ingest.*) of their own tenant only"
	}
	for _, t := range q["tag.tenant"] {
		if t != sc.tenant {
			return http.StatusForbidden, "a tenant admin sees their own tenant's figures only"
		}
	}
	q["tag.tenant"] = []string{sc.tenant}
	return 0, ""
}
