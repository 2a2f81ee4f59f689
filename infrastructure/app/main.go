package app

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/pulsemetrics/pulse/infrastructure/config"
)

// Init builds a process from its settings (a Wire injector).
type Init func(ctx context.Context, cfg *config.Config) (*App, func(), error)

// Main is the whole main() of a single-role binary: load settings (a wrong
// one stops the process with one line naming it), build, run until SIGINT or
// SIGTERM, drain. It returns the exit code.
func Main(name string, args []string, init Init) int {
	cfg, err := config.Load(name, args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, cleanup, err := init(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	defer cleanup()
	if err := a.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}
