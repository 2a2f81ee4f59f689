package testservice

import (
	"bufio"
	"bytes"
	"errors"
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

// The Mosquitto of distributed mode (Debian's mosquitto package).
const (
	MosquittoBin  = "/usr/sbin/mosquitto"
	MosquittoCtrl = "/usr/bin/mosquitto_ctrl"
	DynsecPlugin  = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"
)

// Mosquitto is a private broker started from the shipped
// deploy/mosquitto/mosquitto.conf (listener port and file paths replaced),
// with dynamic security set up by the shipped init-dynsec.sh: what the
// tests and the bench exercise is what ships.
type Mosquitto struct {
	URL  string // tcp://127.0.0.1:<Port>
	Port int
	// TLSURL is ssl://127.0.0.1:<TLSPort> when the broker was started with
	// MosquittoOptions.TLS ("" and 0 otherwise).
	TLSURL                    string
	TLSPort                   int
	AdminUser, AdminPass      string // the dynamic-security admin
	IngestorUser, IngestorPwd string // the ingestor's service account
	env                       []string
	script                    string
	log                       SyncBuffer
	stop                      func()
}

// MosquittoOptions tunes a private broker; the zero value is the shipped setup.
type MosquittoOptions struct {
	// Overrides replaces settings of the shipped file (e.g. max_inflight_messages).
	Overrides map[string]string
	// Quiet drops connection and information log lines (benchmarks).
	Quiet bool
	// TLS adds a second listener on 127.0.0.1 that speaks TLS (1.2 or
	// later) with these PEM files; the plain listener stays.
	TLS *TLSFiles
}

// TLSFiles are the PEM files of a TLS listener.
type TLSFiles struct {
	CA, Cert, Key string // CA: the CA that signed client certificates (and Cert)
	// RequireClientCert makes the listener refuse clients without a
	// certificate signed by CA (mutual TLS); the token still authenticates.
	RequireClientCert bool
}

// StartMosquitto runs init-dynsec.sh file, starts the broker on a free
// port, waits for it, and runs init-dynsec.sh accounts. Close stops it.
func StartMosquitto(opts MosquittoOptions) (*Mosquitto, error) {
	for _, f := range []string{MosquittoBin, MosquittoCtrl, DynsecPlugin} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("Mosquitto 2.0 with the dynamic security plugin is required (%s: %v): "+
				"run scripts/services.sh mosquitto (make test does) or apt-get install mosquitto", f, err)
		}
	}
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	shipped, err := os.ReadFile(filepath.Join(root, "deploy/mosquitto/mosquitto.conf"))
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pulse-mosquitto-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	var tlsPort int
	if opts.TLS != nil {
		if tlsPort, err = freePort(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	m := &Mosquitto{
		URL: fmt.Sprintf("tcp://127.0.0.1:%d", port), Port: port,
		AdminUser: "pulse-dynsec-admin", AdminPass: UniqueName("admin-"),
		IngestorUser: "pulse-ingestor", IngestorPwd: UniqueName("ingest-"),
		script: filepath.Join(root, "deploy/mosquitto/init-dynsec.sh"),
	}
	dynsecFile := filepath.Join(dir, "dynamic-security.json")
	m.env = append(os.Environ(),
		"DYNSEC_FILE="+dynsecFile,
		"DYNSEC_ADMIN_USER="+m.AdminUser, "DYNSEC_ADMIN_PASSWORD="+m.AdminPass,
		"INGESTOR_USER="+m.IngestorUser, "INGESTOR_PASSWORD="+m.IngestorPwd,
		"MQTT_HOST=127.0.0.1", fmt.Sprintf("MQTT_PORT=%d", port),
		"MOSQUITTO_CTRL="+MosquittoCtrl,
	)
	if err := m.InitDynsec("file"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if tlsPort != 0 {
		m.TLSURL, m.TLSPort = fmt.Sprintf("ssl://127.0.0.1:%d", tlsPort), tlsPort
	}
	conf, err := privateConf(shipped, port, dynsecFile, dir, opts)
	if err == nil && opts.TLS != nil {
		conf += tlsListenerConf(tlsPort, *opts.TLS)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "mosquitto.conf"), []byte(conf), 0o600)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(MosquittoBin, "-c", filepath.Join(dir, "mosquitto.conf"))
	cmd.Stdout, cmd.Stderr = &m.log, &m.log
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", MosquittoBin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	m.stop = func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			<-exited
			os.RemoveAll(dir)
		})
	}
	if err := waitListening(fmt.Sprintf("127.0.0.1:%d", port), exited); err != nil {
		m.stop()
		return nil, fmt.Errorf("%w:\n%s", err, m.log.String())
	}
	if tlsPort != 0 {
		if err := waitListening(fmt.Sprintf("127.0.0.1:%d", tlsPort), exited); err != nil {
			m.stop()
			return nil, fmt.Errorf("TLS listener: %w:\n%s", err, m.log.String())
		}
	}
	if err := m.InitDynsec("accounts"); err != nil {
		m.stop()
		return nil, err
	}
	return m, nil
}

// tlsListenerConf is the extra TLS listener (with per_listener_settings
// false, certificate options belong to the listener above them).
func tlsListenerConf(port int, f TLSFiles) string {
	conf := fmt.Sprintf("\n# TLS listener added by testservice\nlistener %d 127.0.0.1\ncertfile %s\nkeyfile %s\ntls_version tlsv1.2\n", port, f.Cert, f.Key)
	if f.CA != "" {
		conf += "cafile " + f.CA + "\n"
	}
	if f.RequireClientCert {
		conf += "require_certificate true\n"
	}
	return conf
}

// PrivateMosquitto is StartMosquitto for a test: it fails the test when the
// broker cannot start, stops it when the test ends and prints its log if
// the test failed.
func PrivateMosquitto(tb testing.TB, opts MosquittoOptions) *Mosquitto {
	tb.Helper()
	m, err := StartMosquitto(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		m.Close()
		if tb.Failed() {
			tb.Logf("mosquitto log:\n%s", m.Log())
		}
	})
	return m
}

// Close stops the broker and removes its files; it is safe to call twice.
func (m *Mosquitto) Close() { m.stop() }

// Log is what the broker printed so far.
func (m *Mosquitto) Log() string { return m.log.String() }

// InitDynsec runs a step of the shipped init-dynsec.sh against this broker.
func (m *Mosquitto) InitDynsec(step string) error {
	cmd := exec.Command("bash", m.script, step)
	cmd.Env = m.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("init-dynsec.sh %s: %w\n%s", step, err, out)
	}
	return nil
}

// requiredSettings are what the guarantees rely on: the shipped file must set them.
var requiredSettings = []string{"per_listener_settings", "listener", "plugin", "plugin_opt_config_file",
	"allow_anonymous", "persistence", "max_queued_messages", "max_queued_bytes", "max_packet_size", "max_inflight_messages"}

// privateConf is the shipped configuration with the listener on port, the
// files under dir and opts applied; it refuses a shipped file that lacks a
// required setting or loads another plugin.
func privateConf(shipped []byte, port int, dynsecFile, dir string, opts MosquittoOptions) (string, error) {
	var out strings.Builder
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(shipped))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			out.WriteString(line + "\n")
			continue
		}
		seen[f[0]] = true
		if v, ok := opts.Overrides[f[0]]; ok {
			line = f[0] + " " + v
		}
		switch f[0] {
		case "listener":
			line = fmt.Sprintf("listener %d 127.0.0.1", port)
		case "plugin_opt_config_file":
			line = "plugin_opt_config_file " + dynsecFile
		case "persistence_location":
			line = "persistence_location " + dir + "/"
		case "plugin":
			if len(f) != 2 || f[1] != DynsecPlugin {
				return "", fmt.Errorf("shipped config loads %q, want the Debian dynsec plugin %s", line, DynsecPlugin)
			}
		case "connection_messages":
			if opts.Quiet {
				line = "connection_messages false"
			}
		case "log_type":
			if opts.Quiet && len(f) > 1 && (f[1] == "information" || f[1] == "notice") {
				continue
			}
		}
		out.WriteString(line + "\n")
	}
	for _, k := range requiredSettings {
		if !seen[k] {
			return "", fmt.Errorf("shipped deploy/mosquitto/mosquitto.conf does not set %s", k)
		}
	}
	if os.Geteuid() == 0 {
		// As root mosquitto would switch to the mosquitto user, which cannot
		// write the dynsec file inside our private temp dir.
		out.WriteString("user root\n")
	}
	if os.Getenv("MOSQ_DEBUG") != "" { // every packet in the log
		out.WriteString("log_type all\n")
	}
	return out.String(), nil
}

// repoRoot is the directory holding deploy/mosquitto, searched upwards from
// the working directory (a package directory in tests, the root for the bench).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "deploy/mosquitto/mosquitto.conf")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("deploy/mosquitto/mosquitto.conf not found above the working directory: run from the repository")
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitListening waits (15 s at most) until addr accepts connections, or the process exits.
func waitListening(addr string, exited chan error) error {
	deadline := time.Now().Add(15 * time.Second)
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
			return fmt.Errorf("mosquitto not listening on %s after 15s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
