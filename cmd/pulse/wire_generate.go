//go:build wireinject

package main

import (
	"context"

	"github.com/google/wire"

	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
)

// initSynthetic is `pulse generate` without --url: the ingest use case and
// the queue's consuming end on the configured store.
func initSynthetic(ctx context.Context, cfg *config.Config, role wiring.Role) (wiring.SyntheticWriter, func(), error) {
	wire.Build(wiring.SyntheticSet)
	return wiring.SyntheticWriter{}, nil, nil
}

// initDemo is `pulse demo`.
func initDemo(ctx context.Context, cfg *config.Config, role wiring.Role) (wiring.Demo, func(), error) {
	wire.Build(wiring.DemoSet)
	return wiring.Demo{}, nil, nil
}
