//go:build chaos

package chaos_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The load of every fault test: 6 clients × 10 requests/s × 100 samples =
// 6,000 samples/s, small beside the 2-core machine's capacity, so the
// figures show the fault and not an overloaded machine.
const (
	loadClients = 6
	loadRate    = 10.0 // requests per second per client
)

// run is one fault test's timeline and what the clients saw.
type run struct {
	t        *testing.T
	d        *deployment
	w        workload
	began    time.Time
	faultAt  time.Time // the fault was injected
	backAt   time.Time // the dependency answered again
	stopAt   time.Time // the load stopped
	outcomes []outcome
}

// underLoad posts the load for before, injects the fault, waits outage,
// restores (restore returns once the dependency answers again), posts for
// after, stops the load and waits for the requests in flight.
func underLoad(t *testing.T, d *deployment, before, outage, after time.Duration, fault, restore func()) *run {
	r := &run{t: t, d: d, w: newWorkload()}
	l := startLoad(d.ingestURL(), d.token, r.w, loadClients, loadRate)
	r.began = l.began
	time.Sleep(before)
	r.faultAt = time.Now()
	fault()
	time.Sleep(outage)
	restore()
	r.backAt = time.Now()
	time.Sleep(after)
	r.stopAt = time.Now()
	r.outcomes = l.finish()
	t.Logf("timeline: fault at +%.1fs, dependency back at +%.1fs (%.1fs later), load stopped at +%.1fs, last answer at +%.1fs",
		r.faultAt.Sub(r.began).Seconds(), r.backAt.Sub(r.began).Seconds(), r.backAt.Sub(r.faultAt).Seconds(),
		r.stopAt.Sub(r.began).Seconds(), time.Since(r.began).Seconds())
	return r
}

func (r *run) phases() []phase {
	return []phase{
		{"before the fault", r.began, r.faultAt},
		{"during the fault", r.faultAt, r.backAt},
		{"after the fault", r.backAt, r.stopAt.Add(time.Hour)},
	}
}

// report prints the figures of the clients, by phase and in all.
func (r *run) report(deadline time.Duration) loadFigures {
	for _, p := range r.phases() {
		r.t.Logf("  %-17s %s", p.name+":", summarise(inPhase(r.outcomes, p), deadline))
	}
	all := summarise(r.outcomes, deadline)
	r.t.Logf("  %-17s %s", "all:", all)
	return all
}

// checkAnswers fails the test for every forbidden answer, listing the first ones.
func (r *run) checkAnswers(f loadFigures, deadline time.Duration) {
	if n := f.failures(); n > 0 {
		r.t.Errorf("%d of %d requests got an answer other than 202 or 503 + Retry-After (or none); the first:\n  %s",
			n, f.requests, strings.Join(describeErrors(r.outcomes, r.began, 1<<62, 5), "\n  "))
	}
	if deadline > 0 && f.overDeadline > 0 {
		r.t.Errorf("%d of %d requests waited longer than the deadline %s (max %s); the first:\n  %s",
			f.overDeadline, f.requests, deadline, f.max.Round(time.Millisecond),
			strings.Join(describeErrors(r.outcomes, r.began, deadline, 5), "\n  "))
	}
	if len(inPhase(r.outcomes, r.phases()[1])) == 0 {
		r.t.Errorf("no request was sent during the fault: the test proves nothing")
	}
}

// logErrors prints the first error lines of the roles' logs (what the
// clients' failures were, seen from inside).
func (r *run) logErrors() {
	for _, p := range []*pulseRole{r.d.api, r.d.worker} {
		lines := p.firstLines(4, "level=error", "level=warn", "panic", p.name+":")
		if len(lines) == 0 {
			r.t.Logf("%s logged no error", p.name)
			continue
		}
		r.t.Logf("%s's first errors:\n  %s", p.name, strings.Join(lines, "\n  "))
	}
}

// checkRunning fails the test when a role died during the run.
func (r *run) checkRunning() {
	for _, p := range []*pulseRole{r.d.api, r.d.worker} {
		if p.exited() {
			r.t.Errorf("%s exited during the run (%v); its first errors:\n  %s", p.name, p.err,
				strings.Join(p.firstLines(5, "error", "fatal", "panic", "fail"), "\n  "))
		}
	}
}

// checkStored drains, verifies every row and prints the figures. The drain
// is measured from drainFrom and must end within drainBound.
func (r *run) checkStored(name string, f loadFigures, drainFromName string, drainFrom time.Time, drainBound time.Duration) {
	recovered := firstAcceptedAfter(r.outcomes, r.backAt)
	var accepted int64
	for _, o := range r.outcomes {
		if o.status == http.StatusAccepted {
			accepted += perRequest
		}
	}
	backlog := int64(-1)
	if n, err := r.d.db.countSamples(); err == nil {
		backlog = accepted - n
	}
	// Wait half as long again as the bound, so a late drain is measured, not cut.
	drained, count, derr := r.d.drain(accepted, drainFrom, drainBound*3/2)
	afterStop := drained - r.stopAt.Sub(drainFrom)
	c, verr := r.d.verify(r.w, r.outcomes)
	recoverS := "never"
	if recovered >= 0 {
		recoverS = fmt.Sprintf("%.1f", recovered.Seconds())
	}
	r.t.Logf("FIGURES %s: %s 503s=%d max-latency=%s p50=%s p99=%s recover-s=%s drain-s=%.1f (from %s; %.1fs after the load stopped, when %d samples were still queued; final count %d)",
		name, c, f.unavailable, f.max.Round(time.Millisecond), f.p50.Round(time.Millisecond), f.p99.Round(time.Millisecond),
		recoverS, drained.Seconds(), drainFromName, afterStop.Seconds(), backlog, count)
	if derr != nil {
		r.t.Errorf("drain: %v", derr)
	} else if drained > drainBound {
		r.t.Errorf("drained %.1fs after the start of the drain, more than %s", drained.Seconds(), drainBound)
	}
	if verr != nil {
		r.t.Fatalf("verify: %v", verr)
	}
	if c.accepted == 0 {
		r.t.Errorf("no sample was accepted at all")
	}
	if c.lost > 0 || c.doubled > 0 || c.foreign > 0 {
		r.t.Errorf("stored rows differ from the accepted samples: %d lost, %d doubled, %d foreign", c.lost, c.doubled, c.foreign)
	}
	if recovered < 0 {
		r.t.Errorf("no request sent after the dependency came back was answered 202: ingest did not recover within %.1fs",
			r.stopAt.Sub(r.backAt).Seconds())
	}
}

// TestRedisKilledUnderLoad: kill -9 of Redis (AOF, fsync always) under load,
// restarted on the same port and dir 8 s later. Every 202-accepted sample
// is stored exactly once; clients saw only 202 or 503 + Retry-After.
func TestRedisKilledUnderLoad(t *testing.T) {
	d := newDeployment(t, true)
	var replay time.Duration
	r := underLoad(t, d, 10*time.Second, 8*time.Second, 10*time.Second,
		func() { d.redis.kill9() },
		func() { replay = d.redis.start() })
	t.Logf("Redis answered PING %.2fs after its restart (AOF replayed)", replay.Seconds())
	f := r.report(0)
	r.checkAnswers(f, 0)
	r.checkRunning()
	r.logErrors()
	r.checkStored("TestRedisKilledUnderLoad", f, "the load's stop", r.stopAt, 60*time.Second)
}

// TestMariaDBKilledUnderLoad: SIGKILL of MariaDB under load, restarted on the
// same datadir 30 s later. Ingest keeps answering 202 (into Redis) or 503 +
// Retry-After, never anything else; every 202-accepted sample is stored
// exactly once, the backlog drained within 60 s of MariaDB's return.
func TestMariaDBKilledUnderLoad(t *testing.T) {
	d := newDeployment(t, true)
	var recovery time.Duration
	r := underLoad(t, d, 10*time.Second, 30*time.Second, 5*time.Second,
		func() { d.db.kill9() },
		func() { recovery = d.db.start() })
	t.Logf("MariaDB answered %.2fs after its restart (crash recovery)", recovery.Seconds())
	f := r.report(0)
	r.checkAnswers(f, 0)
	r.checkRunning()
	r.logErrors()
	r.checkStored("TestMariaDBKilledUnderLoad", f, "MariaDB's return", r.backAt, 60*time.Second)
}

// TestMariaDBStalled: SIGSTOP of MariaDB for 30 s under load (connections
// stay open, nothing answers), then SIGCONT. No request waits longer than
// its deadline (PULSE_REQUEST_TIMEOUT + margin); answers are 202 or 503 +
// Retry-After; afterwards every 202-accepted sample is stored exactly once.
func TestMariaDBStalled(t *testing.T) {
	d := newDeployment(t, true)
	// The harness sends SIGCONT before SIGKILL at the end, even on failure.
	r := underLoad(t, d, 10*time.Second, 30*time.Second, 10*time.Second,
		func() { d.db.stop() },
		func() { d.db.cont() })
	deadline := requestTimeout + deadlineMargin
	f := r.report(deadline)
	r.t.Logf("latency: p50=%s p99=%s max=%s; %d of %d requests over the %s deadline",
		f.p50.Round(time.Millisecond), f.p99.Round(time.Millisecond), f.max.Round(time.Millisecond), f.overDeadline, f.requests, deadline)
	r.checkAnswers(f, deadline)
	r.checkRunning()
	r.logErrors()
	r.checkStored("TestMariaDBStalled", f, "SIGCONT", r.backAt, 60*time.Second)
}
