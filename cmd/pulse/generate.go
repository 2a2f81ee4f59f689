package main

import (
	"context"
	"io"

	"github.com/pulsemetrics/pulse/adapter/cli"
	"github.com/pulsemetrics/pulse/domain/synth"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
)

// writeLocal is `pulse generate --tenant`: wiring.WriteSynthetic on the
// configured store.
func writeLocal(cfg *config.Config, loaded func() error) cli.WriteLocalFunc {
	return func(ctx context.Context, tenantSlug string, plan synth.Plan, batch, concurrency int, progress func(done int64)) (int64, error) {
		if err := loaded(); err != nil {
			return 0, err
		}
		cfg.LogLevel = quietUnlessDebug(cfg.LogLevel)
		w, cleanup, err := initSynthetic(ctx, cfg, "cli")
		if err != nil {
			return 0, err
		}
		defer cleanup()
		return wiring.WriteSynthetic(ctx, w, tenantSlug, plan, wiring.SyntheticOptions{Batch: batch, Concurrency: concurrency}, progress)
	}
}

// setUpDemo is `pulse demo`: wiring.SetUpDemo on the configured store.
func setUpDemo(cfg *config.Config, loaded func() error) func(ctx context.Context, out io.Writer, progress func(done, total int64)) error {
	return func(ctx context.Context, out io.Writer, progress func(done, total int64)) error {
		if err := loaded(); err != nil {
			return err
		}
		cfg.LogLevel = quietUnlessDebug(cfg.LogLevel)
		d, cleanup, err := initDemo(ctx, cfg, "cli")
		if err != nil {
			return err
		}
		defer cleanup()
		return wiring.SetUpDemo(ctx, d, out, progress)
	}
}
