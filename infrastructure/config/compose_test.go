package config

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/pulsemetrics/pulse/adapter/notify/secretbox"
)

// The compose stacks set Pulse's settings by environment only, where a
// misspelt key is silently ignored: these tests hold them to the table.

const repoRoot = "../.."

var composeStacks = [][]string{{"docker-compose.yml"}, {"docker-compose.yml", "docker-compose.prod.yml"}}

var pulseBinaries = map[string]bool{"pulse": true, "pulse-api": true, "pulse-worker": true, "pulse-scheduler": true, "pulse-ingestor": true}

// composeService is what is read of a service: yaml.Node keeps aliases
// and tags (!override) visible, struct decoding resolves `<<`.
type composeService struct {
	Command, Environment, Volumes yaml.Node
	EnvFile                       yaml.Node `yaml:"env_file"`
}

// pulseService is a service running a Pulse binary, its files merged.
type pulseService struct {
	name, binary string
	env          map[string]string // what the container gets
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isOverride(n yaml.Node) bool { return n.Tag == "!override" || deref(&n).Tag == "!override" }

// items is a scalar's or a sequence's values.
func items(n yaml.Node) (out []string) {
	if m := deref(&n); m.Kind == yaml.ScalarNode {
		return []string{m.Value}
	}
	for _, it := range deref(&n).Content {
		out = append(out, deref(it).Value)
	}
	return out
}

// envMap reads the map or list form; a key without a value takes the
// (here empty) shell's, so it is unset.
func envMap(t *testing.T, n yaml.Node) map[string]string {
	out := map[string]string{}
	if m := deref(&n); m.Kind == yaml.MappingNode {
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
		return out
	}
	for _, it := range items(n) {
		if k, v, ok := strings.Cut(it, "="); ok {
			out[k] = v
		}
	}
	return out
}

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*`)

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

// readEnvFile reads KEY=VALUE lines (comments, export, quotes), or the
// .example next to a file a checkout does not have.
func readEnvFile(file string, unmet map[string]bool) (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(repoRoot, file))
	if os.IsNotExist(err) {
		if b, err = os.ReadFile(filepath.Join(repoRoot, file+".example")); os.IsNotExist(err) {
			return nil, fmt.Errorf("neither %s nor %s.example exists", file, file)
		}
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "export ")
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			if v = strings.TrimSpace(v); len(v) > 1 && v[0] == '\'' && v[len(v)-1] == '\'' {
				out[strings.TrimSpace(k)] = v[1 : len(v)-1]
			} else {
				out[strings.TrimSpace(k)] = interpolate(strings.Trim(v, `"`), out, unmet)
			}
		}
	}
	return out, err
}

var (
	shellSep    = regexp.MustCompile("[;|&()`\n]|\\$\\(")
	shellNote   = regexp.MustCompile(`(?m)(^|\s)#.*$`)
	shellPrefix = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*=\S*|if|then|else|elif|do|while|until|exec|!)$`)
	envFileFlag = regexp.MustCompile(`--env-file\s+(\S+)`)
)

// binaryOf is the Pulse binary a command runs: itself, or one in command
// position (not a mere mention) of a script given by -c or mounted from the repo.
func binaryOf(command, volumes []string) string {
	script := strings.Join(command, " ")
	if len(command) > 1 && (command[0] == "sh" || command[0] == "bash") {
		script = strings.Join(command[2:], " ")
		for _, v := range volumes {
			if host, target, _ := strings.Cut(v, ":"); strings.HasPrefix(host, "./") && (target == command[1] || strings.HasPrefix(target, command[1]+":")) {
				b, _ := os.ReadFile(filepath.Join(repoRoot, host))
				script = string(b)
			}
		}
	}
	for _, seg := range shellSep.Split(shellNote.ReplaceAllString(script, ""), -1) {
		words := strings.Fields(seg)
		for len(words) > 0 && shellPrefix.MatchString(words[0]) {
			words = words[1:]
		}
		if len(words) > 0 && pulseBinaries[path.Base(strings.Trim(words[0], `"'`))] {
			return path.Base(strings.Trim(words[0], `"'`))
		}
	}
	return ""
}

// loadPulseServices merges the files as compose does for what matters
// here (command replaces, environment merges by key over env_file,
// env_file and volumes append, !override replaces), interpolating from the
// --env-file their usage names, and keeps the services that run Pulse.
func loadPulseServices(t *testing.T, files ...string) []pulseService {
	t.Helper()
	type merged struct {
		command, envFiles, volumes []string
		env                        map[string]string
	}
	all, vars, unmet, texts := map[string]*merged{}, map[string]string{}, map[string]bool{}, []string{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(b))
		for _, m := range envFileFlag.FindAllStringSubmatch(string(b), -1) {
			v, err := readEnvFile(m[1], unmet)
			if err != nil {
				t.Errorf("%s: --env-file: %v", f, err)
			}
			maps.Copy(vars, v)
		}
	}
	add := func(n yaml.Node, to []string) []string {
		if isOverride(n) {
			to = nil
		}
		for _, it := range items(n) {
			to = append(to, interpolate(it, vars, unmet))
		}
		return to
	}
	for i, text := range texts {
		var doc struct{ Services map[string]composeService }
		if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
			t.Fatalf("%s: %v", files[i], err)
		}
		for name, s := range doc.Services {
			m := all[name]
			if m == nil {
				m = &merged{}
				all[name] = m
			}
			if m.env == nil || isOverride(s.Environment) {
				m.env = map[string]string{}
			}
			if s.Command.Kind != 0 {
				if m.command = add(s.Command, nil); deref(&s.Command).Kind == yaml.ScalarNode {
					m.command = strings.Fields(m.command[0]) // the string form: split, no shell
				}
			}
			for k, v := range envMap(t, s.Environment) {
				m.env[k] = interpolate(v, vars, unmet)
			}
			m.envFiles, m.volumes = add(s.EnvFile, m.envFiles), add(s.Volumes, m.volumes)
		}
	}
	var out []pulseService
	for _, name := range slices.Sorted(maps.Keys(all)) {
		s := pulseService{name: name, binary: binaryOf(all[name].command, all[name].volumes), env: map[string]string{}}
		if s.binary == "" {
			continue
		}
		for _, ef := range all[name].envFiles {
			v, err := readEnvFile(ef, unmet)
			if err != nil {
				t.Errorf("service %s: env_file: %v", name, err)
			}
			maps.Copy(s.env, v)
		}
		maps.Copy(s.env, all[name].env) // environment wins over env_file
		out = append(out, s)
	}
	if len(out) == 0 {
		t.Fatalf("%v: no service runs Pulse", files)
	}
	for _, v := range slices.Sorted(maps.Keys(unmet)) {
		t.Errorf("%v: ${%s:?…} is required but set nowhere: compose would refuse to start", files, v)
	}
	return out
}

// knownSettings is every variable Register reads or names in a usage.
func knownSettings() map[string]bool {
	known := map[string]bool{}
	fs := flag.NewFlagSet("known", flag.ContinueOnError)
	Register(fs, func(k string) string { known[k] = true; return "" })
	usage := regexp.MustCompile(`\((PULSE_[A-Z0-9_]+)\)$`)
	fs.VisitAll(func(f *flag.Flag) {
		if m := usage.FindStringSubmatch(f.Usage); m != nil {
			known[m[1]] = true
		}
	})
	return known
}

func unknownKeys(s pulseService, known map[string]bool) (errs []error) {
	for _, k := range slices.Sorted(maps.Keys(s.env)) {
		if strings.HasPrefix(k, "PULSE_") && !known[k] {
			errs = append(errs, fmt.Errorf("service %s: %s is not a Pulse setting", s.name, k))
		}
	}
	return errs
}

// loadService configures the service's binary as it would start.
func loadService(s pulseService) error {
	fs := flag.NewFlagSet(s.binary, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c, finish := Register(fs, func(k string) string { return s.env[k] })
	err := fs.Parse(nil)
	if err == nil {
		err = finish()
	}
	if err == nil && s.binary != "pulse" { // `pulse <command>` runs any mode
		err = c.CheckRole(s.binary)
	}
	if err == nil && c.Notify.SecretKey != "" { // as the wiring reads it at start
		_, err = secretbox.ParseKey(c.Notify.SecretKey)
	}
	if err != nil {
		return fmt.Errorf("service %s (%s): %w", s.name, s.binary, err)
	}
	return nil
}

func TestComposeSettings(t *testing.T) {
	known := knownSettings()
	for _, files := range composeStacks {
		t.Run(strings.Join(files, "+"), func(t *testing.T) {
			for _, s := range loadPulseServices(t, files...) {
				for _, err := range unknownKeys(s, known) {
					t.Error(err)
				}
				if err := loadService(s); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// The checks must catch a wrong key and a missing required setting.
func TestComposeChecksCatchMistakes(t *testing.T) {
	services := loadPulseServices(t, "docker-compose.yml")
	i := slices.IndexFunc(services, func(s pulseService) bool { return s.binary == "pulse-api" })
	if i < 0 {
		t.Fatal("no pulse-api service")
	}
	s := services[i]
	s.env = maps.Clone(s.env)
	s.env["PULSE_NO_SUCH"] = "1"
	if errs := unknownKeys(s, knownSettings()); len(errs) != 1 || !strings.Contains(errs[0].Error(), "PULSE_NO_SUCH") || !strings.Contains(errs[0].Error(), s.name) {
		t.Fatalf("PULSE_NO_SUCH in %s: got %v", s.name, errs)
	}
	delete(s.env, "PULSE_REDIS_URL")
	if err := loadService(s); err == nil || !strings.Contains(err.Error(), "PULSE_REDIS_URL") {
		t.Fatalf("pulse-api without PULSE_REDIS_URL: got %v", err)
	}
	unmet := map[string]bool{}
	if got := interpolate("a${X:-${Y:-d}}$$b${Z:?m}", nil, unmet); got != "ad$b" || !unmet["Z"] {
		t.Fatalf("interpolate: %q, unmet %v", got, unmet)
	}
}
