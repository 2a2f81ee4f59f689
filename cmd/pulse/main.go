// Command pulse runs every Pulse role in one process (`pulse serve`) and
// carries the admin commands (tenants, tokens, migrations).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pulsemetrics/pulse/adapter/cli"
	"github.com/pulsemetrics/pulse/infrastructure/app"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/mcpserve"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("pulse", flag.ContinueOnError)
	cfg, finish := config.Register(fs, os.Getenv)
	loaded := func() error {
		if err := finish(); err != nil {
			return fmt.Errorf("configuration: %w", err)
		}
		return nil
	}
	root := cli.NewRoot(cli.Deps{
		Serve: func(ctx context.Context) error {
			if err := loaded(); err != nil {
				return err
			}
			return app.Start(ctx, "pulse", cfg, func(ctx context.Context, cfg *config.Config) (*app.App, func(), error) {
				return initServe(ctx, cfg, "all")
			})
		},
		Migrate: func(ctx context.Context) error {
			if err := loaded(); err != nil {
				return err
			}
			_, cleanup, err := initStore(ctx, cfg, "cli") // opening migrates
			if err != nil {
				return err
			}
			cleanup()
			return nil
		},
		SyncMQTT: func(ctx context.Context, out io.Writer) error {
			if err := loaded(); err != nil {
				return err
			}
			cfg.LogLevel = quietUnlessDebug(cfg.LogLevel)
			ten, cleanup, err := initTenancy(ctx, cfg, "cli")
			if err != nil {
				return err
			}
			defer cleanup()
			return wiring.SyncMQTT(ctx, cfg, ten, out)
		},
		RunRollup: func(ctx context.Context) (string, error) {
			if err := loaded(); err != nil {
				return "", err
			}
			cfg.LogLevel = quietUnlessDebug(cfg.LogLevel)
			job, cleanup, err := initRollupJob(ctx, cfg, "cli")
			if err != nil {
				return "", err
			}
			defer cleanup()
			return wiring.RunRollupOnce(ctx, job)
		},
		RunRetention: func(ctx context.Context) (string, error) {
			if err := loaded(); err != nil {
				return "", err
			}
			cfg.LogLevel = quietUnlessDebug(cfg.LogLevel)
			job, cleanup, err := initRetention(ctx, cfg, "cli")
			if err != nil {
				return "", err
			}
			defer cleanup()
			line, skipped, err := wiring.RunRetentionOnce(ctx, job.Leases, job.Retention, "cli")
			if skipped {
				return "", fmt.Errorf("another process is applying retention now (its lease is held); try again later")
			}
			return line, err
		},
		EvalAlerts: func(ctx context.Context, ruleID int64, at time.Time) (string, error) {
			if err := loaded(); err != nil {
				return "", err
			}
			cfg.LogLevel = quietUnlessDebug(cfg.LogLevel)
			svc, cleanup, err := initAlerting(ctx, cfg, "cli")
			if err != nil {
				return "", err
			}
			defer cleanup()
			return wiring.EvalAlertsOnce(ctx, svc, ruleID, at)
		},
		OpenUsers: func(ctx context.Context) (cli.Users, func(), error) {
			if err := loaded(); err != nil {
				return nil, nil, err
			}
			cfg.LogLevel = quietUnlessDebug(cfg.LogLevel)
			return initAccounts(ctx, cfg, "cli")
		},
		MCP:        func(ctx context.Context) error { return mcpserve.Run(ctx, os.Getenv, os.Stderr) },
		WriteLocal: writeLocal(cfg, loaded),
		Demo:       setUpDemo(cfg, loaded),
		OpenAdmin: func(ctx context.Context) (cli.Admin, func(), error) {
			if err := loaded(); err != nil {
				return nil, nil, err
			}
			cfg.LogLevel = quietUnlessDebug(cfg.LogLevel)
			return initTenancy(ctx, cfg, "cli")
		},
	}, os.Stdout)
	root.PersistentFlags().AddGoFlagSet(fs)
	root.SetArgs(args)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "pulse: %v\n", err)
		if exit, ok := errors.AsType[*cli.ExitError](err); ok {
			return exit.Code
		}
		return 1
	}
	return 0
}

// quietUnlessDebug keeps admin command output to its result lines.
func quietUnlessDebug(level string) string {
	if level == "debug" {
		return level
	}
	return "warn"
}
