package features_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

// The alerting process tests run the real binaries on one MariaDB
// database (distributed mode): pulse-api serves the rules and takes the
// samples, pulse-worker stores them, and pulse-scheduler evaluates the
// rules. They prove what the scheduler keeps across kill -9 (a Pending
// timer resumes from the database; a firing episode notifies once) and
// that two replicas evaluate each (rule, time) exactly once.

// alertRig is the distributed deployment of one test.
type alertRig struct {
	t         *testing.T
	bins      binaries
	scheduler string // the pulse-scheduler binary
	env       map[string]string
	db        *sql.DB // the database, behind the stores' backs
	api       string  // http://host:port of pulse-api
	token     string  // ingest, read and admin
}

func newAlertRig(t *testing.T) *alertRig {
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
	env := map[string]string{
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
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("open MariaDB: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	r := &alertRig{t: t, bins: bins, scheduler: sched, env: env, db: db}
	slug := testservice.UniqueName("alerts-")
	runCLI(t, bins.pulse, env, "tenant", "create", slug)
	r.token = lastLine(runCLI(t, bins.pulse, env, "token", "create", slug, "--scopes", "ingest,read,admin"))
	if !strings.HasPrefix(r.token, "pulse_") {
		t.Fatalf("pulse token create: last line %q is not a token", r.token)
	}
	apiAddr := freeAddr(t)
	api := startProcess(t, "pulse-api", bins.api, withEnv(env, "PULSE_HTTP_ADDR", apiAddr))
	waitProcessHealthy(t, api, apiAddr)
	r.api = "http://" + apiAddr
	workerAddr := freeAddr(t)
	worker := startProcess(t, "pulse-worker", bins.worker, withEnv(env, "PULSE_HTTP_ADDR", workerAddr))
	waitProcessHealthy(t, worker, workerAddr)
	return r
}

// startScheduler starts a pulse-scheduler (extra: settings name, value…)
// and returns it once healthy, with its address (its /metrics).
func (r *alertRig) startScheduler(name string, extra ...string) (*process, string) {
	r.t.Helper()
	addr := freeAddr(r.t)
	p := startProcess(r.t, name, r.scheduler, withEnv(withEnv(r.env, extra...), "PULSE_HTTP_ADDR", addr))
	waitProcessHealthy(r.t, p, addr)
	return p, addr
}

// call sends one API request with the rig's token and decodes a JSON
// answer into out (nil: ignore the body).
func (r *alertRig) call(method, path string, body []byte, want int, out any) error {
	req, err := http.NewRequest(method, r.api+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-API-Token", r.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, truncate(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: answer is not JSON: %v: %s", method, path, err, truncate(b))
		}
	}
	return nil
}

func (r *alertRig) must(err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
}

func (r *alertRig) createRule(body string) int64 {
	r.t.Helper()
	var rule ruleJSON
	r.must(r.call(http.MethodPost, "/api/alert-rules", []byte(body), http.StatusCreated, &rule))
	return rule.ID
}

func (r *alertRig) getRule(id int64) ruleJSON {
	r.t.Helper()
	var rule ruleJSON
	r.must(r.call(http.MethodGet, fmt.Sprintf("/api/alert-rules/%d", id), nil, http.StatusOK, &rule))
	return rule
}

// instance is the rule's one alert instance (ok false while it has none).
func (r *alertRig) instance(id int64) (instanceJSON, bool) {
	r.t.Helper()
	var l listJSON[instanceJSON]
	r.must(r.call(http.MethodGet, fmt.Sprintf("/api/alerts?rule_id=%d", id), nil, http.StatusOK, &l))
	switch len(l.Data) {
	case 0:
		return instanceJSON{}, false
	case 1:
		return l.Data[0], true
	}
	r.t.Fatalf("rule %d has %d alert instances, want 1: %+v", id, len(l.Data), l.Data)
	return instanceJSON{}, false
}

// history is the rule's history, oldest first.
func (r *alertRig) history(id int64) []transitionJSON {
	r.t.Helper()
	var l listJSON[transitionJSON]
	r.must(r.call(http.MethodGet, fmt.Sprintf("/api/alert-rules/%d/history?limit=1000", id), nil, http.StatusOK, &l))
	for i, j := 0, len(l.Data)-1; i < j; i, j = i+1, j-1 {
		l.Data[i], l.Data[j] = l.Data[j], l.Data[i]
	}
	return l.Data
}

func (r *alertRig) outbox(id int64) map[string]int {
	r.t.Helper()
	var l listJSON[outboxJSON]
	r.must(r.call(http.MethodGet, "/api/alert-outbox?limit=1000", nil, http.StatusOK, &l))
	kinds := map[string]int{}
	for _, o := range l.Data {
		if o.RuleID == id {
			kinds[o.Kind]++
		}
	}
	return kinds
}

// waitFor polls cond every 10 ms until it holds or bound passes.
func (r *alertRig) waitFor(what string, bound time.Duration, cond func() bool, procs ...*process) {
	r.t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		for _, p := range procs {
			if p.exited() {
				r.t.Fatalf("%s exited while waiting for %s\n%s", p.name, what, p.tail())
			}
		}
		if time.Now().After(deadline) {
			var tails []string
			for _, p := range procs {
				tails = append(tails, p.tail())
			}
			r.t.Fatalf("%s: not within %s\n%s", what, bound, strings.Join(tails, "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// killAfterCommit kills p (kill -9) right after the rule's next committed
// evaluation: the next claim is a cadence away, so p dies holding no
// claim (a held claim would delay the next replica by its 30 s lease).
func (r *alertRig) killAfterCommit(p *process, id int64) time.Time {
	r.t.Helper()
	before := deref(r.getRule(id).LastEvaluatedAt)
	r.waitFor("a committed evaluation before the kill", 5*time.Second, func() bool {
		return deref(r.getRule(id).LastEvaluatedAt) != before
	}, p)
	p.kill()
	killedAt := time.Now()
	var holder string
	var until int64
	r.must(r.db.QueryRow("SELECT claimed_by, claim_until FROM alert_rules WHERE id = ?", id).Scan(&holder, &until))
	if holder != "" {
		r.t.Fatalf("%s was killed holding the claim of rule %d (until %d): the kill came too late after the commit", p.name, id, until)
	}
	return killedAt
}

// poster posts body every period until stop is called; it counts the
// posts that were not accepted.
type poster struct {
	stop   func()
	mu     sync.Mutex
	failed []string
}

func (r *alertRig) post(body func() []byte, period time.Duration) *poster {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	p := &poster{}
	go func() {
		defer close(done)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			err := r.call(http.MethodPost, "/api/metrics", body(), http.StatusAccepted, nil)
			if err != nil {
				p.mu.Lock()
				p.failed = append(p.failed, err.Error())
				p.mu.Unlock()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	p.stop = func() { once.Do(func() { cancel(); <-done }) }
	r.t.Cleanup(p.stop)
	return p
}

func (p *poster) check(t *testing.T) {
	t.Helper()
	p.stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.failed) > 0 {
		t.Fatalf("%d sample posts were not accepted, the first: %s", len(p.failed), p.failed[0])
	}
}

func mustTime(t *testing.T, what string, s *string) time.Time {
	t.Helper()
	if s == nil {
		t.Fatalf("%s is null", what)
	}
	at, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		t.Fatalf("%s %q: %v", what, *s, err)
	}
	return at
}

// instanceHistory is the rule's transitions (notes apart), oldest first,
// and its notes.
func instanceHistory(h []transitionJSON) (transitions []transitionJSON, notes []string) {
	for _, e := range h {
		if e.Note != "" {
			notes = append(notes, deref(e.At)+": "+e.Note)
			continue
		}
		transitions = append(transitions, e)
	}
	return transitions, notes
}

// TestAlertSchedulerKilledMidPending kills pulse-scheduler with SIGKILL
// while an instance is Pending, and again while it is Firing: the Pending
// timer resumes from the database (the instance fires "for" after it
// became active, not "for" after the restart), and the episode notifies
// once.
func TestAlertSchedulerKilledMidPending(t *testing.T) {
	if testing.Short() {
		t.Skip("process test: builds binaries and kills pulse-scheduler")
	}
	const forDur = 6 * time.Second
	r := newAlertRig(t)
	id := r.createRule(`{"name":"kill mid pending","metric":"kill.load","matchers":[{"tag":"host","op":"=","value":"k-1"}],` +
		`"agg":"avg","window":"10s","op":">","threshold":0.9,"cadence":"1s","for":"6s"}`)
	samples := r.post(func() []byte { return []byte(`{"name":"kill.load","value":0.97,"tags":{"host":"k-1"}}`) }, 100*time.Millisecond)
	s1, _ := r.startScheduler("pulse-scheduler-1")

	var pending instanceJSON
	r.waitFor("the instance to go pending", 15*time.Second, func() bool {
		in, ok := r.instance(id)
		pending = in
		return ok && in.State == string(alert.Pending)
	}, s1)
	activeAt := mustTime(t, "active_since", pending.ActiveSince)
	killedAt := r.killAfterCommit(s1, id)
	if in, _ := r.instance(id); in.State != string(alert.Pending) {
		t.Fatalf("the instance is %q when pulse-scheduler-1 is killed, want pending: the kill came too late", in.State)
	}
	t.Logf("pending since %s; pulse-scheduler-1 killed %s after", activeAt.Format(time.RFC3339Nano), killedAt.Sub(activeAt).Round(time.Millisecond))

	time.Sleep(2 * time.Second)
	s2, _ := r.startScheduler("pulse-scheduler-2")
	upAt := time.Now()
	downtime := upAt.Sub(killedAt)

	var firing instanceJSON
	r.waitFor("the instance to fire", 15*time.Second, func() bool {
		in, _ := r.instance(id)
		firing = in
		return in.State == string(alert.Firing)
	}, s2)
	if got := mustTime(t, "active_since", firing.ActiveSince); !got.Equal(activeAt) {
		t.Fatalf("active_since moved from %s to %s across the restart: the Pending timer restarted", activeAt, got)
	}
	trans, notes := instanceHistory(r.history(id))
	if len(trans) != 2 || trans[0].From != "normal" || trans[0].To != "pending" || trans[1].From != "pending" || trans[1].To != "firing" {
		t.Fatalf("history %+v, want normal→pending then pending→firing", trans)
	}
	if at := mustTime(t, "the pending transition", trans[0].At); !at.Equal(activeAt) {
		t.Fatalf("normal→pending at %s, active_since %s", at, activeAt)
	}
	firedAt := mustTime(t, "the firing transition", trans[1].At)
	after := firedAt.Sub(activeAt)
	t.Logf("down %s (killed %s after pending, up again %s after); fired %s after pending; notes: %q",
		downtime.Round(time.Millisecond), killedAt.Sub(activeAt).Round(time.Millisecond), upAt.Sub(activeAt).Round(time.Millisecond), after, notes)
	if after < forDur || after >= forDur+downtime+2*time.Second {
		t.Fatalf("pending→firing %s after active_since, want at least %s and less than %s + downtime %s + 2s", after, forDur, forDur, downtime)
	}
	// Up again well before active_since + for: the evaluation due then ran
	// on time.
	if upAt.Add(time.Second).Before(activeAt.Add(forDur)) && after != forDur {
		t.Fatalf("pulse-scheduler-2 was up %s after active_since, yet the instance fired %s after it, not exactly %s",
			upAt.Sub(activeAt), after, forDur)
	}
	if got := r.outbox(id); len(got) != 1 || got["firing"] != 1 {
		t.Fatalf("outbox of the rule %v, want exactly one firing row", got)
	}

	// Killed while Firing: the next replica goes on with the open episode
	// and notifies nothing again.
	killedAt = r.killAfterCommit(s2, id)
	time.Sleep(2 * time.Second)
	s3, _ := r.startScheduler("pulse-scheduler-3")
	upAt = time.Now()
	r.waitFor("three evaluations after the second restart", 10*time.Second, func() bool {
		last := r.getRule(id).LastEvaluatedAt
		return last != nil && mustTime(t, "last_evaluated_at", last).After(upAt.Add(2*time.Second))
	}, s3)
	samples.check(t)
	in, _ := r.instance(id)
	if in.State != string(alert.Firing) || !mustTime(t, "active_since", in.ActiveSince).Equal(activeAt) {
		t.Fatalf("after the restart while firing the instance is %q active since %v, want firing since %s", in.State, deref(in.ActiveSince), activeAt)
	}
	trans2, notes := instanceHistory(r.history(id))
	if len(trans2) != 2 {
		t.Fatalf("history after the restart while firing %+v, want the same two transitions", trans2)
	}
	if got := r.outbox(id); len(got) != 1 || got["firing"] != 1 {
		t.Fatalf("outbox of the rule after the restart while firing %v, want exactly one firing row", got)
	}
	var eps listJSON[episodeJSON]
	r.must(r.call(http.MethodGet, fmt.Sprintf("/api/alert-rules/%d/episodes", id), nil, http.StatusOK, &eps))
	if len(eps.Data) != 1 || eps.Data[0].ResolvedAt != nil || !mustTime(t, "fired_at", eps.Data[0].FiredAt).Equal(firedAt) {
		t.Fatalf("episodes %+v, want one open episode fired at %s", eps.Data, firedAt)
	}
	t.Logf("second kill while firing: down %s; notes: %q", upAt.Sub(killedAt).Round(time.Millisecond), notes)
}

// evalCounts scrapes pulse_alert_evaluations_total by result from a
// process's /metrics.
func evalCounts(t *testing.T, addr string) map[string]int {
	t.Helper()
	resp, err := httpClient.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("GET %s/metrics: %v", addr, err)
	}
	defer resp.Body.Close()
	out := map[string]int{}
	re := regexp.MustCompile(`^pulse_alert_evaluations_total\{result="(\w+)"\} (\S+)$`)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			v, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				t.Fatalf("%s/metrics: %q: %v", addr, sc.Text(), err)
			}
			out[m[1]] = int(v)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s/metrics has no pulse_alert_evaluations_total", addr)
	}
	return out
}

var skippedNote = regexp.MustCompile(`; (\d+) due evaluation\(s\) since`)

// TestAlertSchedulerTwoReplicas runs two pulse-scheduler replicas on one
// database over 50 rules with a cadence of 1s, and checks that every (rule,
// time) was evaluated and recorded once: the replicas' ok and error
// counts add up to the evaluations the database holds, and no transition
// is recorded twice.
func TestAlertSchedulerTwoReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("process test: builds binaries and runs two pulse-scheduler replicas")
	}
	const (
		rules     = 50
		breaching = 10 // hosts h-00 … h-09 breach, the others are healthy
		run       = 8 * time.Second
	)
	r := newAlertRig(t)
	// The rules exist before the schedulers start (see schedulerStarts in
	// alerting_steps_test.go: a rule created while a scheduler runs may be
	// claimed at its creation instant).
	ids := make([]int64, rules)
	for i := range ids {
		ids[i] = r.createRule(fmt.Sprintf(`{"name":"fleet %02d","metric":"fleet.load","matchers":[{"tag":"host","op":"=","value":"h-%02d"}],`+
			`"agg":"avg","window":"10s","op":">","threshold":0.9,"cadence":"1s","for":"0s"}`, i, i))
	}
	var batch bytes.Buffer
	batch.WriteByte('[')
	for i := 0; i < rules; i++ {
		if i > 0 {
			batch.WriteByte(',')
		}
		v := 0.1
		if i < breaching {
			v = 0.97
		}
		fmt.Fprintf(&batch, `{"name":"fleet.load","value":%g,"tags":{"host":"h-%02d"}}`, v, i)
	}
	batch.WriteByte(']')
	samples := r.post(func() []byte { return batch.Bytes() }, 200*time.Millisecond)
	time.Sleep(time.Second) // every window holds samples before the first evaluation

	// Every rule is due on each second (a cadence of 1s has no offset), and
	// the first replica to tick after it claims them all. Ticks that do
	// not divide a second move each replica's first tick after it from
	// second to second, so the replicas take turns, and race.
	s1, addr1 := r.startScheduler("pulse-scheduler-a", "PULSE_ALERT_TICK", "43ms")
	s2, addr2 := r.startScheduler("pulse-scheduler-b", "PULSE_ALERT_TICK", "47ms")
	time.Sleep(run)
	// Pause every rule: no replica claims them any more, and the
	// evaluations under way commit (pausing keeps next_eval_at).
	for _, id := range ids {
		r.must(r.call(http.MethodPost, fmt.Sprintf("/api/alert-rules/%d/pause", id), nil, http.StatusOK, nil))
	}
	time.Sleep(time.Second)
	c1, c2 := evalCounts(t, addr1), evalCounts(t, addr2)
	if s1.exited() || s2.exited() {
		t.Fatalf("a replica exited during the run\n%s\n%s", s1.tail(), s2.tail())
	}
	s1.kill()
	s2.kill()
	samples.check(t)

	// What the database holds: per rule, every aligned time from its first
	// due time to its last evaluation, less those the notes say a late
	// claim skipped.
	committed, skipped := 0, 0
	for _, id := range ids {
		var created, last, cadence int64
		r.must(r.db.QueryRow("SELECT created_at, last_eval_at, cadence FROM alert_rules WHERE id = ?", id).Scan(&created, &last, &cadence))
		if last == 0 {
			t.Fatalf("rule %d was never evaluated", id)
		}
		first := alert.DueAfter(id, time.Duration(cadence)*time.Millisecond, created)
		n := int((last-first)/cadence) + 1
		rows, err := r.db.Query("SELECT note FROM alert_transitions WHERE rule_id = ? AND note <> ''", id)
		r.must(err)
		for rows.Next() {
			var note string
			r.must(rows.Scan(&note))
			m := skippedNote.FindStringSubmatch(note)
			if m == nil {
				t.Fatalf("rule %d: unexpected note %q", id, note)
			}
			k, _ := strconv.Atoi(m[1])
			n -= k
			skipped += k
		}
		r.must(rows.Err())
		_ = rows.Close()
		committed += n
	}
	ok := c1["ok"] + c1["error"] + c2["ok"] + c2["error"]
	t.Logf("replica a: %v; replica b: %v", c1, c2)
	t.Logf("%d evaluations recorded in the database (%d due times skipped by late claims); %d ok+error across the replicas; %d conflicts, %d failed",
		committed, skipped, ok, c1["conflict"]+c2["conflict"], c1["failed"]+c2["failed"])
	if ok != committed {
		t.Fatalf("the replicas counted %d evaluations (ok + error), the database records %d", ok, committed)
	}
	if f := c1["failed"] + c2["failed"]; f != 0 {
		t.Fatalf("%d evaluations failed to commit", f)
	}
	if committed < rules*int(run/time.Second-2) {
		t.Fatalf("only %d evaluations in %s over %d rules with a cadence of 1s", committed, run, rules)
	}
	if c1["ok"] == 0 || c2["ok"] == 0 {
		t.Logf("one replica evaluated nothing (it lost every claim race): the run checked one evaluator only")
	}

	// Each (rule, instance, time) is recorded once.
	var dups int
	r.must(r.db.QueryRow("SELECT COUNT(*) FROM (SELECT rule_id, instance_key, at FROM alert_transitions GROUP BY rule_id, instance_key, at HAVING COUNT(*) > 1) d").Scan(&dups))
	if dups != 0 {
		t.Fatalf("%d (rule, instance, at) transitions are recorded more than once", dups)
	}
	// The breaching rules fired once each and notified once; the healthy
	// ones never changed state.
	for i, id := range ids {
		var fired, other, firingRows, outboxRows int
		r.must(r.db.QueryRow("SELECT COUNT(CASE WHEN from_state = 'normal' AND to_state = 'firing' THEN 1 END), COUNT(CASE WHEN NOT (from_state = 'normal' AND to_state = 'firing') THEN 1 END) "+
			"FROM alert_transitions WHERE rule_id = ? AND note = ''", id).Scan(&fired, &other))
		r.must(r.db.QueryRow("SELECT COUNT(CASE WHEN kind = 'firing' THEN 1 END), COUNT(*) FROM alert_outbox WHERE rule_id = ?", id).Scan(&firingRows, &outboxRows))
		wantFired := 0
		if i < breaching {
			wantFired = 1
		}
		if fired != wantFired || other != 0 || firingRows != wantFired || outboxRows != wantFired {
			t.Fatalf("rule %d (host h-%02d): %d normal→firing and %d other transitions, %d firing of %d outbox rows; want %d, 0, %d of %d",
				id, i, fired, other, firingRows, outboxRows, wantFired, wantFired, wantFired)
		}
	}
}
