package wiring

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/wire"

	"github.com/pulsemetrics/pulse/adapter/export/csvexport"
	"github.com/pulsemetrics/pulse/adapter/export/exportlink"
	"github.com/pulsemetrics/pulse/adapter/store/exports"
	"github.com/pulsemetrics/pulse/adapter/store/samples"
	"github.com/pulsemetrics/pulse/infrastructure/app"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/telemetry"
	"github.com/pulsemetrics/pulse/usecase/export"
	"github.com/pulsemetrics/pulse/usecase/query"
)

// ExportSet is the CSV export use case: its store, the download links'
// signer and the service (every role builds it: the API creates and
// serves exports, the worker runs them, the scheduler purges them).
var ExportSet = wire.NewSet(exports.New, ProvideExportSigner, ProvideExports, ProvideExportPurger)

// exportTick is how often an idle worker looks for a queued export.
const exportTick = time.Second

// ProvideExportSigner signs download links under a key derived from
// PULSE_SECRET_KEY (or the embedded mode's key file): every API replica
// checks the links any other signed.
func ProvideExportSigner(cfg *config.Config, log *slog.Logger) (*exportlink.Signer, error) {
	key, err := secretKey(cfg, log)
	if err != nil {
		return nil, err
	}
	return exportlink.NewSigner(key)
}

// ProvideExports is the export use case: pages through the query use case
// (the same points as the query API), tag columns from the samples store,
// CSV by csvexport.
func ProvideExports(cfg *config.Config, st *exports.Store, qs *query.Service, sm *samples.Store, signer *exportlink.Signer,
	log *slog.Logger, clock Clock, role Role) *export.Service {
	return export.New(st, qs, sm, csvexport.Encoder{}, signer, export.Clock(clock), export.Options{
		Holder: holderName(role), TTL: cfg.Export.TTL, MaxRows: int64(cfg.Export.MaxRows), Logger: log.With("job", "export"),
	})
}

// ExportLoops are the export jobs of a worker process (and of `pulse
// serve`): one export at a time per process; replicas claim different ones.
type ExportLoops []app.Loop

// ProvideExportLoops runs the export jobs; their metrics register here, so
// only the roles that run them expose them.
func ProvideExportLoops(svc *export.Service, reg *telemetry.Registry) ExportLoops {
	svc.SetObserver(reg.Exports())
	return ExportLoops{loopFunc(func(ctx context.Context) error { return svc.Run(ctx, exportTick) })}
}

// ExportPurger is the export use case as the scheduler uses it: its purge
// alone, which reads no samples and signs no link, so the scheduler needs
// no secret key.
type ExportPurger struct{ svc *export.Service }

// ProvideExportPurger purges exports older than PULSE_EXPORT_TTL.
func ProvideExportPurger(cfg *config.Config, st *exports.Store, log *slog.Logger, clock Clock) ExportPurger {
	return ExportPurger{export.New(st, nil, nil, nil, nil, export.Clock(clock), export.Options{TTL: cfg.Export.TTL, Logger: log.With("job", "export")})}
}

// purgeExports is the scheduler's hourly purge of old exports, logged
// when it deleted any.
func purgeExports(ctx context.Context, p ExportPurger, log *slog.Logger) error {
	purged, err := p.svc.Purge(ctx)
	if purged.Exports > 0 {
		log.Info("purged old exports and their files", "exports", purged.Exports, "chunks", purged.Chunks)
	}
	return err
}
