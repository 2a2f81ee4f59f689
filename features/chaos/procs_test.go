//go:build chaos

package chaos_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bins are the Pulse binaries, built once by TestMain.
var bins struct{ pulse, api, worker string }

// machinePorts are the machine's own services: the suite never uses them.
var machinePorts = map[int]string{3306: "MariaDB", 6379: "Redis", 1883: "Mosquitto"}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(mainRun(m))
}

func mainRun(m *testing.M) int {
	for _, tool := range []string{"redis-server", "mariadbd"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "chaos: %s not found (apt-get install -y redis-server mariadb-server): %v\n", tool, err)
			return 1
		}
	}
	if installDB() == "" {
		fmt.Fprintln(os.Stderr, "chaos: neither mariadb-install-db nor mysql_install_db found (apt-get install -y mariadb-server)")
		return 1
	}
	dir, err := os.MkdirTemp("", "pulse-chaos-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bins.pulse, bins.api, bins.worker = filepath.Join(dir, "pulse"), filepath.Join(dir, "pulse-api"), filepath.Join(dir, "pulse-worker")
	start := time.Now()
	for out, pkg := range map[string]string{bins.pulse: "./cmd/pulse", bins.api: "./cmd/api", bins.worker: "./cmd/worker"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = "../.." // the module root
		if msg, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "chaos: go build %s: %v\n%s", pkg, err, msg)
			return 1
		}
	}
	fmt.Printf("chaos: built pulse, pulse-api, pulse-worker in %.1fs\n", time.Since(start).Seconds())
	return m.Run()
}

// installDB is the datadir initialiser this Debian has.
func installDB() string {
	for _, name := range []string{"mariadb-install-db", "mysql_install_db"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// freePort is a 127.0.0.1 port nobody listens on now, never one of the
// machine's own services.
func freePort(t testing.TB) int {
	t.Helper()
	for range 10 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		if _, taken := machinePorts[port]; !taken {
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// harness owns every process a test starts: at the end (pass or fail) it
// kills each by PID, and when the test failed it prints their logs.
type harness struct {
	t   *testing.T
	dir string

	mu    sync.Mutex
	procs []*proc
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, dir: t.TempDir()}
	t.Cleanup(h.cleanup) // registered after TempDir: runs before the dir is removed
	return h
}

func (h *harness) cleanup() {
	h.mu.Lock()
	procs := append([]*proc(nil), h.procs...)
	h.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].kill()
	}
	if h.t.Failed() {
		for _, p := range procs {
			h.t.Log(p.tail(6000))
		}
	}
}

// mkdir makes a directory under the test's temp dir.
func (h *harness) mkdir(name string) string {
	d := filepath.Join(h.dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		h.t.Fatalf("mkdir %s: %v", d, err)
	}
	return d
}

// proc is one started process, stdout and stderr in its log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	once sync.Once
	err  error // Wait's result, once done is closed
}

// start starts bin with env (nil: the test's environment without PULSE_*).
func (h *harness) start(name, bin string, env map[string]string, args ...string) *proc {
	h.t.Helper()
	logPath := filepath.Join(h.dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		h.t.Fatalf("create %s: %v", logPath, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = processEnv(env)
	cmd.Stdout, cmd.Stderr = f, f
	// If the test binary dies (a timeout panic), its children die with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		h.t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); _ = f.Close(); close(p.done) }()
	h.mu.Lock()
	h.procs = append(h.procs, p)
	h.mu.Unlock()
	return p
}

// processEnv is the test's environment without any PULSE_* setting, plus env.
func processEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PULSE_") {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// signal sends sig to this process only (by PID).
func (p *proc) signal(sig syscall.Signal) error {
	if p.exited() {
		return errors.New(p.name + " has exited")
	}
	return p.cmd.Process.Signal(sig)
}

// kill is SIGCONT (a stopped process) then SIGKILL, then waits until it is gone.
func (p *proc) kill() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGCONT)
		_ = p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
		}
	})
}

// exited reports whether the process has ended (by itself or killed).
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitCode is the exit status once exited (-1 when killed by a signal).
func (p *proc) exitCode() int {
	if p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *proc) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// tail is the end of the process's log, for failure messages, without the
// access-log lines of successful requests (thousands under load).
func (p *proc) tail(n int) string {
	var kept []string
	for _, line := range strings.Split(p.output(), "\n") {
		if strings.Contains(line, `msg="http request"`) &&
			(strings.Contains(line, "status=202") || strings.Contains(line, "status=200")) {
			continue
		}
		kept = append(kept, line)
	}
	b := strings.Join(kept, "\n")
	if len(b) > n {
		b = b[len(b)-n:]
	}
	state := "running"
	if p.exited() {
		state = "exited: " + fmt.Sprint(p.err)
	}
	return fmt.Sprintf("--- %s (pid %d, %s) log %s ---\n%s", p.name, p.pid(), state, p.log, b)
}

// firstLines is the first n lines of the log matching any of the words
// (case-insensitive), for the report of how a test failed.
func (p *proc) firstLines(n int, words ...string) []string {
	var out []string
	for _, line := range strings.Split(p.output(), "\n") {
		l := strings.ToLower(line)
		for _, w := range words {
			if strings.Contains(l, w) {
				out = append(out, line)
				break
			}
		}
		if len(out) == n {
			break
		}
	}
	return out
}

// runCLI runs the pulse admin CLI to completion and returns its stdout.
func (h *harness) runCLI(env map[string]string, args ...string) string {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.pulse, args...)
	cmd.Env = processEnv(env)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		h.t.Fatalf("pulse %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// pulseRole is a started pulse-api or pulse-worker with its HTTP address.
type pulseRole struct {
	*proc
	addr string
}

func (h *harness) startRole(name, bin string, env map[string]string) *pulseRole {
	h.t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(h.t))
	e := withEnv(env, "PULSE_HTTP_ADDR", addr, "PULSE_DATA_DIR", h.mkdir(name+"-data"))
	return &pulseRole{proc: h.start(name, bin, e), addr: addr}
}

func withEnv(base map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(base)+len(kv)/2)
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

var probeClient = &http.Client{Timeout: 3 * time.Second}

// probe is GET path's status (0 when it did not answer).
func (r *pulseRole) probe(path string) int {
	resp, err := probeClient.Get("http://" + r.addr + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitStatus polls path until it answers want, failing fast if the process exits.
func (h *harness) waitStatus(r *pulseRole, path string, want int, bound time.Duration) time.Duration {
	h.t.Helper()
	start := time.Now()
	last := 0
	for time.Since(start) < bound {
		if r.exited() {
			h.t.Fatalf("%s exited (%v) while waiting for %s to answer %d\n%s", r.name, r.err, path, want, r.tail(3000))
		}
		if last = r.probe(path); last == want {
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	h.t.Fatalf("%s: GET %s answered %d, not %d, for %s\n%s", r.name, path, last, want, bound, r.tail(3000))
	return 0
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func itoa(n int) string { return strconv.Itoa(n) }
