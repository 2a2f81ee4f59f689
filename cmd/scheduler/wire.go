//go:build wireinject

package main

import (
	"context"

	"github.com/google/wire"

	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
)

func initApp(ctx context.Context, cfg *config.Config, role wiring.Role) (wiring.OpsApp, func(), error) {
	wire.Build(wiring.SchedulerSet)
	return wiring.OpsApp{}, nil, nil
}
