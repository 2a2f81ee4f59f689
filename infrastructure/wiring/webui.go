package wiring

import (
	"log/slog"
	"net/http"

	"github.com/pulsemetrics/pulse/adapter/http/api"
	"github.com/pulsemetrics/pulse/adapter/http/webui"
	dashboardstore "github.com/pulsemetrics/pulse/adapter/store/dashboards"
	"github.com/pulsemetrics/pulse/adapter/store/samples"
	"github.com/pulsemetrics/pulse/adapter/store/tenants"
	"github.com/pulsemetrics/pulse/adapter/store/users"
	"github.com/pulsemetrics/pulse/frontend"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/usecase/accounts"
	"github.com/pulsemetrics/pulse/usecase/alerting"
	"github.com/pulsemetrics/pulse/usecase/catalogue"
	"github.com/pulsemetrics/pulse/usecase/dashboards"
	"github.com/pulsemetrics/pulse/usecase/export"
	"github.com/pulsemetrics/pulse/usecase/notification"
	"github.com/pulsemetrics/pulse/usecase/query"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// WebUI is the dashboard's handler, served by the API's router for every
// path outside /api/ that no API route matches.
type WebUI http.Handler

// ProvideAccounts builds the accounts use case (users, logins, sessions)
// on the store; login throttling counts live in the database, so API
// replicas share them. The audit trail is the tenancy one.
func ProvideAccounts(us *users.Store, ten *tenants.Store, clock Clock) *accounts.Service {
	return accounts.NewService(us, us, us, ten, tenancy.AuditFunc(ten.RecordAudit), nil, nil, clock)
}

// ProvideDashboards builds the dashboards use case.
func ProvideDashboards(st *dashboardstore.Store, clock Clock) *dashboards.Service {
	return dashboards.NewService(st, st, clock)
}

// ProvideWebUI builds the dashboard: Inertia pages over the embedded Vite
// build (or PULSE_UI_DEV_URL), and the REST API's query and names handlers
// behind the login session, and the alerting routes under /ui/api.
func ProvideWebUI(cfg *config.Config, acc *accounts.Service, dash *dashboards.Service, qs *query.Service,
	st *samples.Store, al *alerting.Service, nt *notification.Service, ex *export.Service, ten *tenancy.Service, hub LiveHub, log *slog.Logger,
	clock Clock) WebUI {
	read := api.NewReadHandlers(api.ReadDeps{
		Query: qs, Catalogue: catalogue.NewService(st), Principal: webui.PrincipalFrom, Logger: log, Now: clock,
	})
	return webui.New(webui.Deps{
		Accounts: acc, Dashboards: dash, Dist: frontend.Dist, DevURL: cfg.UIDevURL,
		MetricsQuery: read.Query, MetricsNames: read.Names,
		MetricsStream: api.NewStreamHandler(api.StreamDeps{Live: hub.Hub, Principal: webui.PrincipalFrom, Recheck: sessionRecheck,
			Replay: cfg.Live.Replay, Logger: log}), TrustProxy: cfg.TrustProxy, Logger: log.With("component", "webui"),
		Alerts:        api.NewAlertHandlers(api.AlertDeps{Alerts: al, Principal: webui.PrincipalFrom, Logger: log}),
		Notifications: api.NewNotificationHandlers(api.NotificationDeps{Notifications: nt, Principal: webui.PrincipalFrom, Logger: log}),
		Exports:       api.NewExportHandlers(api.ExportDeps{Exports: ex, Principal: webui.PrincipalFrom, Logger: log}),
		FiringCount:   al.FiringCount,
		HealthQuery:   healthQuery(qs, st, ten, log, clock), HealthEvery: cfg.HealthEvery,
		HealthStream: healthStream(cfg, hub, ten, log),
	})
}

// sessionRecheck is the web UI's Recheck: the request's session again.
func sessionRecheck(r *http.Request) api.Recheck { return webui.RecheckFrom(r) }
