package mcp

import (
	"fmt"
	"strings"
)

// Gate says whether `pulse mcp` may start: only when asked for with
// USE_MCP=true, and never in CI (CI set to anything), because the server
// acts with a tenant token for whatever client drives it. The error is one
// line, for a person.
func Gate(getenv func(string) string) error {
	if !strings.EqualFold(strings.TrimSpace(getenv("USE_MCP")), "true") {
		return fmt.Errorf("the MCP server is for local development only: set USE_MCP=true to start it")
	}
	if getenv("CI") != "" {
		return fmt.Errorf("the MCP server does not run in CI (CI is set): it is for local development only")
	}
	return nil
}
