package mcpserve_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mcpsdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

var (
	buildOnce sync.Once
	binDir    string
	binErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// pulseBin builds cmd/pulse once for the tests that run it.
func pulseBin(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the pulse binary")
	}
	buildOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "pulse-mcp-"); binErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, "pulse"), "../../cmd/pulse").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return filepath.Join(binDir, "pulse")
}

// env is the test's environment without the gate's variables (CI runs
// the tests with CI=true), plus extra.
func env(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k != "CI" && k != "USE_MCP" && !strings.HasPrefix(k, "PULSE_") {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// `pulse mcp` refuses to start with exit code 2 and a one-line reason
// unless USE_MCP=true, and whenever CI is set; printing nothing on stdout.
func TestGateOfTheBinary(t *testing.T) {
	bin := pulseBin(t)
	for _, c := range []struct {
		env  []string
		code int
		want string
	}{
		{env("PULSE_TOKEN=pulse_x"), 2, "set USE_MCP=true"},
		{env("USE_MCP=yes", "PULSE_TOKEN=pulse_x"), 2, "set USE_MCP=true"},
		{env("USE_MCP=true", "CI=true", "PULSE_TOKEN=pulse_x"), 2, "CI is set"},
		{env("USE_MCP=true"), 1, "PULSE_TOKEN is not set"},
		{env("USE_MCP=true", "PULSE_TOKEN=pulse_x", "PULSE_URL=localhost:1"), 1, "PULSE_URL"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, bin, "mcp")
		cmd.Env = c.env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		var exit *exec.ExitError
		line := strings.TrimSpace(stderr.String())
		if !errors.As(err, &exit) || exit.ExitCode() != c.code || !strings.Contains(line, c.want) || strings.Contains(line, "\n") || stdout.Len() > 0 {
			t.Errorf("%v: err %v, stdout %q, stderr %q; want exit %d and one line naming %q", c.env[len(c.env)-1], err, stdout.String(), line, c.code, c.want)
		}
	}
}

// Past the gate, the binary speaks MCP on stdin/stdout (nothing else on
// stdout: the client would fail to parse it) and logs on stderr; its tools
// reach the Pulse at PULSE_URL.
func TestBinaryServesOverStdio(t *testing.T) {
	bin := pulseBin(t)
	pl := startPulse(t)
	cmd := exec.Command(bin, "mcp")
	cmd.Env = env("USE_MCP=true", "PULSE_URL="+pl.URL, "PULSE_TOKEN="+pl.Token)
	var stderr testservice.SyncBuffer
	cmd.Stderr = &stderr
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cs, err := mcpsdk.NewClient(&mcpsdk.Implementation{Name: "stdio", Version: "v0"}, nil).Connect(ctx, &mcpsdk.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect: %v; stderr %s", err, stderr.String())
	}
	list, err := cs.ListTools(ctx, nil)
	if err != nil || len(list.Tools) != 6 {
		t.Fatalf("tools/list: %v, %v", list, err)
	}
	var names struct{ Names []any }
	call(t, cs, "list_metrics", map[string]any{}, &names)
	if names.Names == nil {
		t.Errorf("list_metrics: %+v", names)
	}
	if err := cs.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if !strings.Contains(stderr.String(), "serving MCP on stdin/stdout") {
		t.Errorf("stderr = %q", stderr.String())
	}
}
