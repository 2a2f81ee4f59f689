package main

import (
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/token"
)

// validToken issues a well-formed token with the domain's own code, so
// the test does not hard-code the format.
func validToken(t *testing.T) string {
	t.Helper()
	is, err := token.Issue(rand.Reader, 1, "agent", []token.Scope{token.ScopeIngest}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return is.Plain
}

func TestPrecedenceFlagsOverEnvOverFile(t *testing.T) {
	tok := validToken(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(conf, []byte(`
broker: ssl://file.example:8883
tenant: from-file
token: `+tok+`
interval: 30s
agent-id: file-agent
spool-dir: /tmp/file-spool
spool-max-bytes: 128MiB
ca-file: /etc/ssl/pulse-ca.pem
tag:
  env: prod
  rack: r1
collectors: [cpu, memory]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"PULSE_AGENT_CONFIG":   conf,
		"PULSE_AGENT_TENANT":   "from-env",
		"PULSE_AGENT_INTERVAL": "20s",
		"PULSE_AGENT_TAG":      "team=ops",
	}
	s, err := parseSettings([]string{"--interval", "5s", "--tag", "zone=a"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"interval (flag over env over file)", s.Interval.String(), (5 * time.Second).String()},
		{"tenant (env over file)", s.Tenant, "from-env"},
		{"broker (file)", s.Broker, "ssl://file.example:8883"},
		{"agent id (file)", s.AgentID, "file-agent"},
		{"client id (derived)", s.ClientID, "pulse-agent-file-agent"},
		{"spool max bytes (file, with unit)", formatInt(s.SpoolMaxBytes), formatInt(128 << 20)},
		{"collectors (file list)", strings.Join(s.Collectors, ","), "cpu,memory"},
		// --tag on the command line wins over the env and file ones as a whole.
		{"tags", tagList(s.Tags).String(), "zone=a"},
		{"topic", s.topic(), "metrics/from-env/system/file-agent"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !strings.HasPrefix(s.username(), "pulse_") || s.username() == tok {
		t.Errorf("username = %q, want pulse_<id>", s.username())
	}
}

func TestTagsFromEnvAndFileWhenNoFlag(t *testing.T) {
	env := map[string]string{"PULSE_AGENT_TAG": "team=ops,env=dev"}
	s, err := parseSettings([]string{"--once", "--dry-run"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got := tagList(s.Tags).String(); got != "env=dev,team=ops" {
		t.Fatalf("tags = %q", got)
	}
}

func TestWrongSettingsNameTheSetting(t *testing.T) {
	tok := validToken(t)
	base := []string{"--broker", "tcp://127.0.0.1:1883", "--tenant", "acme", "--token", tok, "--spool-dir", t.TempDir()}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--token", "nope"}, "--token"},
		{[]string{"--broker", "tcp://host"}, "--broker"},
		{[]string{"--interval", "10ms"}, "--interval"},
		{[]string{"--agent-id", "a/b"}, "--agent-id"},
		{[]string{"--collectors", "cpu,gpu"}, "--collectors"},
		{[]string{"--tag", "host=x"}, "--tag host"},
		{[]string{"--drain-rate", "0.05"}, "--drain-rate"},
		{[]string{"--spool-max-bytes", "12"}, "--spool-max-bytes"},
		{[]string{"--dry-run"}, "--dry-run needs --once"},
	} {
		_, err := parseSettings(append(append([]string{}, base...), c.args...), func(string) string { return "" }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one naming %s", c.args, err, c.want)
		}
	}
	if _, err := parseSettings(base, func(string) string { return "" }, io.Discard); err != nil {
		t.Fatalf("valid settings refused: %v", err)
	}
	conf := filepath.Join(t.TempDir(), "bad.yaml")
	_ = os.WriteFile(conf, []byte("brokr: tcp://x:1\n"), 0o600)
	if _, err := parseSettings(append(base, "--config", conf), func(string) string { return "" }, io.Discard); err == nil || !strings.Contains(err.Error(), "brokr") {
		t.Fatalf("unknown config key: %v", err)
	}
}

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }
