package features_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// freeAddr returns a 127.0.0.1 address with a port nobody listens on now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// binaries builds pulse, pulse-api and pulse-worker into a temp dir.
type binaries struct{ pulse, api, worker string }

func buildBinaries(t *testing.T) binaries {
	t.Helper()
	dir := t.TempDir()
	b := binaries{pulse: filepath.Join(dir, "pulse"), api: filepath.Join(dir, "pulse-api"), worker: filepath.Join(dir, "pulse-worker")}
	for out, pkg := range map[string]string{b.pulse: "./cmd/pulse", b.api: "./cmd/api", b.worker: "./cmd/worker"} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = ".." // the module root
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, msg)
		}
	}
	return b
}

// testSecretKey is the processes' PULSE_SECRET_KEY (the distributed roles
// refuse to start without one) unless a test sets its own.
const testSecretKey = "ZmVhdHVyZS10ZXN0cy1zZWNyZXQta2V5LTMyYnl0ZXM="

// processEnv is the test process's environment without any PULSE_*
// setting, plus PULSE_SECRET_KEY and env.
func processEnv(env map[string]string) []string {
	out := []string{"PULSE_SECRET_KEY=" + testSecretKey}
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

func withEnv(base map[string]string, extra ...string) map[string]string {
	out := make(map[string]string, len(base)+len(extra)/2)
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		out[extra[i]] = extra[i+1]
	}
	return out
}

// runCLI runs the pulse admin CLI to completion and returns its stdout.
func runCLI(t *testing.T, bin string, env map[string]string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = processEnv(env)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pulse %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// process is a started binary; t.Cleanup kills it if the test did not.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	once sync.Once
}

func startProcess(t *testing.T, name, bin string, env map[string]string, args ...string) *process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("create %s: %v", logPath, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = processEnv(env)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); _ = f.Close(); close(p.done) }()
	t.Cleanup(p.kill)
	return p
}

// kill is kill -9, then waits for the process to be gone.
func (p *process) kill() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
		}
	})
}

// exited reports whether the process ended by itself.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// tail is the end of the process's log, for failure messages.
func (p *process) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return fmt.Sprintf("--- %s log (%s) ---\n%s", p.name, p.log, b)
}

// waitProcessHealthy polls /healthz of a started process, failing fast if it exits.
func waitProcessHealthy(t *testing.T, p *process, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if p.exited() {
			t.Fatalf("%s exited before it became healthy\n%s", p.name, p.tail())
		}
		resp, err := httpClient.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: GET http://%s/healthz not 200 within 30s\n%s", p.name, addr, p.tail())
}

// crashLoad is the crash tests' workload: requests × perRequest samples,
// every (series, ts) distinct. Request i, sample j: series host-(j%100),
// ts = base - (i*perRequest + j)/100 seconds.
type crashLoad struct {
	requests, perRequest int
	base                 time.Time
}

func (l crashLoad) total() int64 { return int64(l.requests * l.perRequest) }

func (l crashLoad) body(i int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for j := 0; j < l.perRequest; j++ {
		if j > 0 {
			b.WriteByte(',')
		}
		k := i*l.perRequest + j
		fmt.Fprintf(&b, `{"name":"crash.load","value":%d,"tags":{"host":"host-%03d"},"ts":%d}`,
			k, j%100, l.base.Unix()-int64(k/100))
	}
	b.WriteByte(']')
	return b.Bytes()
}

// postAll posts the requests listed in which with a few clients and
// returns which ones were answered 202, and the first failure if any (it
// goes on after a failure: the caller decides what a failure means).
func postAll(ctx context.Context, url, tok string, l crashLoad, which []int, clients int) (accepted []bool, firstErr error) {
	accepted = make([]bool, l.requests)
	var (
		next int64 = -1
		mu   sync.Mutex
		wg   sync.WaitGroup
	)
	client := &http.Client{Timeout: time.Minute}
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(atomic.AddInt64(&next, 1))
				if k >= len(which) || ctx.Err() != nil {
					return
				}
				i := which[k]
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(l.body(i)))
				req.Header.Set("X-API-Token", tok)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusAccepted {
						err = fmt.Errorf("request %d answered %d: %s", i, resp.StatusCode, truncate(b))
					}
				}
				mu.Lock()
				if err == nil {
					accepted[i] = true
				} else if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return accepted, firstErr
}

func allRequests(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
