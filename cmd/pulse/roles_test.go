package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

// binDir holds the role binaries, built once by TestMain.
var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "pulse-roles-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for name, pkg := range map[string]string{
		"pulse": ".", "pulse-api": "../api", "pulse-worker": "../worker",
		"pulse-scheduler": "../scheduler", "pulse-ingestor": "../ingestor",
	} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", name, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// distributedEnv points a role at a fresh MariaDB database and its own
// Redis stream and channel.
func distributedEnv(t *testing.T) []string {
	t.Helper()
	cfg, err := mysql.ParseDSN(testservice.MariaDB(t))
	if err != nil {
		t.Fatal(err)
	}
	_, prefix := testservice.Redis(t) // keys under prefix are deleted at the end
	stream := prefix + "ingest"
	return []string{
		fmt.Sprintf("PULSE_DATABASE_URL=mysql://%s@%s/%s", cfg.User, cfg.Addr, cfg.DBName),
		"PULSE_REDIS_URL=redis://" + testservice.RedisAddr() + "/0",
		"PULSE_QUEUE_STREAM=" + stream, "PULSE_INVALIDATION_CHANNEL=" + stream, "PULSE_LIVE_STREAM=" + prefix + "live",
		"PULSE_SECRET_KEY=cm9sZXMtdGVzdC1zZWNyZXQta2V5LTMyLWJ5dGVzLi4=", // pulse-api and pulse-worker need one
	}
}

func buildBinaries(t *testing.T) string {
	t.Helper()
	return binDir
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHealthy(t *testing.T, addr string, stderr *bytes.Buffer) {
	t.Helper()
	waitOK(t, addr, "/healthz", 20*time.Second, stderr)
}

func waitReady(t *testing.T, addr string, stderr *bytes.Buffer) {
	t.Helper()
	waitOK(t, addr, "/readyz", 30*time.Second, stderr)
}

// waitOK polls path until it answers 200 or bound passes.
func waitOK(t *testing.T, addr, path string, bound time.Duration, stderr *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no 200 from %s%s within %s; stderr:\n%s", addr, path, bound, stderr)
}

// Every binary starts (pulse serve on embedded defaults, the single roles
// on MariaDB and Redis), answers /healthz, /readyz and /metrics, and exits
// 0 shortly after SIGTERM.
func TestEveryRoleStartsAnswersProbesAndStopsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	bin := buildBinaries(t)
	for _, role := range []struct{ name, arg string }{
		{"pulse", "serve"}, {"pulse-api", ""}, {"pulse-worker", ""}, {"pulse-scheduler", ""}, {"pulse-ingestor", ""},
	} {
		t.Run(role.name, func(t *testing.T) {
			addr := freeAddr(t)
			var args []string
			if role.arg != "" {
				args = append(args, role.arg)
			}
			cmd := exec.Command(filepath.Join(bin, role.name), args...)
			cmd.Env = append(os.Environ(), "PULSE_HTTP_ADDR="+addr, "PULSE_DATA_DIR="+t.TempDir(), "PULSE_DATABASE_URL=", "PULSE_REDIS_URL=",
				"PULSE_MQTT_URL=", "PULSE_MQTT_LISTEN=127.0.0.1:0")
			if role.name != "pulse" { // a single role is a part of the distributed mode
				cmd.Env = append(cmd.Env, distributedEnv(t)...)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill() })
			waitHealthy(t, addr, &stderr)
			waitReady(t, addr, &stderr) // alive at once, ready once built
			for _, path := range []string{"/readyz", "/metrics"} {
				resp, err := http.Get("http://" + addr + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s answered %d", path, resp.StatusCode)
				}
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("exit after SIGTERM: %v; stderr:\n%s", err, stderr.String())
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("still running 20s after SIGTERM; stderr:\n%s", stderr.String())
			}
			if !strings.Contains(stderr.String(), "pulse stopped") {
				t.Fatalf("no clean stop logged:\n%s", stderr.String())
			}
		})
	}
}

// The admin CLI: tenants and tokens on the same data dir as serve; the token
// is alone on the last line; bad input gets one clear error and exit 1.
func TestAdminCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	bin := buildBinaries(t)
	data := t.TempDir()
	pulse := func(args ...string) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "pulse"), args...)
		cmd.Env = append(os.Environ(), "PULSE_DATA_DIR="+data, "PULSE_DATABASE_URL=")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		return out.String(), errOut.String(), err
	}
	if out, errOut, err := pulse("migrate"); err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %v %s %s", err, out, errOut)
	}
	if out, errOut, err := pulse("tenant", "create", "acme", "--name", "Acme Inc", "--retention-days", "7"); err != nil || !strings.Contains(out, "created tenant acme") {
		t.Fatalf("tenant create: %v %s %s", err, out, errOut)
	}
	out, errOut, err := pulse("token", "create", "acme", "--scopes", "ingest")
	if err != nil {
		t.Fatalf("token create: %v %s", err, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	tok := lines[len(lines)-1]
	if !strings.HasPrefix(tok, "pulse_") || strings.Contains(tok, " ") {
		t.Fatalf("last line is not a bare token: %q", tok)
	}
	id := strings.Split(tok, "_")[1]
	if out, _, err := pulse("tenant", "list"); err != nil || !strings.Contains(out, "acme") || !strings.Contains(out, "Acme Inc") {
		t.Fatalf("tenant list: %v %s", err, out)
	}
	if out, errOut, err := pulse("token", "revoke", "pulse_"+id); err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %v %s %s", err, out, errOut)
	}
	lastLineToken := func(out string) string {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(out), "\n")
		tok := lines[len(lines)-1]
		if !strings.HasPrefix(tok, "pulse_") || strings.Contains(tok, " ") {
			t.Fatalf("last line is not a bare token: %q", tok)
		}
		return tok
	}
	out, errOut, err = pulse("token", "create", "acme", "--scopes", "ingest", "--rate-limit", "600", "--name", "sensor-7")
	if err != nil || !strings.Contains(out, "600 samples/min") {
		t.Fatalf("token create --rate-limit: %v %s %s", err, out, errOut)
	}
	limited := lastLineToken(out)
	// token list: every token of the tenant, revoked ones marked, never a secret.
	out, errOut, err = pulse("token", "list", "acme")
	if err != nil {
		t.Fatalf("token list: %v %s", err, errOut)
	}
	rows := strings.Split(strings.TrimSpace(out), "\n")
	limitedID := "pulse_" + strings.Split(limited, "_")[1]
	if len(rows) != 3 || !strings.HasPrefix(rows[0], "ID") || !strings.Contains(out, "pulse_"+id) || !strings.Contains(out, limitedID) ||
		!strings.Contains(out, "sensor-7") || !strings.Contains(out, "600/min") || !strings.Contains(out, "revoked ") {
		t.Fatalf("token list:\n%s", out)
	}
	if strings.Contains(out, limited) || strings.Contains(out, tok) {
		t.Fatalf("token list shows a secret:\n%s", out)
	}
	if _, errOut, err := pulse("token", "list", "nosuch"); err == nil || !strings.Contains(errOut, "tenant not found") {
		t.Fatalf("token list of an unknown tenant: %v %s", err, errOut)
	}
	out, errOut, err = pulse("token", "create", "--admin", "--name", "ops")
	if err != nil || !strings.Contains(out, "platform-admin") {
		t.Fatalf("token create --admin: %v %s %s", err, out, errOut)
	}
	lastLineToken(out)
	if out, errOut, err := pulse("tenant", "update", "acme", "--retention-days", "14", "--disable"); err != nil || !strings.Contains(out, "updated tenant acme (retention 14 days, disabled)") {
		t.Fatalf("tenant update: %v %s %s", err, out, errOut)
	}
	if out, _, err := pulse("tenant", "list"); err != nil || !strings.Contains(out, "disabled") {
		t.Fatalf("tenant list after disable: %v %s", err, out)
	}
	if out, errOut, err := pulse("tenant", "update", "acme", "--enable"); err != nil || !strings.Contains(out, "retention 14 days, active") {
		t.Fatalf("tenant update --enable: %v %s %s", err, out, errOut)
	}
	assertCLIAudit(t, data)
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"tenant", "create", "acme"}, "already exists"},
		{[]string{"tenant", "create", "Bad Slug!"}, "invalid slug"},
		{[]string{"tenant", "create", "ok-slug", "--retention-days", "0"}, ""}, // 0 means the default
		{[]string{"tenant", "create", "neg", "--retention-days", "-3"}, "retention_days"},
		{[]string{"token", "create", "nosuch"}, "tenant not found"},
		{[]string{"token", "create", "acme", "--scopes", "root"}, "unknown scope"},
		{[]string{"token", "revoke", "zzzzzzzzzz"}, "token not found"},
		{[]string{"token", "revoke", "x;DROP"}, "token not found"},
		{[]string{"token", "create", "--admin", "acme"}, "give no tenant slug"},
		{[]string{"token", "create"}, "give the tenant slug"},
		{[]string{"token", "create", "--admin", "--scopes", "ingest"}, "admin scope only"},
		{[]string{"token", "create", "acme", "--rate-limit", "-1"}, "--rate-limit"},
		{[]string{"tenant", "update", "acme"}, "nothing to update"},
		{[]string{"tenant", "update", "acme", "--disable", "--enable"}, "disable"},
		{[]string{"tenant", "update", "nosuch", "--disable"}, "tenant not found"},
		{[]string{"tenant", "update", "acme", "--retention-days", "0"}, "retention_days"},
	} {
		_, errOut, err := pulse(bad.args...)
		if bad.want == "" {
			if err != nil {
				t.Errorf("%v: %v %s", bad.args, err, errOut)
			}
			continue
		}
		if err == nil || !strings.Contains(errOut, bad.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("%v: want one error line containing %q, got err=%v stderr=%q", bad.args, bad.want, err, errOut)
		}
	}
}

// assertCLIAudit checks that the CLI's changes above were audited with the
// actor "cli".
func assertCLIAudit(t *testing.T, data string) {
	t.Helper()
	st, err := sqldbtest.OpenSQLite(filepath.Join(data, "pulse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	counts := map[audit.Action]int{}
	platform, err := st.ListPlatformAudit(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	tenant1, err := st.ListAudit(context.Background(), 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, es := range [][]audit.Entry{platform, tenant1} {
		for _, e := range es {
			if e.Actor != audit.CLIActorID {
				t.Errorf("audit actor = %q, want cli: %+v", e.Actor, e)
			}
			counts[e.Action]++
		}
	}
	want := map[audit.Action]int{audit.TenantCreate: 1, audit.TokenCreate: 3, audit.TokenRevoke: 1, audit.TenantUpdate: 2}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("audited actions = %v, want %v", counts, want)
	}
}

// A port already in use is said plainly, naming the setting.
func TestServeSaysWhenThePortIsTaken(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	bin := buildBinaries(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cmd := exec.Command(filepath.Join(bin, "pulse"), "serve")
	cmd.Env = append(os.Environ(), "PULSE_HTTP_ADDR="+ln.Addr().String(), "PULSE_DATA_DIR="+t.TempDir(), "PULSE_DATABASE_URL=", "PULSE_REDIS_URL=",
		"PULSE_MQTT_URL=", "PULSE_MQTT_LISTEN=127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("serve started on a taken port")
	}
	want := fmt.Sprintf("listen on %s (PULSE_HTTP_ADDR)", ln.Addr())
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "another process") {
		t.Fatalf("want %q in:\n%s", want, out)
	}
}

// A taken MQTT port stops serve with a line naming PULSE_MQTT_LISTEN.
func TestServeSaysWhenTheMQTTPortIsTaken(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binaries")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "pulse"), "serve")
	cmd.Env = append(os.Environ(), "PULSE_HTTP_ADDR="+freeAddr(t), "PULSE_DATA_DIR="+t.TempDir(), "PULSE_DATABASE_URL=", "PULSE_REDIS_URL=",
		"PULSE_MQTT_URL=", "PULSE_MQTT_LISTEN="+ln.Addr().String())
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("serve started on a taken MQTT port")
	}
	if !strings.Contains(string(out), "PULSE_MQTT_LISTEN="+ln.Addr().String()) || !strings.Contains(string(out), "address already in use") {
		t.Fatalf("want the MQTT port named in:\n%s", out)
	}
	// Every listener is bound before the process says it started.
	if strings.Contains(string(out), "pulse started") {
		t.Fatalf("announced a start before dying on the MQTT port:\n%s", out)
	}
}
