package config

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/notify/secretbox"
	"github.com/pulsemetrics/pulse/infrastructure/composefile"
)

// The compose stacks set Pulse's settings by environment only, where a
// misspelt key is silently ignored: these tests hold them to the table.

const repoRoot = "../.."

// stack is a `docker compose --env-file envFile -f files…` invocation.
type stack struct {
	files   []string
	envFile string
}

var (
	devStack      = stack{[]string{"docker-compose.yml"}, ""}
	prodStack     = stack{[]string{"docker-compose.yml", "docker-compose.prod.yml"}, "deploy/compose/secrets/prod.env"}
	composeStacks = []stack{devStack, prodStack}
)

var pulseBinaries = map[string]bool{"pulse": true, "pulse-api": true, "pulse-worker": true, "pulse-scheduler": true, "pulse-ingestor": true}

// pulseService is a service running a Pulse binary, as compose loads it.
type pulseService struct {
	name, binary string
	env          map[string]string // what the container gets
}

var (
	shellSep    = regexp.MustCompile("[;|&()`\n]|\\$\\(")
	shellNote   = regexp.MustCompile(`(?m)(^|\s)#.*$`)
	shellPrefix = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*=\S*|if|then|else|elif|do|while|until|exec|!)$`)
)

// binaryOf is the Pulse binary a script runs in command position (not a
// mere mention).
func binaryOf(script string) string {
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

// loadPulseServices loads the stack as compose runs it and keeps the
// services that run Pulse.
func loadPulseServices(t *testing.T, st stack) []pulseService {
	t.Helper()
	p, err := composefile.Load(repoRoot, st.files, st.envFile)
	if err != nil {
		t.Fatal(err)
	}
	var out []pulseService
	for _, name := range slices.Sorted(maps.Keys(p.Services)) {
		script, err := composefile.Script(p.Services[name])
		if err != nil {
			t.Fatalf("service %s: %v", name, err)
		}
		if s := (pulseService{name, binaryOf(script), composefile.Env(p.Services[name])}); s.binary != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%v: no service runs Pulse", st.files)
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
	for _, st := range composeStacks {
		t.Run(strings.Join(st.files, "+"), func(t *testing.T) {
			for _, s := range loadPulseServices(t, st) {
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

// The checks must catch a wrong key, a missing required setting and a
// required ${VAR:?} left unset.
func TestComposeChecksCatchMistakes(t *testing.T) {
	services := loadPulseServices(t, devStack)
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
	if _, err := composefile.Load(repoRoot, prodStack.files, ""); err == nil || !strings.Contains(err.Error(), "required variable") {
		t.Fatalf("%v without its --env-file: got %v", prodStack.files, err)
	}
}
