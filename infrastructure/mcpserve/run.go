// Package mcpserve assembles `pulse mcp`: the gate, the settings from the
// environment, the HTTP backend and the MCP server on stdin/stdout.
package mcpserve

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/pulsemetrics/pulse/adapter/cli"
	"github.com/pulsemetrics/pulse/adapter/mcp"
	"github.com/pulsemetrics/pulse/adapter/mcp/httpbackend"
)

// Run serves the tools over the process's stdin and stdout until the
// client closes them or ctx ends. It reads USE_MCP and CI (the gate: a
// refusal is a *cli.ExitError with code 2), PULSE_TOKEN (required),
// PULSE_URL and PULSE_LOG_LEVEL; logs go to stderr, as stdout carries
// only the protocol.
func Run(ctx context.Context, getenv func(string) string, stderr io.Writer) error {
	if err := mcp.Gate(getenv); err != nil {
		return &cli.ExitError{Code: 2, Err: fmt.Errorf("mcp: refusing to start: %w", err)}
	}
	lvl := level(getenv("PULSE_LOG_LEVEL"))
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})).With("role", "mcp")
	// The SDK logs every session step at info: keep those for debug.
	sdkLog := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: max(lvl, slog.LevelWarn)})).With("role", "mcp")
	if lvl <= slog.LevelDebug {
		sdkLog = log
	}
	srv, where, err := Assemble(getenv, log, sdkLog)
	if err != nil {
		return err
	}
	log.Info("serving MCP on stdin/stdout", "pulse_url", where)
	if err := srv.Run(ctx, &mcpsdk.StdioTransport{}); err != nil && ctx.Err() == nil {
		return fmt.Errorf("mcp: %w", err)
	}
	return nil
}

// Assemble builds the server from PULSE_TOKEN and PULSE_URL, without the
// gate (tests drive it over in-memory transports); sdkLog gets the SDK's logs.
func Assemble(getenv func(string) string, log, sdkLog *slog.Logger) (*mcpsdk.Server, string, error) {
	token := strings.TrimSpace(getenv("PULSE_TOKEN"))
	if token == "" {
		return nil, "", fmt.Errorf("mcp: PULSE_TOKEN is not set: give a tenant token, e.g. from `pulse token create <tenant> --scopes ingest,read,admin` (its last line)")
	}
	base := strings.TrimSpace(getenv("PULSE_URL"))
	if base == "" {
		base = mcp.DefaultURL
		log.Info("PULSE_URL is not set: talking to " + mcp.DefaultURL)
	}
	b, err := httpbackend.New(base, token, nil)
	if err != nil {
		return nil, "", fmt.Errorf("mcp: %w", err)
	}
	return mcp.NewServer(b, mcp.Options{Where: b.URL(), Logger: sdkLog}), b.URL(), nil
}

func level(s string) slog.Level {
	var l slog.Level
	if l.UnmarshalText([]byte(s)) != nil {
		return slog.LevelInfo
	}
	return l
}
