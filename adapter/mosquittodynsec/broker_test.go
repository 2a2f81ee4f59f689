package mosquittodynsec_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	mosquittoBin = "/usr/sbin/mosquitto"
	ctrlBin      = "/usr/bin/mosquitto_ctrl"
	dynsecPlugin = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"
	shippedConf  = "../../deploy/mosquitto/mosquitto.conf"
	initScript   = "../../deploy/mosquitto/init-dynsec.sh"
)

// broker is a Mosquitto started by one test from the shipped configuration,
// on its own port with its own dynsec file and persistence directory.
type broker struct {
	URL                       string
	Port                      int
	AdminUser, AdminPass      string
	IngestorUser, IngestorPwd string
	env                       []string // of init-dynsec.sh
}

// startBroker runs deploy/mosquitto/init-dynsec.sh file, starts
// /usr/sbin/mosquitto with deploy/mosquitto/mosquitto.conf (port and paths
// replaced), runs init-dynsec.sh accounts, and stops the broker in Cleanup.
func startBroker(t *testing.T) *broker {
	t.Helper()
	for _, f := range []string{mosquittoBin, ctrlBin, dynsecPlugin} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("Mosquitto 2.0 with the dynamic security plugin is required (%s: %v): "+
				"run scripts/services.sh mosquitto (make test does) or apt-get install mosquitto mosquitto-clients", f, err)
		}
	}
	dir := t.TempDir()
	b := &broker{
		Port:      freePort(t),
		AdminUser: "pulse-dynsec-admin", AdminPass: "admin-" + randHex(t),
		IngestorUser: "pulse-ingestor", IngestorPwd: "ingest-" + randHex(t),
	}
	b.URL = fmt.Sprintf("tcp://127.0.0.1:%d", b.Port)
	dynsecFile := filepath.Join(dir, "dynamic-security.json")
	env := append(os.Environ(),
		"DYNSEC_FILE="+dynsecFile,
		"DYNSEC_ADMIN_USER="+b.AdminUser, "DYNSEC_ADMIN_PASSWORD="+b.AdminPass,
		"INGESTOR_USER="+b.IngestorUser, "INGESTOR_PASSWORD="+b.IngestorPwd,
		"MQTT_HOST=127.0.0.1", fmt.Sprintf("MQTT_PORT=%d", b.Port),
		"MOSQUITTO_CTRL="+ctrlBin,
	)
	runScript(t, env, "file")

	conf := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(testConf(t, b.Port, dynsecFile, dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	var logBuf syncBuffer
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
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", b.Port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("mosquitto exited at start (%v):\n%s", err, logBuf.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto not listening on %d after 15s:\n%s", b.Port, logBuf.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	runScript(t, env, "accounts")
	b.env = env
	return b
}

// testConf is the shipped configuration with the listener on port and the
// files under dir. It fails the test if a setting it relies on is missing.
func testConf(t *testing.T, port int, dynsecFile, dir string) string {
	t.Helper()
	raw, err := os.ReadFile(shippedConf)
	if err != nil {
		t.Fatalf("read shipped config: %v", err)
	}
	var out strings.Builder
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		line := sc.Text()
		k := ""
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			k = f[0]
		}
		seen[k] = true
		switch k {
		case "listener":
			line = fmt.Sprintf("listener %d 127.0.0.1", port)
		case "plugin_opt_config_file":
			line = "plugin_opt_config_file " + dynsecFile
		case "persistence_location":
			line = "persistence_location " + dir + "/"
		case "plugin":
			if f := strings.Fields(line); len(f) != 2 || f[1] != dynsecPlugin {
				t.Fatalf("shipped config loads %q, want the Debian dynsec plugin %s", line, dynsecPlugin)
			}
		}
		out.WriteString(line + "\n")
	}
	for _, k := range []string{"per_listener_settings", "listener", "plugin", "plugin_opt_config_file",
		"allow_anonymous", "persistence", "max_queued_messages", "max_queued_bytes", "max_packet_size", "max_inflight_messages"} {
		if !seen[k] {
			t.Fatalf("shipped config %s does not set %s", shippedConf, k)
		}
	}
	if os.Geteuid() == 0 {
		// As root mosquitto would switch to the mosquitto user, which cannot
		// write the dynsec file inside the test's private temp dir.
		out.WriteString("user root\n")
	}
	if os.Getenv("MOSQ_DEBUG") != "" { // every packet in the log printed on failure
		out.WriteString("log_type all\n")
	}
	return out.String()
}

func runScript(t *testing.T, env []string, step string) {
	t.Helper()
	cmd := exec.Command("bash", initScript, step)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("init-dynsec.sh %s: %v\n%s", step, err, out)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
