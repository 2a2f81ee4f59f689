package wiring

import "github.com/google/wire"

// CoreSet is logging, storage, queue, telemetry and the use cases.
var CoreSet = wire.NewSet(ProvideClock, CoreNoClockSet)

// CoreNoClockSet is CoreSet for injectors that are given their clock (tests).
var CoreNoClockSet = wire.NewSet(ProvideLogger, ProvideBrokerAccounts, StoreSet, ProvideRedis, ProvideQueue, ProvideRegistry,
	ProvideTenancy, ProvideCacheListener, ProvideRateLimiter, ProvideIdempotency, ProvideIngest, ProvideQuery, ProvideAlerting,
	NotifySet, ProvideLiveFeed, ProvideLiveHub, ExportSet)

// NotifySet is the notification use case and what it sends with.
var NotifySet = wire.NewSet(ProvideSealer, ProvideDeliverer, ProvideNotifications)

// ServeSet assembles `pulse serve` (every role in one process).
var ServeSet = wire.NewSet(CoreSet, WebUISet, ProvideAPIHandler, ProvideWorkers, SchedulerJobsSet, ProvideMQTTDoor, MQTTChecks,
	ProvideNotifyLoops, ProvideExportLoops, ProvideHealthRecorder, NewServeApp)

// WebUISet is the dashboard served beside the API: accounts, dashboards
// and the web UI handler.
var WebUISet = wire.NewSet(ProvideAccounts, ProvideDashboards, ProvideWebUI)

// SchedulerJobsSet is the scheduler's periodic jobs.
var SchedulerJobsSet = wire.NewSet(ProvideRollupJob, ProvideRetention, ProvideSchedulerLoops)

// APISet assembles `pulse-api`.
var APISet = wire.NewSet(CoreSet, WebUISet, ProvideAPIHandler, NoExtraChecks, ProvideHealthRecorder, NewAPIApp)

// WorkerSet assembles `pulse-worker`: the flush loops, the
// notification dispatcher and the export jobs.
var WorkerSet = wire.NewSet(CoreSet, ProvideOpsHandler, NoExtraChecks, ProvideWorkers, ProvideNotifyLoops, ProvideExportLoops, ProvideHealthRecorder,
	NewWorkerApp)

// IngestorSet assembles `pulse-ingestor`: the MQTT door (a subscriber to
// PULSE_MQTT_URL, or an embedded broker when it is unset).
var IngestorSet = wire.NewSet(CoreSet, ProvideOpsHandler, ProvideMQTTDoor, MQTTChecks, IngestorLoops, ProvideHealthRecorder, NewOpsApp)

// SchedulerSet assembles `pulse-scheduler`: rollups, retention and purges
// on their schedules, leased so that replicas never run a job twice at once.
var SchedulerSet = wire.NewSet(CoreSet, ProvideOpsHandler, NoExtraChecks, SchedulerJobsSet, ProvideHealthRecorder, NewSchedulerApp)
