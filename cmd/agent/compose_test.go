package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulsemetrics/pulse/infrastructure/composefile"
)

// The compose stack's go-agent is configured by PULSE_AGENT_* only, where
// a misspelt key is silently ignored: hold it to the agent's own flags.
// (infrastructure/config/compose_test.go does the same for the server.)

const (
	repoRoot     = "../.."
	agentService = "go-agent"
)

// composeStacks are `docker compose --env-file envFile -f files…` runs.
var composeStacks = []struct {
	files   []string
	envFile string
}{
	{[]string{"docker-compose.yml"}, ""},
	{[]string{"docker-compose.yml", "docker-compose.prod.yml"}, "deploy/compose/secrets/prod.env"},
}

// goAgent is the service as compose loads it (every profile on: in prod
// it is profile "agent").
func goAgent(t *testing.T, files []string, envFile string) (env map[string]string, command string) {
	t.Helper()
	p, err := composefile.Load(repoRoot, files, envFile)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := p.Services[agentService]
	if !ok {
		t.Fatalf("%v: no %s service", files, agentService)
	}
	return composefile.Env(s), strings.Join(s.Command, " ")
}

// agentEnvNames is envName of every flag parseSettings declares, read
// from its -h listing.
func agentEnvNames(t *testing.T) map[string]bool {
	var usage bytes.Buffer
	if _, err := parseSettings([]string{"-h"}, func(string) string { return "" }, &usage); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z0-9-]+)`).FindAllStringSubmatch(usage.String(), -1) {
		names[envName(m[1])] = true
	}
	if !names["PULSE_AGENT_BROKER"] || !names["PULSE_AGENT_TOKEN"] {
		t.Fatalf("flags not found in the -h listing:\n%s", usage.String())
	}
	return names
}

func unknownAgentKeys(env map[string]string, known map[string]bool) (errs []error) {
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if strings.HasPrefix(k, "PULSE_AGENT_") && !known[k] {
			errs = append(errs, fmt.Errorf("service %s: %s is no pulse-agent flag's variable", agentService, k))
		}
	}
	return errs
}

func TestComposeAgentSettings(t *testing.T) {
	known := agentEnvNames(t)
	for _, st := range composeStacks {
		t.Run(strings.Join(st.files, "+"), func(t *testing.T) {
			env, command := goAgent(t, st.files, st.envFile)
			if !regexp.MustCompile(`(^|[\s/])pulse-agent(\s|$)`).MatchString(command) {
				t.Fatalf("service %s: command %q does not run pulse-agent", agentService, command)
			}
			for _, err := range unknownAgentKeys(env, known) {
				t.Error(err)
			}
			// The command sets the token from the file bootstrap wrote.
			if env["PULSE_AGENT_TOKEN"] == "" && strings.Contains(command, "PULSE_AGENT_TOKEN=") {
				env["PULSE_AGENT_TOKEN"] = validToken(t)
			}
			if _, err := parseSettings(nil, func(k string) string { return env[k] }, io.Discard); err != nil {
				t.Errorf("service %s: %v", agentService, err)
			}
		})
	}
}

// The check must catch a wrong key.
func TestComposeAgentCatchesUnknownKey(t *testing.T) {
	env, _ := goAgent(t, composeStacks[0].files, composeStacks[0].envFile)
	env["PULSE_AGENT_NO_SUCH"] = "1"
	errs := unknownAgentKeys(env, agentEnvNames(t))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "PULSE_AGENT_NO_SUCH") || !strings.Contains(errs[0].Error(), agentService) {
		t.Fatalf("PULSE_AGENT_NO_SUCH: got %v", errs)
	}
}
