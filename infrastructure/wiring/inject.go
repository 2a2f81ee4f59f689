//go:build wireinject

package wiring

import (
	"context"

	"github.com/google/wire"

	"github.com/pulsemetrics/pulse/infrastructure/config"
)

// AssemblePipeline builds every part of an all-in-one process.
func AssemblePipeline(ctx context.Context, cfg *config.Config, role Role) (*Pipeline, func(), error) {
	wire.Build(CoreSet, WebUISet, ProvideAPIHandler, ProvideWorkers, ProvideMQTTDoor, ProvideRollupJob, ProvideRetention, NoExtraChecks, ProvideHealthRecorder, wire.Struct(new(Pipeline), "*"))
	return nil, nil, nil
}

// AssemblePipelineWithClock is AssemblePipeline on a given clock: quotas,
// limits, retention and ids all read it (end-to-end tests move it by hand).
func AssemblePipelineWithClock(ctx context.Context, cfg *config.Config, role Role, clock Clock) (*Pipeline, func(), error) {
	wire.Build(CoreNoClockSet, WebUISet, ProvideAPIHandler, ProvideWorkers, ProvideMQTTDoor, ProvideRollupJob, ProvideRetention, NoExtraChecks, ProvideHealthRecorder, wire.Struct(new(Pipeline), "*"))
	return nil, nil, nil
}
