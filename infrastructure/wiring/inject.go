//go:build wireinject

package wiring

import (
	"context"

	"github.com/google/wire"

	"github.com/pulsemetrics/pulse/infrastructure/config"
)

// AssemblePipeline builds every part of an all-in-one process.
func AssemblePipeline(ctx context.Context, cfg *config.Config, role Role) (*Pipeline, func(), error) {
	wire.Build(CoreSet, ProvideAPIHandler, ProvideWorkers, wire.Struct(new(Pipeline), "*"))
	return nil, nil, nil
}
