package features_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/pulsemetrics/pulse/adapter/agent/spool"
)

// ---- test certificates ----

// testPKI is a throw-away CA, a broker certificate for 127.0.0.1 and
// localhost, and a client certificate, as PEM files in dir.
type testPKI struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
	// OtherCA is a CA that signed nothing here: trusting it instead of CA
	// must fail the handshake.
	OtherCA string
}

func newTestPKI(t testing.TB) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, caCert, caPEM := makeCA(t, "pulse test CA")
	_, _, otherPEM := makeCA(t, "some other CA")
	p := testPKI{
		CA: filepath.Join(dir, "ca.pem"), OtherCA: filepath.Join(dir, "other-ca.pem"),
		ServerCert: filepath.Join(dir, "server.pem"), ServerKey: filepath.Join(dir, "server.key"),
		ClientCert: filepath.Join(dir, "client.pem"), ClientKey: filepath.Join(dir, "client.key"),
	}
	writeFile(t, p.CA, caPEM)
	writeFile(t, p.OtherCA, otherPEM)
	leaf(t, caKey, caCert, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, p.ServerCert, p.ServerKey)
	leaf(t, caKey, caCert, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "pulse-agent-test"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, p.ClientCert, p.ClientKey)
	return p
}

func serial(t testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func makeCA(t testing.TB, name string) (*ecdsa.PrivateKey, *x509.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func leaf(t testing.TB, caKey *ecdsa.PrivateKey, ca *x509.Certificate, tmpl *x509.Certificate, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = serial(t)
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	// 0644: Mosquitto may read them as another user.
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ---- the agent binary ----

// buildAgent builds cmd/agent as the Makefile does (static, no cgo).
func buildAgent(t testing.TB) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "pulse-agent")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./cmd/agent")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/agent: %v\n%s", err, msg)
	}
	return out
}

// agentProc is a running pulse-agent.
type agentProc struct {
	cmd  *exec.Cmd
	log  *syncLog
	done chan struct{}
	once sync.Once
}

// syncLog collects a process's output.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startAgent runs the agent binary with args and no PULSE_* environment
// but env.
func startAgent(bin string, env map[string]string, args ...string) (*agentProc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = processEnv(env)
	p := &agentProc{cmd: cmd, log: &syncLog{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// kill is kill -9.
func (p *agentProc) kill() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
}

func (p *agentProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *agentProc) tail() string {
	s := p.log.String()
	if len(s) > 4000 {
		s = s[len(s)-4000:]
	}
	return "--- pulse-agent log ---\n" + s
}

// agentArgs are the flags of an agent publishing to broker for tenant.
func agentArgs(broker string, ten *tenantRef, agentID, spoolDir string, interval time.Duration, extra ...string) []string {
	return append([]string{
		"--broker", broker, "--tenant", ten.slug, "--token", ten.token,
		"--agent-id", agentID, "--spool-dir", spoolDir, "--interval", interval.String(),
		"--log-level", "debug",
	}, extra...)
}

// ---- a relay the tests can cut ----

// relay forwards TCP connections from its own port to target; down closes
// the port and every connection through it (the broker "goes away" for the
// agent), up opens the same port again.
type relay struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func newRelay(target string) (*relay, error) {
	r := &relay{target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	return r, nil
}

func (r *relay) serve(ln net.Listener) {
	r.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", r.target)
			if err != nil {
				c.Close()
				continue
			}
			r.mu.Lock()
			r.conns[c], r.conns[u] = true, true
			r.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close(); c.Close() }()
			go func() { _, _ = io.Copy(c, u); u.Close(); c.Close() }()
		}
	}()
}

// down refuses new connections and cuts the open ones.
func (r *relay) down() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ln != nil {
		r.ln.Close()
		r.ln = nil
	}
	for c := range r.conns {
		c.Close()
	}
	r.conns = map[net.Conn]bool{}
}

// up listens on the same port again.
func (r *relay) up() error {
	var ln net.Listener
	var err error
	for range 50 { // the port may linger for a moment
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.serve(ln)
	return nil
}

// ---- what reaches the broker ----

// arrivals records, in arrival order, the batch time (the ts of the first
// sample, Unix ms) of each message published on the agent's topic.
type arrivals struct {
	mu  sync.Mutex
	ts  []int64
	bad []string
	c   paho.Client
}

// watchAgent subscribes (QoS 1) to the agent's topic directly on the
// broker, as the tenant (a tenant may read its own topics).
func watchAgent(brokerURL string, ten *tenantRef, agentID string) (*arrivals, error) {
	a := &arrivals{}
	c, err := dialPaho(brokerURL, uniqueClientID("agent-watch"), "pulse_"+ten.tokenID, ten.token, nil)
	if err != nil {
		return nil, err
	}
	topic := "metrics/" + ten.slug + "/system/" + agentID
	tok := c.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) {
		var batch []struct {
			Name string `json:"name"`
			TS   int64  `json:"ts"`
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		if err := json.Unmarshal(m.Payload(), &batch); err != nil || len(batch) == 0 {
			a.bad = append(a.bad, string(m.Payload()))
			return
		}
		a.ts = append(a.ts, batch[0].TS)
	})
	if !tok.WaitTimeout(mqttWait) || tok.Error() != nil {
		c.Disconnect(0)
		return nil, fmt.Errorf("subscribe %s: %v", topic, tok.Error())
	}
	a.c = c
	return a, nil
}

func (a *arrivals) close() { a.c.Disconnect(50) }

func (a *arrivals) snapshot() []int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]int64(nil), a.ts...)
}

// waitCount waits until at least n batches arrived.
func (a *arrivals) waitCount(n int, bound time.Duration) error {
	deadline := time.Now().Add(bound)
	for len(a.snapshot()) < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d batches arrived within %s, want %d", len(a.snapshot()), bound, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// checkOnceInOrder: every batch arrived once and in the order it was
// collected (batch times strictly increase).
func (a *arrivals) checkOnceInOrder() error {
	ts := a.snapshot()
	a.mu.Lock()
	bad := a.bad
	a.mu.Unlock()
	if len(bad) > 0 {
		return fmt.Errorf("%d payloads were not a JSON array of samples: %.200s", len(bad), bad[0])
	}
	for i := 1; i < len(ts); i++ {
		if ts[i] <= ts[i-1] {
			return fmt.Errorf("batch %d (ts %d) arrived after batch %d (ts %d): duplicate or out of order\nall: %v", i, ts[i], i-1, ts[i-1], ts)
		}
	}
	return nil
}

// spooledTimes are the batch times in the spool directory, oldest first.
func spooledTimes(dir string) ([]int64, error) {
	es, err := spool.List(dir)
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.At.UnixMilli()
	}
	return out, nil
}

// spoolCount counts the batch files in dir without opening the spool
// (the agent owns it while it runs).
func spoolCount(dir string) int {
	m, _ := filepath.Glob(filepath.Join(dir, "*.batch"))
	return len(m)
}

// waitUntil polls cond until it holds or bound passes.
func waitUntil(ctx context.Context, bound time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(bound)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %s", what, bound)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// pointTimes are the timestamps (Unix ms) the query API holds for metric
// with the tag filter, sorted.
func (s *scenario) pointTimes(ctx context.Context, tenantName, metric, filter string) ([]int64, error) {
	q, err := s.query(ctx, tenantName, metric, filter+"&interval=raw")
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, sr := range q.Series {
		for _, p := range sr.Points {
			out = append(out, p.TS)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// agentNames are metrics every agent batch (all collectors) carries.
var agentNames = []string{
	"system.cpu.utilization", "system.memory.usage", "system.memory.utilization", "system.paging.usage",
	"system.filesystem.usage", "system.disk.io", "system.network.io", "system.cpu.load_average.1m",
	"system.cpu.load_average.15m", "system.uptime", "pulse.agent.spool.dropped",
}

// waitAgentMetrics waits until every name has a point tagged with the
// agent's id and host for tenant, and returns the names still missing.
func (s *scenario) waitAgentMetrics(ctx context.Context, tenantName, agentID string, names []string, bound time.Duration) error {
	var missing []string
	err := waitUntil(ctx, bound, "agent metrics queryable", func() (bool, error) {
		missing = missing[:0]
		for _, n := range names {
			q, err := s.query(ctx, tenantName, n, "tag.agent_id="+agentID)
			if err != nil {
				return false, err
			}
			if q.points() == 0 {
				missing = append(missing, n)
				continue
			}
			for _, sr := range q.Series {
				if sr.Tags["host"] == "" {
					return false, fmt.Errorf("%s series %v has no host tag", n, sr.Tags)
				}
			}
		}
		return len(missing) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("%w; no points yet for %s", err, strings.Join(missing, ", "))
	}
	return nil
}

var errAgentExited = errors.New("pulse-agent exited")

// storedCovers compares the stored timestamps with the batch times that
// arrived (taken just before): every arrived batch is stored, once, under
// its own time; anything else stored is a batch that arrived since (newer
// than the last one taken). done is false while some are not stored yet.
func storedCovers(stored, arrived []int64) (done bool, err error) {
	if len(arrived) == 0 {
		return false, errors.New("no batch arrived")
	}
	last := arrived[len(arrived)-1]
	var upTo []int64
	for _, ts := range stored {
		if ts <= last {
			upTo = append(upTo, ts)
		}
	}
	if len(upTo) < len(arrived) {
		return false, nil
	}
	if !slices.Equal(upTo, arrived) {
		return false, fmt.Errorf("stored timestamps %v\nwant the batch times %v", upTo, arrived)
	}
	return true, nil
}

// checkStoredBatches waits until every arrived batch is stored under its
// own time in system.uptime of the agent.
func (s *scenario) checkStoredBatches(ctx context.Context, agentID string, arrived []int64) error {
	var stored []int64
	err := waitUntil(ctx, 15*time.Second, "every arrived batch stored", func() (bool, error) {
		var err error
		if stored, err = s.pointTimes(ctx, "", "system.uptime", "tag.agent_id="+agentID); err != nil {
			return false, err
		}
		return storedCovers(stored, arrived)
	})
	if err != nil {
		return fmt.Errorf("%w (%d points stored, %d batches arrived)", err, len(stored), len(arrived))
	}
	return nil
}
