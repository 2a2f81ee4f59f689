package cli

import (
	"github.com/spf13/cobra"
)

// ExitError makes the pulse binary exit with Code (after printing Err)
// instead of 1: `pulse mcp` refuses to start with 2.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// mcpCmds is `pulse mcp` when the binary has it.
func mcpCmds(deps Deps) []*cobra.Command {
	if deps.MCP == nil {
		return nil
	}
	return []*cobra.Command{{
		Use:   "mcp",
		Short: "Serve Pulse's MCP tools over stdin/stdout as one tenant (local development only; needs USE_MCP=true)",
		Long: "Serve an MCP (Model Context Protocol) server over stdin/stdout for a local MCP client: tools to generate\n" +
			"synthetic bursts, query and list metrics, list and create alert rules and read Pulse's health, acting as\n" +
			"the tenant of PULSE_TOKEN on the Pulse at PULSE_URL (default http://localhost:8080) over its HTTP API.\n" +
			"It refuses to start (exit 2) unless USE_MCP=true, and whenever CI is set. Logs go to stderr.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return deps.MCP(c.Context()) },
	}}
}
