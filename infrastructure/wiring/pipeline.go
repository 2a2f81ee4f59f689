package wiring

import (
	"log/slog"
	"net/http"

	"github.com/pulsemetrics/pulse/adapter/store/samples"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/adapter/store/tenants"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/telemetry"
	"github.com/pulsemetrics/pulse/usecase/alerting"
	"github.com/pulsemetrics/pulse/usecase/export"
	"github.com/pulsemetrics/pulse/usecase/ingest"
	"github.com/pulsemetrics/pulse/usecase/notification"
	"github.com/pulsemetrics/pulse/usecase/query"
	"github.com/pulsemetrics/pulse/usecase/retention"
	"github.com/pulsemetrics/pulse/usecase/rollupjob"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// Pipeline is every part of an all-in-one process, unstarted: the benchmark
// and the end-to-end tests drive its pieces separately (e.g. the API first,
// the workers later). AssemblePipeline (wire_gen.go) builds it.
type Pipeline struct {
	Config    *config.Config
	Log       *slog.Logger
	DB        *sqldb.DB
	Samples   *samples.Store
	Tenants   *tenants.Store
	Queue     Queue
	Tenancy   *tenancy.Service
	Ingest    *ingest.Service
	Query     *query.Service
	Registry  *telemetry.Registry
	Handler   http.Handler
	Workers   Workers
	MQTT      *MQTTDoor // not started: run it as a loop to serve MQTT
	Rollup    *rollupjob.Service
	Retention *retention.Service
	Alerts    *alerting.Service
	Notify    *notification.Service // not started: ProvideNotifyLoops runs it
	Exports   *export.Service       // not started: RunOne runs one export
	Live      LiveHub               // not started: run it as a loop to serve live streams
	Health    HealthRecorder        // not started: Tick records once
}
