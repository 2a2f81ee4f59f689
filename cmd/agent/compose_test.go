package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The compose stack's go-agent is configured by PULSE_AGENT_* only, where
// a misspelt key is silently ignored: hold it to the agent's own flags.
// (infrastructure/config/compose_test.go does the same for the server.)

const (
	repoRoot     = "../.."
	agentService = "go-agent"
)

var composeStacks = [][]string{{"docker-compose.yml"}, {"docker-compose.yml", "docker-compose.prod.yml"}}

// composeAgent is what is read of the service: yaml.Node keeps aliases
// and tags (!override) visible, struct decoding resolves `<<`.
type composeAgent struct {
	Command, Environment yaml.Node
	EnvFile              yaml.Node `yaml:"env_file"`
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// envMap reads the map or list form; a key without a value takes the
// (here empty) shell's, so it is unset.
func envMap(t *testing.T, n yaml.Node) map[string]string {
	out := map[string]string{}
	switch m := deref(&n); m.Kind {
	case yaml.MappingNode:
		plain, vals := *m, map[string]yaml.Node{}
		plain.Tag = "" // !override: the plain mapping
		if err := plain.Decode(&vals); err != nil {
			t.Fatal(err)
		}
		for k, v := range vals {
			if v := deref(&v); v.ShortTag() != "!!null" {
				out[k] = v.Value
			}
		}
	case yaml.SequenceNode:
		for _, it := range m.Content {
			if k, v, ok := strings.Cut(deref(it).Value, "="); ok {
				out[k] = v
			}
		}
	}
	return out
}

var (
	varName     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*`)
	envFileFlag = regexp.MustCompile(`--env-file\s+(\S+)`)
)

// interpolate expands compose's $VAR, ${VAR}, ${VAR:-d}, ${VAR-d},
// ${VAR:?m}, ${VAR:+x} and $$ from vars; an unmet ${VAR:?m}, which stops
// compose, is added to unmet.
func interpolate(s string, vars map[string]string, unmet map[string]bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		rest := s[i+1:]
		switch {
		case s[i] != '$' || rest == "":
			b.WriteByte(s[i])
		case rest[0] == '$':
			b.WriteByte('$')
			i++
		case rest[0] == '{':
			end, depth := 1, 1
			for ; end < len(rest) && depth > 0; end++ {
				depth += map[byte]int{'{': 1, '}': -1}[rest[end]]
			}
			inner := rest[1 : end-1]
			name := varName.FindString(inner)
			val, set := vars[name]
			op, arg := inner[len(name):], ""
			if n := len(op) - len(strings.TrimLeft(op, ":")); len(op) > n {
				op, arg = op[:n+1], op[n+1:]
			}
			empty := !set || (strings.HasPrefix(op, ":") && val == "")
			switch strings.TrimPrefix(op, ":") {
			case "-":
				if empty {
					val = interpolate(arg, vars, unmet)
				}
			case "?":
				if empty {
					unmet[name] = true
				}
			case "+":
				val = ""
				if !empty {
					val = interpolate(arg, vars, unmet)
				}
			}
			b.WriteString(val)
			i += end
		default:
			name := varName.FindString(rest)
			b.WriteString(map[bool]string{true: "$"}[name == ""] + vars[name])
			i += len(name)
		}
	}
	return b.String()
}

// stackVars are the interpolation variables of the --env-file the files'
// usage names (its .example in a checkout), as compose is run with it.
func stackVars(t *testing.T, texts []string) map[string]string {
	vars := map[string]string{}
	for _, text := range texts {
		for _, m := range envFileFlag.FindAllStringSubmatch(text, -1) {
			b, err := os.ReadFile(filepath.Join(repoRoot, m[1]))
			if os.IsNotExist(err) {
				b, err = os.ReadFile(filepath.Join(repoRoot, m[1]+".example"))
			}
			if err != nil {
				t.Errorf("--env-file %s: %v", m[1], err)
			}
			for _, line := range strings.Split(string(b), "\n") {
				line = strings.TrimPrefix(strings.TrimSpace(line), "export ")
				if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
					vars[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"'`)
				}
			}
		}
	}
	return vars
}

// goAgent merges the service over the files (environment by key, command
// replaced) and interpolates it.
func goAgent(t *testing.T, files ...string) (env map[string]string, command string) {
	t.Helper()
	var texts []string
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(b))
	}
	vars, unmet, found := stackVars(t, texts), map[string]bool{}, false
	env = map[string]string{}
	for i, text := range texts {
		var doc struct{ Services map[string]composeAgent }
		if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
			t.Fatalf("%s: %v", files[i], err)
		}
		s, ok := doc.Services[agentService]
		if !ok {
			continue
		}
		found = true
		if s.EnvFile.Kind != 0 {
			t.Fatalf("%s: %s: env_file is not read by this test; add it", files[i], agentService)
		}
		if s.Environment.Tag == "!override" || deref(&s.Environment).Tag == "!override" {
			env = map[string]string{}
		}
		for k, v := range envMap(t, s.Environment) {
			env[k] = interpolate(v, vars, unmet)
		}
		if c := deref(&s.Command); c.Kind == yaml.ScalarNode {
			command = interpolate(c.Value, vars, unmet)
		} else if c.Kind == yaml.SequenceNode {
			var words []string
			for _, w := range c.Content {
				words = append(words, interpolate(deref(w).Value, vars, unmet))
			}
			command = strings.Join(words, " ")
		}
	}
	if !found {
		t.Fatalf("%v: no %s service", files, agentService)
	}
	for _, v := range slices.Sorted(maps.Keys(unmet)) {
		t.Errorf("%v: ${%s:?…} is required but set nowhere: compose would refuse to start", files, v)
	}
	return env, command
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
	for _, files := range composeStacks {
		t.Run(strings.Join(files, "+"), func(t *testing.T) {
			env, command := goAgent(t, files...)
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
	env, _ := goAgent(t, "docker-compose.yml")
	env["PULSE_AGENT_NO_SUCH"] = "1"
	errs := unknownAgentKeys(env, agentEnvNames(t))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "PULSE_AGENT_NO_SUCH") || !strings.Contains(errs[0].Error(), agentService) {
		t.Fatalf("PULSE_AGENT_NO_SUCH: got %v", errs)
	}
}
