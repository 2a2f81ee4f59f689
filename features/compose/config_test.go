//go:build compose

package compose

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestComposeFilesValidate: compose itself accepts the dev file and the dev file
// with the prod override (its secrets from the example env file); and the
// override really refuses to run without them.
func TestComposeFilesValidate(t *testing.T) {
	root, _ := filepath.Abs("../..")
	cfg := func(files string, extra ...string) (string, error) {
		cmd := exec.Command(filepath.Join(root, "scripts/compose.sh"), append([]string{"run"}, append(extra, "config", "-q")...)...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "PULSE_COMPOSE_FILES="+files)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := cfg("docker-compose.yml"); err != nil {
		t.Errorf("docker-compose.yml: %v\n%s", err, out)
	}
	prod := "docker-compose.yml docker-compose.prod.yml"
	if out, err := cfg(prod, "--env-file", "deploy/compose/secrets/prod.env.example"); err != nil {
		t.Errorf("with docker-compose.prod.yml: %v\n%s", err, out)
	}
	empty := filepath.Join(t.TempDir(), "empty.env")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := cfg(prod, "--env-file", empty)
	if err == nil || !strings.Contains(out, "prod.env") {
		t.Errorf("the prod override without its env file: err %v, output %q; want a refusal naming prod.env", err, out)
	}
}
