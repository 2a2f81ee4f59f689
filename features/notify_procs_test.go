package features_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

// newNotifyRig is alertRig's deployment (pulse-api and pulse-scheduler's
// binary on one MariaDB + Redis) with the dispatcher's settings in env,
// without a worker: the test starts its own.
func newNotifyRig(t *testing.T, extra ...string) *alertRig {
	t.Helper()
	bins := buildBinaries(t)
	sched := filepath.Join(t.TempDir(), "pulse-scheduler")
	cmd := exec.Command("go", "build", "-o", sched, "./cmd/scheduler")
	cmd.Dir = ".." // the module root
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/scheduler: %v\n%s", err, msg)
	}
	dsn := testservice.MariaDB(t)
	_, prefix := testservice.Redis(t)
	env := withEnv(map[string]string{
		"PULSE_DATA_DIR":             t.TempDir(),
		"PULSE_DATABASE_URL":         mysqlURL(t, dsn),
		"PULSE_REDIS_URL":            "redis://" + testservice.RedisAddr() + "/0",
		"PULSE_QUEUE_STREAM":         prefix + "ingest",
		"PULSE_QUEUE_LEASE":          "2s",
		"PULSE_RATE_LIMIT_PREFIX":    prefix + "rl:",
		"PULSE_IDEMPOTENCY_PREFIX":   prefix + "idem:",
		"PULSE_INVALIDATION_CHANNEL": prefix + "invalidate",
		"PULSE_LIVE_STREAM":          prefix + "live",
		"PULSE_ALERT_MIN_CADENCE":    "1s",
		"PULSE_ALERT_TICK":           "50ms",
	}, extra...)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("open MariaDB: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	r := &alertRig{t: t, bins: bins, scheduler: sched, env: env, db: db}
	slug := testservice.UniqueName("notify-")
	runCLI(t, bins.pulse, env, "tenant", "create", slug)
	r.token = lastLine(runCLI(t, bins.pulse, env, "token", "create", slug, "--scopes", "ingest,read,admin"))
	if !strings.HasPrefix(r.token, "pulse_") {
		t.Fatalf("pulse token create: last line %q is not a token", r.token)
	}
	apiAddr := freeAddr(t)
	api := startProcess(t, "pulse-api", bins.api, withEnv(env, "PULSE_HTTP_ADDR", apiAddr))
	waitProcessHealthy(t, api, apiAddr)
	r.api = "http://" + apiAddr
	return r
}

// startWorker starts a pulse-worker (flush loops and the dispatcher) and
// returns it once healthy.
func (r *alertRig) startWorker(name string) *process {
	r.t.Helper()
	addr := freeAddr(r.t)
	p := startProcess(r.t, name, r.bins.worker, withEnv(r.env, "PULSE_HTTP_ADDR", addr))
	waitProcessHealthy(r.t, p, addr)
	return p
}

// holderPID is the process id in a claim's holder name (host/role/pid/nonce).
func holderPID(holder string) int {
	parts := strings.Split(holder, "/")
	if len(parts) < 4 {
		return 0
	}
	pid, _ := strconv.Atoi(parts[len(parts)-2])
	return pid
}

// TestNotificationsSurviveKillDispatcher runs the distributed roles with
// two pulse-worker processes (each runs the dispatcher: the planner under
// a lease, senders under claims) and kills one with SIGKILL while it is
// sending: 60 rules fire and resolve, and every firing and resolved
// notice reaches the webhook receiver at least once; what the killed
// worker had sent without recording it is sent again under the same
// webhook-id, so a receiver dedupes it; nothing is dead and the backlog
// drains.
func TestNotificationsSurviveKillDispatcher(t *testing.T) {
	if testing.Short() {
		t.Skip("process test: builds binaries and kills pulse-worker")
	}
	const (
		rules = 60
		// A claim lasts a minute (notification.Options.Lease): what the
		// killed worker held is sent again once it ends.
		bound = 150 * time.Second
	)
	rc := newNotifyHookReceiver(t, 200*time.Millisecond)
	r := newNotifyRig(t, "PULSE_NOTIFY_ALLOW_HOSTS", rc.addr(), "PULSE_NOTIFY_PER_MINUTE", "10000")

	var ch struct {
		ID     int64  `json:"id"`
		Secret string `json:"secret"`
	}
	body := fmt.Sprintf(`{"name":"procs hook","kind":"webhook","webhook":{"url":%q},"group_wait":"0s"}`, rc.url("/hook"))
	r.must(r.call(http.MethodPost, "/api/channels", []byte(body), http.StatusCreated, &ch))
	if !strings.HasPrefix(ch.Secret, "whsec_") {
		t.Fatalf("POST /api/channels: secret %q, want a whsec_ signing secret shown once", ch.Secret)
	}
	rc.verify("/hook", ch.Secret)

	// The rules exist before the scheduler starts (see TestAlertSchedulerTwoReplicas).
	want := make([]string, 0, 2*rules)
	for i := range rules {
		r.createRule(fmt.Sprintf(`{"name":"procs %02d","metric":"procs.load","matchers":[{"tag":"host","op":"=","value":"p-%02d"}],`+
			`"agg":"last","window":"10s","op":">","threshold":0.9,"cadence":"1s","for":"0s","no_data":"ok","channels":[%d]}`, i, i, ch.ID))
		want = append(want, fmt.Sprintf("procs %02d/firing", i), fmt.Sprintf("procs %02d/resolved", i))
	}
	var breach atomic.Bool
	breach.Store(true)
	samples := r.post(func() []byte {
		v := 0.1
		if breach.Load() {
			v = 0.97
		}
		var b bytes.Buffer
		b.WriteByte('[')
		for i := range rules {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"name":"procs.load","value":%g,"tags":{"host":"p-%02d"}}`, v, i)
		}
		b.WriteByte(']')
		return b.Bytes()
	}, 200*time.Millisecond)

	workers := map[int]*process{}
	w1, w2 := r.startWorker("pulse-worker-1"), r.startWorker("pulse-worker-2")
	workers[w1.cmd.Process.Pid], workers[w2.cmd.Process.Pid] = w1, w2
	time.Sleep(time.Second) // every window holds samples before the first evaluation
	sched, _ := r.startScheduler("pulse-scheduler")
	started := time.Now()

	// Kill the worker whose send of a claimed message the receiver is
	// holding: the message was received, and its outcome is not recorded.
	var (
		victim   *process
		inFlight string
		claimed  int
	)
	r.waitFor("a worker sending a claimed message to the receiver", 60*time.Second, func() bool {
		got := map[string]bool{}
		for _, q := range rc.requests("/hook") {
			got[q.ID] = true
		}
		if len(got) == 0 {
			return false
		}
		rows, err := r.db.Query("SELECT id, claimed_by FROM notification_messages WHERE status = 'queued' AND claim_until > ?", time.Now().UnixMilli())
		r.must(err)
		defer rows.Close()
		held := map[int][]string{}
		for rows.Next() {
			var (
				id     int64
				holder string
			)
			r.must(rows.Scan(&id, &holder))
			held[holderPID(holder)] = append(held[holderPID(holder)], fmt.Sprintf("msg_%d", id))
		}
		r.must(rows.Err())
		for pid, ids := range held {
			p, ok := workers[pid]
			if !ok {
				continue
			}
			for _, id := range ids {
				if got[id] {
					victim, inFlight, claimed = p, id, len(ids)
					return true
				}
			}
		}
		return false
	}, w1, w2, sched)
	victim.kill()
	killedAt := time.Now()
	survivor := w1
	if victim == w1 {
		survivor = w2
	}
	firingBefore := 0
	for k := range rc.alertKeys("/hook") {
		if strings.HasSuffix(k, "/firing") {
			firingBefore++
		}
	}
	t.Logf("%s killed %s after the scheduler started, holding %d claimed messages (%s received, its outcome unrecorded); %d of %d firing notices received by then",
		victim.name, killedAt.Sub(started).Round(time.Millisecond), claimed, inFlight, firingBefore, rules)

	// The samples recover at once: the resolved notices are sent by the
	// survivor while the killed worker's claims still hold.
	time.Sleep(time.Second)
	breach.Store(false)
	time.Sleep(3 * time.Second)
	restarted := r.startWorker(victim.name + "-restarted")
	t.Logf("%s restarted %s after the kill", victim.name, time.Since(killedAt).Round(time.Millisecond))

	var complete time.Time
	deadline := time.Now().Add(bound)
	for {
		n, first := notifyMissing(want, rc.alertKeys("/hook"))
		if n == 0 {
			complete = time.Now()
			break
		}
		for _, p := range []*process{survivor, restarted, sched} {
			if p.exited() {
				t.Fatalf("%s exited while waiting for the notices\n%s", p.name, p.tail())
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d notices never received within %s of the kill (e.g. %q)\n%s\n%s", n, len(want), bound, first, survivor.tail(), restarted.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("every firing and resolved notice of the %d rules received %s after the kill", rules, complete.Sub(killedAt).Round(time.Millisecond))
	samples.check(t)

	// The backlog drains: every outbox row expanded, every delivery
	// planned, no message queued or dead.
	r.waitFor("the dispatcher's backlog to drain", 30*time.Second, func() bool {
		var outbox, open, queued int
		r.must(r.db.QueryRow("SELECT COUNT(*) FROM alert_outbox WHERE delivered_at IS NULL").Scan(&outbox))
		r.must(r.db.QueryRow("SELECT COUNT(*) FROM notification_deliveries WHERE state IN ('waiting', 'held', 'silenced')").Scan(&open))
		r.must(r.db.QueryRow("SELECT COUNT(*) FROM notification_messages WHERE status = 'queued'").Scan(&queued))
		return outbox == 0 && open == 0 && queued == 0
	}, survivor, restarted, sched)
	var dead struct {
		Notifications []struct {
			ID        int64  `json:"id"`
			LastError string `json:"last_error"`
		} `json:"notifications"`
	}
	r.must(r.call(http.MethodGet, "/api/notifications?status=dead&limit=500", nil, http.StatusOK, &dead))
	if len(dead.Notifications) > 0 {
		t.Fatalf("%d notifications are dead, the first %+v", len(dead.Notifications), dead.Notifications[0])
	}
	var queued struct {
		Notifications []struct{ ID int64 } `json:"notifications"`
	}
	r.must(r.call(http.MethodGet, "/api/notifications?status=queued&limit=500", nil, http.StatusOK, &queued))
	if len(queued.Notifications) > 0 {
		t.Fatalf("%d notifications are still queued after the drain", len(queued.Notifications))
	}

	// What arrived: signed, and every duplicate (a notice received twice)
	// under one webhook-id.
	reqs := rc.requests("/hook")
	ids := map[string]map[string]int{} // alertname/status → webhook-id → times
	order := map[string][]string{}     // alertname → statuses in arrival order
	for _, q := range reqs {
		if q.BadSig != nil {
			t.Errorf("request %s does not verify: %v", q.ID, q.BadSig)
		}
		if !strings.HasPrefix(q.ID, "msg_") {
			t.Errorf("webhook-id %q is not msg_<message id>", q.ID)
		}
		for _, a := range q.Alerts {
			k := a.key()
			if ids[k] == nil {
				ids[k] = map[string]int{}
			}
			ids[k][q.ID]++
			order[a.Labels["alertname"]] = append(order[a.Labels["alertname"]], a.Status)
		}
	}
	dups, resent := 0, 0
	for k, byID := range ids {
		n := 0
		for _, c := range byID {
			n += c
		}
		if n > 1 {
			dups++
		}
		if len(byID) > 1 {
			t.Errorf("%s was received %d times under %d webhook-ids %v: a duplicate must carry the same webhook-id", k, n, len(byID), byID)
		}
		if byID[inFlight] > 1 {
			resent++
		}
	}
	if resent == 0 {
		t.Errorf("%s was in flight when %s was killed, yet it was not sent again", inFlight, victim.name)
	}
	stale := 0
	for _, statuses := range order {
		if statuses[len(statuses)-1] != "resolved" {
			stale++
		}
	}
	t.Logf("%d requests for %d notices: %d notices received more than once (each under one webhook-id)", len(reqs), len(want), dups)
	// A rule's notices reach a channel in order: the resend of a firing
	// the killed worker held comes before the resolved notice, never after.
	if stale > 0 {
		t.Errorf("%d alerts' last notice received is a firing one: a resend overtook their resolved notice", stale)
	}
}
