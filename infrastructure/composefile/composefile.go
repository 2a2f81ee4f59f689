// Package composefile reads the repository's Docker Compose files with the
// compose specification's own loader (what `docker compose` uses), for the
// tests that hold the stacks to Pulse's settings.
package composefile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// Load reads files, relative to root, as
//
//	docker compose --env-file envFile -f files[0] -f files[1] … config
//
// does, with every profile enabled and no shell environment: each file
// interpolated from envFile (none if ""), the overrides merged, env_file
// resolved into environment. An envFile a checkout does not have is read
// from its committed .example. A required ${VAR:?} left unset is an error.
func Load(root string, files []string, envFile string) (*types.Project, error) {
	opts := []cli.ProjectOptionsFn{
		cli.WithName("pulse"),
		cli.WithWorkingDirectory(root),
		cli.WithProfiles([]string{"*"}),
	}
	if envFile != "" {
		path := filepath.Join(root, envFile)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			path += ".example"
		}
		opts = append(opts, cli.WithEnvFiles(path), cli.WithDotEnv)
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(root, f)
	}
	o, err := cli.NewProjectOptions(paths, opts...)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", files, err)
	}
	p, err := o.LoadProject(context.Background())
	if err != nil {
		return nil, fmt.Errorf("%v: %w", files, err)
	}
	return p, nil
}

// Env is the environment the service's container gets: a key without a
// value takes the (here empty) shell's, so it is left out.
func Env(s types.ServiceConfig) map[string]string {
	env := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	return env
}

// Script is the shell text the service's command runs when it is
// `sh|bash -c SCRIPT …` or `sh|bash FILE` with FILE bind-mounted from the
// host (its content), else the command's words.
func Script(s types.ServiceConfig) (string, error) {
	c := s.Command
	if len(c) < 2 || (c[0] != "sh" && c[0] != "bash") {
		return strings.Join(c, " "), nil
	}
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeBind && v.Target == c[1] {
			b, err := os.ReadFile(v.Source)
			return string(b), err
		}
	}
	return strings.Join(c[2:], " "), nil
}
