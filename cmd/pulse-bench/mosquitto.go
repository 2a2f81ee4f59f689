package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// The Mosquitto of distributed mode (Debian package paths), started by the
// bench as adapter/mosquittodynsec's tests start it.
const (
	mosquittoBin  = "/usr/sbin/mosquitto"
	mosquittoCtrl = "/usr/bin/mosquitto_ctrl"
)

// mosquitto is a private broker from deploy/mosquitto/mosquitto.conf (port
// and paths replaced) with dynamic security: the admin tokens are
// provisioned as, and the ingestor's service account.
type mosquitto struct {
	URL                       string
	AdminUser, AdminPass      string
	IngestorUser, IngestorPwd string
	stop                      func()
	log                       *lockedBuffer
}

// startMosquitto starts the broker; Close stops it and removes its files.
// Settings of the shipped file can be overridden (e.g. max_inflight_messages).
func startMosquitto(overrides map[string]string) (*mosquitto, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	shipped, err := os.ReadFile(filepath.Join(root, "deploy/mosquitto/mosquitto.conf"))
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pulse-bench-mosquitto-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	b := &mosquitto{
		URL:       fmt.Sprintf("tcp://127.0.0.1:%d", port),
		AdminUser: "pulse-dynsec-admin", AdminPass: "admin-" + randomHex(),
		IngestorUser: "pulse-ingestor", IngestorPwd: "ingest-" + randomHex(),
		log: &lockedBuffer{},
	}
	dynsecFile := filepath.Join(dir, "dynamic-security.json")
	env := append(os.Environ(),
		"DYNSEC_FILE="+dynsecFile,
		"DYNSEC_ADMIN_USER="+b.AdminUser, "DYNSEC_ADMIN_PASSWORD="+b.AdminPass,
		"INGESTOR_USER="+b.IngestorUser, "INGESTOR_PASSWORD="+b.IngestorPwd,
		"MQTT_HOST=127.0.0.1", fmt.Sprintf("MQTT_PORT=%d", port),
		"MOSQUITTO_CTRL="+mosquittoCtrl,
	)
	script := filepath.Join(root, "deploy/mosquitto/init-dynsec.sh")
	initDynsec := func(step string) error {
		cmd := exec.Command("bash", script, step)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("init-dynsec.sh %s: %w\n%s", step, err, out)
		}
		return nil
	}
	if err := initDynsec("file"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	conf := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(benchMosquittoConf(shipped, port, dynsecFile, dir, overrides)), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(mosquittoBin, "-c", conf)
	cmd.Stdout, cmd.Stderr = b.log, b.log
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s (apt-get install mosquitto mosquitto-clients): %w", mosquittoBin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	b.stop = func() {
		_ = cmd.Process.Kill()
		<-exited
		os.RemoveAll(dir)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			exited <- err
			b.stop()
			return nil, fmt.Errorf("mosquitto exited at start (%v):\n%s", err, b.log.String())
		default:
		}
		if time.Now().After(deadline) {
			b.stop()
			return nil, fmt.Errorf("mosquitto not listening after 15s:\n%s", b.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := initDynsec("accounts"); err != nil {
		b.stop()
		return nil, err
	}
	return b, nil
}

// Close stops the broker and removes its files.
func (b *mosquitto) Close() { b.stop() }

// benchMosquittoConf is the shipped configuration with the listener on port,
// the files under dir, quiet logs, and the overrides applied.
func benchMosquittoConf(shipped []byte, port int, dynsecFile, dir string, overrides map[string]string) string {
	var out strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(shipped))
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) > 0 {
			if v, ok := overrides[f[0]]; ok {
				line = f[0] + " " + v
			}
			switch f[0] {
			case "listener":
				line = fmt.Sprintf("listener %d 127.0.0.1", port)
			case "plugin_opt_config_file":
				line = "plugin_opt_config_file " + dynsecFile
			case "persistence_location":
				line = "persistence_location " + dir + "/"
			case "connection_messages":
				line = "connection_messages false"
			case "log_type":
				if len(f) > 1 && (f[1] == "information" || f[1] == "notice") {
					continue
				}
			}
		}
		out.WriteString(line + "\n")
	}
	if os.Geteuid() == 0 {
		out.WriteString("user root\n") // write the dynsec file in our temp dir
	}
	return out.String()
}

// repoRoot is the module's root (where go.mod is), searched from the
// working directory upwards: the bench reads deploy/mosquitto from it.
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
			return "", errors.New("deploy/mosquitto/mosquitto.conf not found above the working directory: run pulse-bench from the repository")
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

func randomHex() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// lockedBuffer collects the broker's output from its output goroutines.
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
