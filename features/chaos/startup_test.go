//go:build chaos

package chaos_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMisconfiguredRolesRefuseToStart: pulse-api and pulse-worker with
// PULSE_DATABASE_URL but no PULSE_REDIS_URL (distributed storage with the
// embedded, per-process queue: accepted samples would stay on one host)
// exit non-zero within a few seconds, with one line naming PULSE_REDIS_URL.
func TestMisconfiguredRolesRefuseToStart(t *testing.T) {
	h := newHarness(t)
	db := startMariaDB(h) // reachable, so only the missing setting can stop them
	env := baseEnv(h, db, nil)
	h.runCLI(env, "migrate")
	const bound = 5 * time.Second
	for _, role := range []struct{ name, bin string }{{"pulse-api", bins.api}, {"pulse-worker", bins.worker}} {
		t.Run(role.name, func(t *testing.T) {
			p := h.startRole(role.name, role.bin, env)
			began := time.Now()
			select {
			case <-p.done:
			case <-time.After(bound):
			}
			out := strings.TrimSpace(p.output())
			var lines []string
			for _, l := range strings.Split(out, "\n") {
				if strings.TrimSpace(l) != "" {
					lines = append(lines, l)
				}
			}
			state := "still running"
			if p.exited() {
				state = fmt.Sprintf("exited %d after %.2fs", p.exitCode(), time.Since(began).Seconds())
			} else {
				state += fmt.Sprintf(" after %s (/healthz %d, /readyz %d)", bound, p.probe("/healthz"), p.probe("/readyz"))
			}
			first := ""
			if len(lines) > 0 {
				first = lines[0]
			}
			t.Logf("FIGURES %s with PULSE_DATABASE_URL and no PULSE_REDIS_URL: %s; %d line(s) printed; first: %q", role.name, state, len(lines), first)
			switch {
			case !p.exited():
				t.Errorf("%s started without PULSE_REDIS_URL: want it to refuse within %s", role.name, bound)
			case p.exitCode() == 0:
				t.Errorf("%s exited 0: want a non-zero exit", role.name)
			}
			if len(lines) != 1 || !strings.Contains(lines[0], "PULSE_REDIS_URL") {
				t.Errorf("%s printed %d line(s), want one naming PULSE_REDIS_URL:\n%s", role.name, len(lines), out)
			}
		})
	}
}

// TestRoleStartsBeforeDatabase: pulse-api and pulse-worker started while
// MariaDB is down keep running and retry: /healthz 200, /readyz 503
// meanwhile; once MariaDB is up, /readyz answers 200 within 30 s and a
// posted request is accepted and stored.
func TestRoleStartsBeforeDatabase(t *testing.T) {
	d := newDeployment(t, false) // migrated, tenant and token created
	d.db.shutdown()
	d.api = d.h.startRole("pulse-api", bins.api, d.env)
	d.worker = d.h.startRole("pulse-worker", bins.worker, d.env)
	const downFor = 8 * time.Second
	began := time.Now()
	seen := map[string]map[int]int{} // role → status of /healthz|/readyz → times
	for time.Since(began) < downFor {
		for _, r := range []*pulseRole{d.api, d.worker} {
			for _, path := range []string{"/healthz", "/readyz"} {
				k := r.name + " " + path
				if seen[k] == nil {
					seen[k] = map[int]int{}
				}
				seen[k][r.probe(path)]++
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, r := range []*pulseRole{d.api, d.worker} {
		state := "running"
		if r.exited() {
			state = fmt.Sprintf("exited %d", r.exitCode())
		}
		t.Logf("FIGURES %s with MariaDB down for %s: %s; /healthz answers %v, /readyz answers %v (status: count, 0 = no answer)",
			r.name, downFor, state, seen[r.name+" /healthz"], seen[r.name+" /readyz"])
		if r.exited() {
			t.Errorf("%s exited while MariaDB was down (%v); it printed:\n  %s", r.name, r.err,
				strings.Join(r.firstLines(5, "error", "fatal", "fail", "pulse"), "\n  "))
			continue
		}
		if st := r.probe("/healthz"); st != http.StatusOK {
			t.Errorf("%s: /healthz answered %d while MariaDB was down, want 200", r.name, st)
		}
		if st := r.probe("/readyz"); st != http.StatusServiceUnavailable {
			t.Errorf("%s: /readyz answered %d while MariaDB was down, want 503", r.name, st)
		}
	}
	if t.Failed() {
		return // the roles are not there to be ready
	}

	up := d.db.start()
	back := time.Now()
	t.Logf("MariaDB started, answering after %.2fs", up.Seconds())
	for _, r := range []*pulseRole{d.api, d.worker} {
		d.h.waitStatus(r, "/readyz", http.StatusOK, 30*time.Second)
		t.Logf("FIGURES %s: /readyz 200 %.1fs after MariaDB answered", r.name, time.Since(back).Seconds())
	}
	w := newWorkload()
	req, _ := http.NewRequest(http.MethodPost, d.ingestURL(), bytes.NewReader(w.body(0)))
	req.Header.Set("X-API-Token", d.token)
	resp, err := (&http.Client{Timeout: clientTimeout}).Do(req)
	if err != nil {
		t.Fatalf("POST after MariaDB came back: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST after MariaDB came back answered %d %s, want 202", resp.StatusCode, b)
	}
	o := []outcome{{req: 0, status: http.StatusAccepted}}
	drained, n, err := d.drain(perRequest, time.Now(), 30*time.Second)
	if err != nil {
		t.Fatalf("drain: %v", err)
	}
	c, err := d.verify(w, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("FIGURES TestRoleStartsBeforeDatabase: %s stored %.1fs after the 202 (count %d), %.1fs after MariaDB answered",
		c, drained.Seconds(), n, time.Since(back).Seconds())
	if c.lost > 0 || c.doubled > 0 || c.foreign > 0 {
		t.Errorf("stored rows differ from the accepted samples: %s", c)
	}
}
