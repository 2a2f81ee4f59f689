package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pulsemetrics/pulse/adapter/agent/hostmetrics"
	"github.com/pulsemetrics/pulse/domain/token"
)

// settings is everything pulse-agent runs with. Each comes from (highest
// precedence first) its flag, its PULSE_AGENT_* variable, the --config
// file (YAML, keys = flag names), or its default.
type settings struct {
	Config        string
	Broker        string
	Tenant        string
	Token         string
	Interval      time.Duration
	AgentID       string
	Host          string
	ClientID      string
	SpoolDir      string
	SpoolMaxBytes int64
	SpoolMaxAge   time.Duration
	DrainRate     float64
	AckTimeout    time.Duration
	CAFile        string
	CertFile      string
	KeyFile       string
	ServerName    string
	Insecure      bool
	Tags          map[string]string
	Collectors    []string
	Once          bool
	DryRun        bool
	HTTPAddr      string
	LogLevel      string
	LogFormat     string
}

// envName is a flag's environment variable: --spool-max-bytes → PULSE_AGENT_SPOOL_MAX_BYTES.
func envName(flagName string) string {
	return "PULSE_AGENT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// tagList is the repeatable --tag k=v.
type tagList map[string]string

func (t tagList) String() string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + t[k])
	}
	return b.String()
}

// Set takes k=v, or several separated by commas (the env and file form).
func (t tagList) Set(v string) error {
	for _, kv := range strings.Split(v, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, val, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("tag %q: want key=value", kv)
		}
		t[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	return nil
}

// byteSize is a size flag that takes 64MiB, 500MB, 1GiB or plain bytes.
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(v string) error {
	s := strings.TrimSpace(strings.ToUpper(v))
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(s, u.suf) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suf)), u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a size (e.g. 64MiB)", v)
	}
	*b = byteSize(n * mult)
	return nil
}

// topicLevel is what an agent id or tenant slug may be inside an MQTT topic.
var topicLevel = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)

// parseSettings reads args, then getenv, then the config file.
func parseSettings(args []string, getenv func(string) string, stderr io.Writer) (*settings, error) {
	hostname, _ := os.Hostname()
	s := &settings{Tags: map[string]string{}}
	fs := flag.NewFlagSet("pulse-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&s.Config, "config", "", "optional YAML file of settings (keys are the flag names)")
	fs.StringVar(&s.Broker, "broker", "", "MQTT broker: tcp://host:1883 or ssl://host:8883")
	fs.StringVar(&s.Tenant, "tenant", "", "the tenant's slug (topic metrics/{tenant}/system/{agent_id})")
	fs.StringVar(&s.Token, "token", "", "an ingest token of the tenant (pulse_<id>_<secret>)")
	fs.DurationVar(&s.Interval, "interval", 10*time.Second, "collection interval")
	fs.StringVar(&s.AgentID, "agent-id", hostname, "this agent's id (topic level and agent_id tag)")
	fs.StringVar(&s.Host, "host", hostname, "the host tag")
	fs.StringVar(&s.ClientID, "client-id", "", "MQTT client id (default pulse-agent-<agent-id>)")
	fs.StringVar(&s.SpoolDir, "spool-dir", defaultSpoolDir(getenv), "directory of the on-disk spool")
	maxBytes := byteSize(64 << 20)
	fs.Var(&maxBytes, "spool-max-bytes", "spool size bound; the oldest batches are dropped beyond it (default 64MiB)")
	fs.DurationVar(&s.SpoolMaxAge, "spool-max-age", 7*24*time.Hour, "spooled batches older than this are dropped")
	fs.Float64Var(&s.DrainRate, "drain-rate", 10, "spooled batches sent per second at most after a reconnect")
	fs.DurationVar(&s.AckTimeout, "ack-timeout", 10*time.Second, "how long to wait for a PUBACK (and a CONNACK)")
	fs.StringVar(&s.CAFile, "ca-file", "", "PEM CA bundle to verify the broker with (default: the system's)")
	fs.StringVar(&s.CertFile, "cert-file", "", "PEM client certificate (mutual TLS)")
	fs.StringVar(&s.KeyFile, "key-file", "", "PEM key of the client certificate")
	fs.StringVar(&s.ServerName, "server-name", "", "name the broker's certificate must carry (default: the broker's host)")
	fs.BoolVar(&s.Insecure, "insecure-skip-verify", false, "do NOT verify the broker's certificate (tests only)")
	tags := tagList(s.Tags)
	fs.Var(tags, "tag", "extra tag on every sample, key=value (repeatable)")
	collectors := strings.Join(hostmetrics.Names, ",")
	fs.StringVar(&collectors, "collectors", collectors, "collectors to run")
	fs.BoolVar(&s.Once, "once", false, "collect once, publish (or print with --dry-run) and exit")
	fs.BoolVar(&s.DryRun, "dry-run", false, "print the JSON instead of publishing it")
	fs.StringVar(&s.HTTPAddr, "http-addr", "", "serve /metrics, /healthz and /readyz here (e.g. 127.0.0.1:9108; empty = off)")
	fs.StringVar(&s.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&s.LogFormat, "log-format", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	// The config file's own name may come from the environment.
	if !set["config"] && getenv(envName("config")) != "" {
		s.Config = getenv(envName("config"))
	}
	var file map[string]any
	if s.Config != "" {
		b, err := os.ReadFile(s.Config)
		if err != nil {
			return nil, fmt.Errorf("--config: %w", err)
		}
		if err := yaml.Unmarshal(b, &file); err != nil {
			return nil, fmt.Errorf("--config %s: %w", s.Config, err)
		}
		for k := range file {
			if k == "config" || fs.Lookup(k) == nil {
				return nil, fmt.Errorf("--config %s: unknown setting %q", s.Config, k)
			}
		}
	}
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || f.Name == "config" {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", envName(f.Name), v, err))
			}
			return
		}
		raw, ok := file[f.Name]
		if !ok {
			return
		}
		vals := fileValues(raw)
		if _, repeatable := f.Value.(tagList); !repeatable {
			vals = []string{strings.Join(vals, ",")} // a list is the comma form (collectors)
		}
		for _, v := range vals {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("--config %s: %s: %w", s.Config, f.Name, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.SpoolMaxBytes = int64(maxBytes)
	for _, c := range strings.Split(collectors, ",") {
		if c = strings.TrimSpace(c); c != "" {
			s.Collectors = append(s.Collectors, c)
		}
	}
	if s.ClientID == "" {
		s.ClientID = "pulse-agent-" + s.AgentID
	}
	return s, s.validate()
}

// fileValues turns a YAML value into flag values: a scalar, a list (each
// item set in turn) or, for tag, a mapping.
func fileValues(raw any) []string {
	switch v := raw.(type) {
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, fmt.Sprint(x))
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []string
		for _, k := range keys {
			out = append(out, k+"="+fmt.Sprint(v[k]))
		}
		return out
	default:
		return []string{fmt.Sprint(v)}
	}
}

// defaultSpoolDir is systemd's StateDirectory when set, else a directory
// under the user's cache.
func defaultSpoolDir(getenv func(string) string) string {
	if d := getenv("STATE_DIRECTORY"); d != "" {
		return filepath.Join(strings.Split(d, ":")[0], "spool")
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "pulse-agent", "spool")
	}
	return "pulse-agent-spool"
}

// validate names the first wrong setting.
func (s *settings) validate() error {
	if s.Interval < 100*time.Millisecond {
		return fmt.Errorf("--interval %s: must be at least 100ms", s.Interval)
	}
	if !topicLevel.MatchString(s.AgentID) {
		return fmt.Errorf("--agent-id %q: letters, digits and _.:- only (it is an MQTT topic level)", s.AgentID)
	}
	if s.Host == "" {
		return errors.New("--host: empty (and the hostname is unknown)")
	}
	if _, err := hostmetrics.New(s.Collectors); err != nil {
		return fmt.Errorf("--collectors: %w", err)
	}
	for k := range s.Tags {
		if k == "host" || k == "agent_id" {
			return fmt.Errorf("--tag %s: set it with --%s instead", k, map[string]string{"host": "host", "agent_id": "agent-id"}[k])
		}
	}
	if s.DryRun {
		if !s.Once {
			return errors.New("--dry-run needs --once")
		}
		return nil
	}
	if s.Tenant == "" || !topicLevel.MatchString(s.Tenant) {
		return fmt.Errorf("--tenant %q: the tenant's slug is required", s.Tenant)
	}
	if s.Token == "" {
		return errors.New("--token: an ingest token is required (PULSE_AGENT_TOKEN)")
	}
	if _, err := token.Parse(s.Token); err != nil {
		return errors.New("--token: not a Pulse token (pulse_<id>_<secret>)")
	}
	u, err := url.Parse(s.Broker)
	if s.Broker == "" || err != nil || u.Host == "" {
		return fmt.Errorf("--broker %q: want tcp://host:1883 or ssl://host:8883", s.Broker)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return fmt.Errorf("--broker %q: the port is required", s.Broker)
	}
	if s.SpoolDir == "" {
		return errors.New("--spool-dir: required")
	}
	if s.SpoolMaxBytes < 64<<10 {
		return fmt.Errorf("--spool-max-bytes %d: at least 64KiB", s.SpoolMaxBytes)
	}
	if s.DrainRate*s.Interval.Seconds() <= 1 {
		return fmt.Errorf("--drain-rate %v: must exceed one batch per --interval (%s), or the spool never drains", s.DrainRate, s.Interval)
	}
	if s.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(s.HTTPAddr); err != nil {
			return fmt.Errorf("--http-addr %q: want host:port", s.HTTPAddr)
		}
	}
	return nil
}

// username is the broker account of the token: pulse_<id>.
func (s *settings) username() string {
	p, _ := token.Parse(s.Token)
	return "pulse_" + p.ID
}

// topic is where the agent publishes.
func (s *settings) topic() string { return "metrics/" + s.Tenant + "/system/" + s.AgentID }
