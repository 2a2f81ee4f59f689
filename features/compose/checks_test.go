//go:build compose

package compose

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The long-running services and how many containers each has.
var wantRunning = map[string]int{
	"mariadb": 1, "redis": 1, "mosquitto": 1, "mailpit": 1, "app": 1, "worker": 2,
	"scheduler": 1, "ingestor": 1, "nginx": 1, "go-agent": 1,
}

func (s *stack) checkHealthy(t *testing.T) {
	out := s.docker("ps", "-aq", "--filter", "label=com.docker.compose.project="+s.project)
	running := map[string]int{}
	for _, id := range strings.Fields(out) {
		line := s.docker("inspect", "-f", `{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}`, id)
		f := strings.Fields(line)
		service, state, code, health := f[0], f[1], f[2], f[3]
		switch service {
		case "migrate", "bootstrap":
			if state != "exited" || code != "0" {
				t.Errorf("one-shot %s: state %s, exit %s; want exited 0", service, state, code)
			}
		default:
			if state != "running" || health != "healthy" {
				t.Errorf("%s: %s, health %s; want running and healthy", service, state, health)
			}
			running[service]++
		}
	}
	for service, n := range wantRunning {
		if running[service] != n {
			t.Errorf("%s: %d containers running, want %d", service, running[service], n)
		}
	}
	t.Logf("running: %v", running)
}

// demoToken is the read+ingest token the bootstrap one-shot made (in its volume,
// which the agent mounts read-only).
func (s *stack) demoToken(t *testing.T) string {
	tok := strings.TrimSpace(s.compose("exec", "-T", "go-agent", "cat", "/var/lib/pulse/bootstrap/demo.token"))
	if !strings.HasPrefix(tok, "pulse_") {
		t.Fatalf("demo token: got %q", tok)
	}
	return tok
}

type sample struct {
	Name  string            `json:"name"`
	Value float64           `json:"value"`
	Tags  map[string]string `json:"tags,omitempty"`
	TS    *int64            `json:"ts,omitempty"`
}

// post sends one batch through nginx; it returns the status.
func (s *stack) post(token string, batch []sample) (int, error) {
	body, _ := json.Marshal(batch)
	req, _ := http.NewRequest(http.MethodPost, s.http+"/api/metrics", bytes.NewReader(body))
	req.Header.Set("X-API-Token", token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	return res.StatusCode, nil
}

// stored reads a metric's raw points over [from, to] through nginx: their count and sum.
func (s *stack) stored(t *testing.T, token, name string, from, to int64) (int, float64) {
	q := url.Values{"name": {name}, "interval": {"raw"}, "start": {strconv.FormatInt(from, 10)}, "end": {strconv.FormatInt(to, 10)}}
	req, _ := http.NewRequest(http.MethodGet, s.http+"/api/metrics/query?"+q.Encode(), nil)
	req.Header.Set("X-API-Token", token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("query through nginx: %v", err)
	}
	defer res.Body.Close()
	var body struct {
		Series []struct {
			Points []struct {
				Value float64 `json:"value"`
			} `json:"points"`
		} `json:"series"`
	}
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("query through nginx: %d %s", res.StatusCode, b)
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("query body: %v", err)
	}
	n, sum := 0, 0.0
	for _, se := range body.Series {
		for _, p := range se.Points {
			n++
			sum += p.Value
		}
	}
	return n, sum
}

// checkRoundTrip posts the shapes that lost data before: samples 10 ms apart,
// out of order, each sent twice, and samples without ts; then reads them back.
func (s *stack) checkRoundTrip(t *testing.T) {
	token := s.demoToken(t)
	name := "compose.roundtrip"
	now := time.Now().UnixMilli()
	base := now - 60_000
	var batch []sample
	wantSum := 0.0
	for i := range 200 {
		ts := base + int64(i)*10
		v := float64(i) + 0.25
		batch = append(batch, sample{Name: name, Value: v, Tags: map[string]string{"shape": "dense"}, TS: &ts})
		wantSum += v
	}
	rand.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
	for range 2 { // the repeat must not double anything
		if code, err := s.post(token, batch); err != nil || code != http.StatusAccepted {
			t.Fatalf("POST dense batch through nginx: %d %v", code, err)
		}
	}
	const untimed = 20
	for i := range untimed {
		v := 1000.0 + float64(i)
		if code, err := s.post(token, []sample{{Name: name, Value: v, Tags: map[string]string{"shape": "no-ts"}}}); err != nil || code != http.StatusAccepted {
			t.Fatalf("POST sample without ts: %d %v", code, err)
		}
		wantSum += v
	}
	want := len(batch) + untimed
	s.waitStored(t, token, name, base-1, time.Now().UnixMilli()+60_000, want, wantSum)
}

func (s *stack) waitStored(t *testing.T, token, name string, from, to int64, want int, wantSum float64) {
	deadline := time.Now().Add(60 * time.Second)
	var n int
	var sum float64
	for time.Now().Before(deadline) {
		n, sum = s.stored(t, token, name, from, to)
		if n == want && (wantSum < 0 || sum == wantSum) {
			t.Logf("%s: %d points, sum %.2f, read back through nginx", name, n, sum)
			return
		}
		if n > want {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s: stored %d points (sum %.2f), want %d (sum %.2f)", name, n, sum, want, wantSum)
}

// checkWorkerKill posts batches from four clients for 10 s while one worker
// container is killed (SIGKILL) and started again; afterwards MariaDB holds
// exactly the samples that were answered 202.
func (s *stack) checkWorkerKill(t *testing.T) {
	token := s.demoToken(t)
	name := "compose.killload"
	workers := strings.Fields(s.docker("ps", "-q", "--filter", "label=com.docker.compose.project="+s.project,
		"--filter", "label=com.docker.compose.service=worker"))
	if len(workers) != 2 {
		t.Fatalf("want 2 worker containers, got %v", workers)
	}
	var next, accepted atomic.Int64
	var mu sync.Mutex
	refused := map[string]int{} // samples refused, by status (or error), for the log
	base := time.Now().Add(-time.Hour).UnixMilli()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				batch := make([]sample, 500)
				for i := range batch {
					ts := base + next.Add(1)
					batch[i] = sample{Name: name, Value: 1, Tags: map[string]string{"client": strconv.Itoa(c)}, TS: &ts}
				}
				code, err := s.post(token, batch)
				if err == nil && code == http.StatusAccepted {
					accepted.Add(int64(len(batch)))
					continue
				}
				why := strconv.Itoa(code)
				if err != nil {
					why = "error"
				}
				mu.Lock()
				refused[why] += len(batch)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(3 * time.Second)
	s.docker("kill", workers[0])
	t.Logf("killed worker %s at %d samples accepted", workers[0][:12], accepted.Load())
	time.Sleep(3 * time.Second)
	s.docker("start", workers[0])
	time.Sleep(4 * time.Second)
	close(stop)
	wg.Wait()
	t.Logf("accepted %d samples (202); refused, by status: %v", accepted.Load(), refused)
	if accepted.Load() == 0 {
		t.Fatal("no sample was accepted during the load")
	}
	query := fmt.Sprintf("SELECT COUNT(*) FROM samples s JOIN series r ON r.id = s.series_id WHERE r.name = '%s'", name)
	deadline := time.Now().Add(90 * time.Second)
	var got int64
	for time.Now().Before(deadline) {
		out := s.compose("exec", "-T", "mariadb", "sh", "-c", `mariadb -u pulse -p"$MARIADB_PASSWORD" -N pulse -e "`+query+`"`)
		got, _ = strconv.ParseInt(strings.TrimSpace(lastLine(out)), 10, 64)
		if got >= accepted.Load() {
			break
		}
		time.Sleep(time.Second)
	}
	if got != accepted.Load() {
		t.Fatalf("MariaDB holds %d samples of %s, %d were accepted", got, name, accepted.Load())
	}
	t.Logf("MariaDB holds all %d accepted samples", got)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// checkAgentInUI runs the playwright service: Debian's Chromium logs into the
// dashboard through nginx and finds the go-agent's system metric on a chart.
func (s *stack) checkAgentInUI(t *testing.T) {
	start := time.Now()
	out, err := s.run("run", "--profile", "test", "run", "--rm", "playwright")
	t.Logf("playwright service (%s):\n%s", time.Since(start).Round(time.Second), tail(out, 40))
	if err != nil {
		t.Fatalf("the Agent → UI scenario failed: %v", err)
	}
}

func freePorts(t *testing.T, n int) []int {
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}
