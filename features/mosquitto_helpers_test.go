package features_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The Mosquitto of distributed mode, as adapter/mosquittodynsec's tests
// start it: the shipped configuration with a private port and files.
const (
	mosquittoBin   = "/usr/sbin/mosquitto"
	mosquittoCtrl  = "/usr/bin/mosquitto_ctrl"
	dynsecPlugin   = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"
	mosquittoConf  = "../deploy/mosquitto/mosquitto.conf"
	dynsecInitPath = "../deploy/mosquitto/init-dynsec.sh"
)

// mosquitto is a private broker with dynamic security: the admin Pulse
// provisions tokens as, and the ingestor's service account.
type mosquitto struct {
	URL                       string
	AdminUser, AdminPass      string
	IngestorUser, IngestorPwd string
}

// startMosquitto runs init-dynsec.sh file, starts Mosquitto from the shipped
// configuration on a free port, runs init-dynsec.sh accounts, and kills the
// broker when t ends (printing its log if t failed).
func startMosquitto(t *testing.T) *mosquitto {
	t.Helper()
	for _, f := range []string{mosquittoBin, mosquittoCtrl, dynsecPlugin} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("Mosquitto 2.0 with the dynamic security plugin is required (%s: %v): "+
				"run scripts/services.sh mosquitto or apt-get install mosquitto mosquitto-clients", f, err)
		}
	}
	dir := t.TempDir()
	port := freeTCPPort(t)
	b := &mosquitto{
		URL:       fmt.Sprintf("tcp://127.0.0.1:%d", port),
		AdminUser: "pulse-dynsec-admin", AdminPass: "admin-" + randomHex(12),
		IngestorUser: "pulse-ingestor", IngestorPwd: "ingest-" + randomHex(12),
	}
	dynsecFile := filepath.Join(dir, "dynamic-security.json")
	env := append(os.Environ(),
		"DYNSEC_FILE="+dynsecFile,
		"DYNSEC_ADMIN_USER="+b.AdminUser, "DYNSEC_ADMIN_PASSWORD="+b.AdminPass,
		"INGESTOR_USER="+b.IngestorUser, "INGESTOR_PASSWORD="+b.IngestorPwd,
		"MQTT_HOST=127.0.0.1", fmt.Sprintf("MQTT_PORT=%d", port),
		"MOSQUITTO_CTRL="+mosquittoCtrl,
	)
	runInitDynsec(t, env, "file")
	raw, err := os.ReadFile(mosquittoConf)
	if err != nil {
		t.Fatalf("read shipped config: %v", err)
	}
	conf := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(privateMosquittoConf(raw, port, dynsecFile, dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	var logBuf lockedBuffer
	cmd := exec.Command(mosquittoBin, "-c", conf)
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", mosquittoBin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", logBuf.String())
		}
	})
	if err := waitListening(fmt.Sprintf("127.0.0.1:%d", port), exited, 15*time.Second); err != nil {
		t.Fatalf("%v:\n%s", err, logBuf.String())
	}
	runInitDynsec(t, env, "accounts")
	return b
}

// privateMosquittoConf is the shipped configuration with the listener on
// port and the files under dir (and, as root, "user root" so the broker can
// write the dynsec file inside the test's temp dir).
func privateMosquittoConf(shipped []byte, port int, dynsecFile, dir string) string {
	var out strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(shipped))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) > 0 {
			switch f[0] {
			case "listener":
				line = fmt.Sprintf("listener %d 127.0.0.1", port)
			case "plugin_opt_config_file":
				line = "plugin_opt_config_file " + dynsecFile
			case "persistence_location":
				line = "persistence_location " + dir + "/"
			}
		}
		out.WriteString(line + "\n")
	}
	if os.Geteuid() == 0 {
		out.WriteString("user root\n")
	}
	return out.String()
}

func runInitDynsec(t *testing.T, env []string, step string) {
	t.Helper()
	cmd := exec.Command("bash", dynsecInitPath, step)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("init-dynsec.sh %s: %v\n%s", step, err, out)
	}
}

// waitListening waits until addr accepts TCP connections, the process
// exits (exited) or the bound passes.
func waitListening(addr string, exited chan error, bound time.Duration) error {
	deadline := time.Now().Add(bound)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("mosquitto exited at start (%v)", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mosquitto not listening on %s after %s", addr, bound)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// lockedBuffer collects a process's output from its output goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
