//go:build compose

// Package compose tests the Docker Compose stack (docker-compose.yml) as a user
// runs it: `make compose-test` makes sure an engine runs and the images exist
// (scripts/docker-engine.sh), then this test brings the stack up with the same
// script as `make dev`, on free ports under its own project name, and checks
// what the issue promises: every container healthy, a sample posted through
// nginx comes back through nginx, a worker killed mid-load loses nothing, the
// agent's system metric is on a chart in the browser, and `down -v` leaves
// nothing behind.
package compose

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stack is one compose project of the test.
type stack struct {
	t       *testing.T
	root    string
	project string
	env     []string
	http    string // base URL of nginx on the host
}

func TestComposeStack(t *testing.T) {
	s := newStack(t)
	start := time.Now()
	s.script("up")
	t.Logf("stack up and healthy in %s", time.Since(start).Round(time.Second))
	t.Cleanup(s.down)

	t.Run("every container is healthy and the one-shots succeeded", s.checkHealthy)
	t.Run("samples posted through nginx come back through nginx", s.checkRoundTrip)
	t.Run("a worker killed mid-load loses nothing", s.checkWorkerKill)
	t.Run("the agent's system metric is on a chart in the browser", s.checkAgentInUI)
}

func newStack(t *testing.T) *stack {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	project := fmt.Sprintf("pulse-test-%d", os.Getpid())
	ports := freePorts(t, 4)
	s := &stack{t: t, root: root, project: project, http: fmt.Sprintf("http://127.0.0.1:%d", ports[0])}
	s.env = append(os.Environ(),
		"COMPOSE_PROJECT_NAME="+project,
		fmt.Sprintf("NGINX_HTTP_PORT=%d", ports[0]),
		fmt.Sprintf("MQTT_PORT=%d", ports[1]),
		fmt.Sprintf("MQTTS_PORT=%d", ports[2]),
		fmt.Sprintf("MAILPIT_PORT=%d", ports[3]),
		"PULSE_KEEP_ENGINE=1", // make compose-test stops the engine it started
	)
	return s
}

// script runs scripts/compose.sh with the stack's environment; output goes to the test log.
func (s *stack) script(args ...string) string {
	s.t.Helper()
	out, err := s.run(args...)
	if err != nil {
		s.t.Fatalf("scripts/compose.sh %s: %v\n%s", strings.Join(args, " "), err, tail(out, 80))
	}
	return out
}

func (s *stack) run(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(s.root, "scripts/compose.sh"), args...)
	cmd.Dir = s.root
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// compose runs a compose command of the project (scripts/compose.sh run …).
func (s *stack) compose(args ...string) string {
	s.t.Helper()
	return s.script(append([]string{"run"}, args...)...)
}

func (s *stack) docker(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// down removes the project with its volumes and checks that nothing of it is left.
func (s *stack) down() {
	if s.t.Failed() {
		out, _ := s.run("run", "ps", "-a")
		s.t.Logf("compose ps:\n%s", out)
		logs, _ := s.run("run", "logs", "--no-color", "--tail", "30")
		s.t.Logf("compose logs:\n%s", tail(logs, 200))
	}
	if out, err := s.run("down", "--volumes"); err != nil {
		s.t.Errorf("scripts/compose.sh down --volumes: %v\n%s", err, out)
	}
	label := "label=com.docker.compose.project=" + s.project
	for _, kind := range [][]string{{"ps", "-aq"}, {"volume", "ls", "-q"}, {"network", "ls", "-q"}} {
		if left := s.docker(append(kind, "--filter", label)...); left != "" {
			s.t.Errorf("after down -v, docker %s still lists: %s", kind[0], left)
		}
	}
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
