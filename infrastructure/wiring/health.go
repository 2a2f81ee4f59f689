package wiring

import (
	"log/slog"
	"net/http"

	"github.com/pulsemetrics/pulse/adapter/http/api"
	"github.com/pulsemetrics/pulse/adapter/store/samples"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/selfmetrics"
	"github.com/pulsemetrics/pulse/infrastructure/telemetry"
	"github.com/pulsemetrics/pulse/usecase/catalogue"
	"github.com/pulsemetrics/pulse/usecase/ingest"
	"github.com/pulsemetrics/pulse/usecase/query"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// HealthRecorder is a process's own-figures loop: every PULSE_HEALTH_EVERY
// it records its registry into the internal tenant (0: it records nothing).
type HealthRecorder struct{ *selfmetrics.Recorder }

// ProvideHealthRecorder records this process's figures through the ingest
// use case itself, not through a door, so that its own samples stay out of
// the doors' figures; the internal tenant is created on the first tick.
func ProvideHealthRecorder(cfg *config.Config, role Role, reg *telemetry.Registry, in *ingest.Service, ten *tenancy.Service,
	log *slog.Logger, clock Clock) HealthRecorder {
	return HealthRecorder{selfmetrics.New(reg, in, ten.InternalTenantID, selfmetrics.Options{
		Every: cfg.HealthEvery, Role: string(role), Now: clock, Log: log.With("component", "health"), Registerer: reg,
	})}
}

// healthQuery answers the Health page's chart queries for the internal
// tenant, whoever asks: the web UI narrows each query to what its visitor
// may see before this runs (adapter/http/webui/health.go).
func healthQuery(qs *query.Service, st *samples.Store, ten *tenancy.Service, log *slog.Logger, clock Clock) http.Handler {
	return api.NewReadHandlers(api.ReadDeps{
		Query: qs, Catalogue: catalogue.NewService(st), Logger: log, Now: clock, Principal: internalPrincipal(ten),
	}).Query
}

// healthStream is the Health page's live stream, for the internal tenant
// as healthQuery is, ended with the visitor's session.
func healthStream(cfg *config.Config, hub LiveHub, ten *tenancy.Service, log *slog.Logger) http.Handler {
	return api.NewStreamHandler(api.StreamDeps{Live: hub.Hub, Principal: internalPrincipal(ten), Recheck: sessionRecheck,
		Replay: cfg.Live.Replay, Logger: log})
}

func internalPrincipal(ten *tenancy.Service) api.PrincipalFunc {
	return func(r *http.Request) (tenancy.Principal, error) {
		id, err := ten.InternalTenantID(r.Context())
		if err != nil {
			return tenancy.Principal{}, err
		}
		return tenancy.Principal{TokenID: "health-page", TenantID: id, TenantSlug: tenant.InternalSlug, Scopes: []token.Scope{token.ScopeRead}}, nil
	}
}
