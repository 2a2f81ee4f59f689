//go:build wireinject

package main

import (
	"context"

	"github.com/google/wire"

	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
)

func initApp(ctx context.Context, cfg *config.Config, role wiring.Role) (wiring.APIApp, func(), error) {
	wire.Build(wiring.APISet)
	return wiring.APIApp{}, nil, nil
}
