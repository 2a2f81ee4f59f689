package wiring

import (
	"log/slog"
	"net/http"

	"github.com/pulsemetrics/pulse/adapter/http/api"
	"github.com/pulsemetrics/pulse/adapter/store/samples"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/infrastructure/app"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/telemetry"
	"github.com/pulsemetrics/pulse/usecase/alerting"
	"github.com/pulsemetrics/pulse/usecase/catalogue"
	"github.com/pulsemetrics/pulse/usecase/export"
	"github.com/pulsemetrics/pulse/usecase/flush"
	"github.com/pulsemetrics/pulse/usecase/ingest"
	"github.com/pulsemetrics/pulse/usecase/notification"
	"github.com/pulsemetrics/pulse/usecase/query"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// ProvideRegistry is the process's Prometheus registry.
func ProvideRegistry(role Role) *telemetry.Registry { return telemetry.NewRegistry(string(role)) }

// Workers are the flush loops of a worker process.
type Workers []app.Loop

// ProvideWorkers builds PULSE_WORKER_CONCURRENCY flush loops.
func ProvideWorkers(cfg *config.Config, q Queue, st *samples.Store, ten *tenancy.Service, feed LiveFeed, reg *telemetry.Registry, log *slog.Logger) Workers {
	m := reg.Flush(ten.TenantName)
	reg.RegisterQueue(q)
	out := make(Workers, cfg.WorkerConcurrency)
	for i := range out {
		w := flush.NewWorker(reg.FlushLag(q), st, flush.Config{ChunkSamples: cfg.FlushChunk, Linger: cfg.FlushLinger, AckDelay: cfg.FlushAckDelay}, log.With("worker", i))
		w.OnFlushed = m.Observe
		w.Live = feed
		out[i] = w
	}
	return out
}

// ExtraChecks are readiness checks beyond the database and the queue.
type ExtraChecks map[string]api.Checker

// NoExtraChecks is for processes without an MQTT door.
func NoExtraChecks() ExtraChecks { return nil }

// MQTTChecks makes /readyz report the MQTT door.
func MQTTChecks(door *MQTTDoor) ExtraChecks { return ExtraChecks{"mqtt": door.Ready} }

func checks(db *sqldb.DB, q Queue, extra ExtraChecks) map[string]api.Checker {
	m := map[string]api.Checker{
		"database": db.Ping,
		"queue":    queueReady(q),
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// ProvideAPIHandler is the full HTTP API, with the dashboard (WebUI) for
// every other path.
func ProvideAPIHandler(cfg *config.Config, ten *tenancy.Service, in *ingest.Service, qs *query.Service,
	db *sqldb.DB, st *samples.Store, q Queue, al *alerting.Service, nt *notification.Service, hub LiveHub, ex *export.Service, reg *telemetry.Registry,
	log *slog.Logger, clock Clock, extra ExtraChecks, ui WebUI) http.Handler {
	reg.RegisterQueue(q)
	return api.NewRouter(api.Deps{
		Auth: ten, Ingest: reg.Ingest(ten.TenantName).Door("http", in), Query: qs, Admin: ten, TrustProxy: cfg.TrustProxy,
		Catalogue: catalogue.NewService(st),
		Checks:    checks(db, q, extra),
		Limits: api.Limits{MaxBodyBytes: cfg.MaxBodyBytes, MaxDecodedBytes: cfg.MaxDecodedBytes, MaxSamples: cfg.MaxSamples,
			RequestTimeout: cfg.RequestTimeout},
		SampleLimits: metric.DefaultLimits(),
		Logger:       log, Registerer: reg, Gatherer: reg, Now: clock,
		Alerts: al, Notifications: nt, Exports: ex, WebUI: ui,
		Live: hub.Hub, LiveReplay: cfg.Live.Replay,
	})
}

// ProvideOpsHandler serves only /healthz, /readyz and /metrics (worker, scheduler, ingestor).
func ProvideOpsHandler(db *sqldb.DB, q Queue, ten *tenancy.Service, reg *telemetry.Registry, log *slog.Logger, extra ExtraChecks) http.Handler {
	return api.NewOpsRouter(api.OpsDeps{Auth: ten, Checks: checks(db, q, extra), Logger: log, Registerer: reg, Gatherer: reg})
}

// NewServeApp is `pulse serve`: the API, the workers, the scheduler's jobs
// and the MQTT door (embedded broker + ingestor) in one process.
func NewServeApp(cfg *config.Config, role Role, h http.Handler, workers Workers, sched SchedulerLoops, notify NotifyLoops, door *MQTTDoor,
	cache CacheListener, health HealthRecorder, hub LiveHub, exports ExportLoops, log *slog.Logger) *app.App {
	loops := append(append(append(append(append([]app.Loop{cache, health, hub}, workers...), sched...), notify...), exports...), door)
	return &app.App{Name: string(role), Addr: cfg.HTTPAddr, Handler: h, Loops: loops, Log: log, ShutdownTimeout: cfg.ShutdownTimeout}
}

// IngestorLoops is the ingestor role's only loop: its MQTT door.
func IngestorLoops(door *MQTTDoor) Workers { return Workers{door} }

// APIApp is the API role alone.
type APIApp struct{ *app.App }

// NewAPIApp is `pulse-api`.
func NewAPIApp(cfg *config.Config, role Role, h http.Handler, cache CacheListener, health HealthRecorder, hub LiveHub, log *slog.Logger) APIApp {
	return APIApp{&app.App{Name: string(role), Addr: cfg.HTTPAddr, Handler: h, Loops: []app.Loop{cache, health, hub}, Log: log, ShutdownTimeout: cfg.ShutdownTimeout}}
}

// OpsApp is a role without the public API (worker, scheduler, ingestor).
type OpsApp struct{ *app.App }

// NewWorkerApp is `pulse-worker`: flush loops, the notification
// dispatcher and the export jobs.
func NewWorkerApp(cfg *config.Config, role Role, h http.Handler, workers Workers, notify NotifyLoops, exports ExportLoops, cache CacheListener,
	health HealthRecorder, log *slog.Logger) OpsApp {
	return NewOpsApp(cfg, role, h, append(append(append(Workers{}, workers...), notify...), exports...), cache, health, log)
}

// NewOpsApp builds a role process with the given loops and the ops endpoints.
func NewOpsApp(cfg *config.Config, role Role, h http.Handler, workers Workers, cache CacheListener, health HealthRecorder, log *slog.Logger) OpsApp {
	loops := append([]app.Loop{cache, health}, workers...)
	return OpsApp{&app.App{Name: string(role), Addr: cfg.HTTPAddr, Handler: h, Loops: loops, Log: log, ShutdownTimeout: cfg.ShutdownTimeout}}
}
