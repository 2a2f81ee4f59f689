// Command pulse-scheduler runs Pulse's scheduler role alone (distributed mode); settings
// are the PULSE_* variables and flags of `pulse serve`.
package main

import (
	"context"
	"os"

	"github.com/pulsemetrics/pulse/infrastructure/app"
	"github.com/pulsemetrics/pulse/infrastructure/config"
)

func main() {
	os.Exit(app.Main("pulse-scheduler", os.Args[1:], func(ctx context.Context, cfg *config.Config) (*app.App, func(), error) {
		a, cleanup, err := initApp(ctx, cfg, "scheduler")
		if err != nil {
			return nil, nil, err
		}
		return a.App, cleanup, nil
	}))
}
