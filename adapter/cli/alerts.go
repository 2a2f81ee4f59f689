package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/pulsemetrics/pulse/adapter/samplejson"
)

// alertsCmd is `pulse alerts eval`.
func alertsCmd(deps Deps) *cobra.Command {
	cmd := &cobra.Command{Use: "alerts", Short: "Alert rules"}
	var (
		rule int64
		at   string
	)
	eval := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate alert rules now: the rules due (one scheduler round), or --rule ID at --at T (default now)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			when := time.Now()
			if at != "" {
				if rule == 0 {
					return fmt.Errorf("--at needs --rule")
				}
				t, msg := samplejson.ParseTimeParam(at)
				if msg != "" {
					return fmt.Errorf("--at: %s", msg)
				}
				when = t
			}
			line, err := deps.EvalAlerts(c.Context(), rule, when)
			if err != nil {
				return fmt.Errorf("alerts eval: %w", err)
			}
			fmt.Fprintln(c.OutOrStdout(), line)
			return nil
		},
	}
	eval.Flags().Int64Var(&rule, "rule", 0, "the rule's id (default: every rule due now)")
	eval.Flags().StringVar(&at, "at", "", "evaluation time, RFC 3339 or Unix seconds (with --rule; default now)")
	cmd.AddCommand(eval)
	return cmd
}
