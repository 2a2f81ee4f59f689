package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// jobsCmds are the on-demand runs of the scheduler's jobs.
func jobsCmds(deps Deps) []*cobra.Command {
	var out []*cobra.Command
	if deps.RunRollup != nil {
		rollup := &cobra.Command{Use: "rollup", Short: "Downsampling into the rollup steps of PULSE_ROLLUP_INTERVALS (default 1m, 5m, 1h)"}
		rollup.AddCommand(&cobra.Command{
			Use:   "run",
			Short: "Fold every pending sample into the rollups now (waits for the lease if a scheduler holds it)",
			Args:  cobra.NoArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				line, err := deps.RunRollup(c.Context())
				if err != nil {
					return fmt.Errorf("rollup: %w", err)
				}
				fmt.Fprintln(c.OutOrStdout(), line)
				return nil
			},
		})
		out = append(out, rollup)
	}
	if deps.RunRetention != nil {
		retention := &cobra.Command{Use: "retention", Short: "Retention of raw samples and rollups"}
		retention.AddCommand(&cobra.Command{
			Use:   "run",
			Short: "Apply retention now: create partitions ahead, drop and delete expired data",
			Args:  cobra.NoArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				line, err := deps.RunRetention(c.Context())
				if err != nil {
					return fmt.Errorf("retention: %w", err)
				}
				fmt.Fprintln(c.OutOrStdout(), line)
				return nil
			},
		})
		out = append(out, retention)
	}
	if deps.EvalAlerts != nil {
		out = append(out, alertsCmd(deps))
	}
	return out
}
