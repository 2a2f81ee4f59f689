package api

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/pulsemetrics/pulse/domain/token"
)

// tenantLabels are the labels that name a tenant; series carrying one are
// served only to a platform admin.
var tenantLabels = map[string]bool{"tenant": true, "tenant_id": true}

// metricsHandler serves the process's exposition. An anonymous scraper
// (the public listener is public) sees the process's own figures but no
// per-tenant series, which would tell who the tenants are and how much
// each sends; a platform admin token (X-API-Token, or Authorization:
// Bearer as Prometheus sends it) sees everything.
func (s *server) metricsHandler(gat prometheus.Gatherer) http.Handler {
	full := promhttp.HandlerFor(gat, promhttp.HandlerOpts{})
	public := promhttp.HandlerFor(withoutTenants{gat}, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.Header.Get(tokenHeader)
		if raw == "" {
			raw, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
		if raw == "" || s.auth == nil {
			public.ServeHTTP(w, r)
			return
		}
		if _, err := s.auth.Authenticate(r.Context(), raw, token.ScopePlatform); err != nil {
			s.writeError(w, err)
			return
		}
		full.ServeHTTP(w, r)
	})
}

// withoutTenants drops every series that carries a tenant label.
type withoutTenants struct{ prometheus.Gatherer }

func (g withoutTenants) Gather() ([]*dto.MetricFamily, error) {
	fams, err := g.Gatherer.Gather()
	out := fams[:0]
	for _, f := range fams {
		kept := f.Metric[:0]
		for _, m := range f.Metric {
			if !namesTenant(m) {
				kept = append(kept, m)
			}
		}
		if len(kept) > 0 {
			f.Metric = kept
			out = append(out, f)
		}
	}
	return out, err
}

func namesTenant(m *dto.Metric) bool {
	for _, l := range m.GetLabel() {
		if tenantLabels[l.GetName()] {
			return true
		}
	}
	return false
}
