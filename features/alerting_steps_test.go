package features_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	"github.com/go-sql-driver/mysql"

	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

// Steps of alerting.feature: rules over the API; a scenario's own server
// on a fake clock with the alert scheduler running in-process beside it
// (the loop `pulse serve` runs, on the server's database and clock); the
// samples of each second; and what the evaluations leave (instances,
// history, episodes, outbox).

// alertWaitBound bounds the wait for samples to be stored and for the
// scheduler to evaluate every rule after the clock moved.
const alertWaitBound = 5 * time.Second

// alertTick is the in-process scheduler's tick: how soon after the clock
// moves it claims the rules then due.
const alertTick = 10 * time.Millisecond

// alertSteps is the alerting state of one scenario.
type alertSteps struct {
	s *scenario
	// evals counts the scheduler's evaluations by result; nil until the
	// scenario starts its scheduler.
	evals *evalCounter
	// rules are the scenario's rules by name, with the tenant that made them.
	rules map[string]ruleRef
	// stored counts the distinct samples stored per (metric, host).
	stored map[string]int
}

type ruleRef struct {
	id     int64
	tenant string
	body   []byte // the body it was created with
}

func newAlertSteps(s *scenario) *alertSteps {
	return &alertSteps{s: s, rules: map[string]ruleRef{}, stored: map[string]int{}}
}

func (a *alertSteps) register(sc *godog.ScenarioContext) {
	sc.Step(`^a server of its own on a fake clock, with PULSE_ALERT_MIN_CADENCE (\S+)$`, a.serverOnFakeClock)
	sc.Step(`^its alert scheduler starts$`, a.schedulerStarts)
	sc.Step(`^I create the alert rule:$`, a.iCreateTheRule)
	sc.Step(`^"([^"]*)" creates the alert rule:$`, a.tenantCreatesTheRule)
	sc.Step(`^the rule "([^"]*)" is next evaluated at (\{\{[^}]*\}\})$`, a.ruleNextEvaluatedAt)
	sc.Step(`^"([^"]*)" of host "([^"]*)" reports (\S+) each second for (\d+) seconds?$`, a.hostReports)
	sc.Step(`^the alert of "([^"]*)" is "([^"]*)" since (\{\{[^}]*\}\}), active since (\{\{[^}]*\}\}|never)$`, a.theAlertIs)
	sc.Step(`^the history of "([^"]*)" is, oldest first:$`, a.theHistoryIs)
	sc.Step(`^"([^"]*)" has no episode$`, a.hasNoEpisode)
	sc.Step(`^"([^"]*)" has 1 episode, fired at (\{\{[^}]*\}\}), (not resolved|resolved at \{\{[^}]*\}\}), with the sample values (.+)$`, a.hasOneEpisode)
	sc.Step(`^the outbox holds for "([^"]*)" exactly (\d+) "firing" and (\d+) "resolved" rows?$`, a.theOutboxHolds)
	sc.Step(`^the "([^"]*)" notification of "([^"]*)" reads the summary "([^"]*)"$`, a.theNotificationReads)
	sc.Step(`^the scheduler has evaluated (\d+) times, every time "ok"$`, a.theSchedulerEvaluated)
	sc.Step(`^the answer is 422 listing exactly the fields:$`, a.theAnswerListsFields)
	sc.Step(`^I preview the alert rule:$`, a.iPreviewTheRule)
	sc.Step(`^the tenant has no alert rule$`, a.theTenantHasNoRule)
	sc.Step(`^"([^"]*)" gets for every route of the rule "([^"]*)" the answer to a rule that does not exist:$`, a.getsAbsentAnswers)
	sc.Step(`^"([^"]*)" lists no alert rule, no alert and no outbox row$`, a.listsNothing)
	sc.Step(`^"([^"]*)" sees no alert of the rule "([^"]*)"$`, a.seesNoAlertOf)
	sc.Step(`^"([^"]*)" still has the rule "([^"]*)", unchanged and not paused$`, a.stillHasTheRule)
}

// ---- the server and its scheduler ----

// serverOnFakeClock starts the scenario's own server on a fake clock with
// the given minimum cadence, in distributed mode on a database of its own:
// the scheduler claims due rules across tenants, and another scenario's
// rules, due on another fake clock, must not be among them.
func (a *alertSteps) serverOnFakeClock(minCadence string) error {
	extra := map[string]string{"PULSE_ALERT_MIN_CADENCE": minCadence}
	var drop func()
	if a.s.srv.env["PULSE_DATABASE_URL"] != "" {
		u, d, err := freshMariaDB()
		if err != nil {
			return err
		}
		extra["PULSE_DATABASE_URL"], drop = u, d
	}
	if err := a.s.launchOwnClock(extra, false, newFakeClock()); err != nil {
		if drop != nil {
			drop()
		}
		return err
	}
	if drop != nil {
		srv := a.s.own
		stop := srv.stop
		srv.stop = func() error { err := stop(); drop(); return err }
	}
	return nil
}

// schedulerStarts runs the alert scheduler loop (what `pulse serve` and
// pulse-scheduler run) beside the scenario's server, on its database and
// its clock, until the server stops.
//
// The scenario starts it once its rules exist: a rule created while a
// scheduler runs can be claimed between its INSERT (due "now") and its
// rescheduling to its first aligned time (alerting.Service.Create), which
// ends as a conflict, or as an evaluation at the creation instant.
func (a *alertSteps) schedulerStarts() error {
	srv := a.s.own
	if srv == nil || srv.clock == nil {
		return errors.New(`start "a server of its own on a fake clock, with PULSE_ALERT_MIN_CADENCE 1s" first`)
	}
	if a.evals != nil {
		return errors.New("the scenario's alert scheduler already runs")
	}
	cfg, err := parseConfig(srv.env)
	if err != nil {
		return err
	}
	svc := wiring.ProvideAlerting(cfg, srv.store.Alerts, srv.store.Samples, slog.New(slog.DiscardHandler), srv.clock.Now, "features-scheduler")
	a.evals = &evalCounter{results: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Scheduler(a.evals)(ctx, alertTick) }()
	stop := srv.stop
	srv.stop = func() error { // the scheduler stops before the database closes
		cancel()
		var errs []error
		select {
		case err := <-done:
			if err != nil {
				errs = append(errs, fmt.Errorf("alert scheduler stopped with: %w", err))
			}
		case <-time.After(15 * time.Second):
			errs = append(errs, errors.New("alert scheduler did not stop within 15s"))
		}
		return errors.Join(append(errs, stop())...)
	}
	return nil
}

// freshMariaDB creates a database of its own on the test MariaDB and
// returns its PULSE_DATABASE_URL and how to drop it.
func freshMariaDB() (string, func(), error) {
	server := testservice.MariaDBServerDSN()
	c, err := mysql.ParseDSN(server)
	if err != nil {
		return "", nil, fmt.Errorf("parse test DSN %q: %w", server, err)
	}
	admin, err := sql.Open("mysql", server)
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	name := testservice.UniqueName("pulse_test_")
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		_ = admin.Close()
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u := url.URL{Scheme: "mysql", Host: c.Addr, Path: "/" + name}
	switch {
	case c.Passwd != "":
		u.User = url.UserPassword(c.User, c.Passwd)
	case c.User != "":
		u.User = url.User(c.User)
	}
	return u.String(), func() {
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name)
		_ = admin.Close()
	}, nil
}

// evalCounter is the scheduler's Observer: evaluations by result.
type evalCounter struct {
	mu      sync.Mutex
	results map[string]int
}

func (c *evalCounter) Evaluated(result string, _, _ time.Duration) {
	c.mu.Lock()
	c.results[result]++
	c.mu.Unlock()
}

func (c *evalCounter) Firing(map[int64]int) {}

func (c *evalCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.results))
	for k, v := range c.results {
		if v > 0 {
			out[k] = v
		}
	}
	return out
}

// ---- the API's answers ----

type ruleJSON struct {
	ID               int64   `json:"id"`
	Name             string  `json:"name"`
	Metric           string  `json:"metric"`
	Paused           bool    `json:"paused"`
	State            string  `json:"state"`
	Firing           int     `json:"firing"`
	LastEvaluatedAt  *string `json:"last_evaluated_at"`
	NextEvaluationAt *string `json:"next_evaluation_at"`
	CreatedAt        *string `json:"created_at"`
	UpdatedAt        *string `json:"updated_at"`
}

type instanceJSON struct {
	ID          int64             `json:"id"`
	RuleID      int64             `json:"rule_id"`
	RuleName    string            `json:"rule_name"`
	Instance    string            `json:"instance"`
	Labels      map[string]string `json:"labels"`
	State       string            `json:"state"`
	Value       *float64          `json:"value"`
	Since       *string           `json:"since"`
	ActiveSince *string           `json:"active_since"`
	Episode     *episodeJSON      `json:"episode"`
}

type transitionJSON struct {
	Instance string            `json:"instance"`
	Labels   map[string]string `json:"labels"`
	From     string            `json:"from"`
	To       string            `json:"to"`
	At       *string           `json:"at"`
	Value    *float64          `json:"value"`
	Note     string            `json:"note"`
}

type episodeJSON struct {
	ID           int64             `json:"id"`
	RuleID       int64             `json:"rule_id"`
	Instance     string            `json:"instance"`
	Labels       map[string]string `json:"labels"`
	FiredAt      *string           `json:"fired_at"`
	ResolvedAt   *string           `json:"resolved_at"`
	SampleValues []struct {
		TS    string  `json:"ts"`
		Value float64 `json:"value"`
	} `json:"sample_values"`
}

type outboxJSON struct {
	ID       int64           `json:"id"`
	RuleID   int64           `json:"rule_id"`
	Kind     string          `json:"kind"`
	Instance string          `json:"instance"`
	At       *string         `json:"at"`
	Payload  json.RawMessage `json:"payload"`
}

// listJSON is every listing's envelope.
type listJSON[T any] struct {
	Data  []T  `json:"data"`
	Total *int `json:"total"`
}

// getJSON GETs path as tenant, wants 200 and decodes the answer into out.
func (a *alertSteps) getJSON(ctx context.Context, tenant, path string, out any) error {
	t, err := a.s.tenant(tenant)
	if err != nil {
		return err
	}
	ans, err := a.s.do(ctx, http.MethodGet, path, t.token, nil)
	if err != nil {
		return err
	}
	if err := expectStatus(ans, http.StatusOK); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if err := json.Unmarshal(ans.body, out); err != nil {
		return fmt.Errorf("GET %s: answer is not JSON: %v: %s", path, err, truncate(ans.body))
	}
	return nil
}

func (a *alertSteps) rule(name string) (ruleRef, error) {
	r, ok := a.rules[name]
	if !ok {
		return ruleRef{}, fmt.Errorf("no rule %q in this scenario (create it first)", name)
	}
	return r, nil
}

// at reads a {{rfc3339 ±N}} placeholder as a time.
func (a *alertSteps) at(placeholder string) (time.Time, error) {
	s, err := a.s.expand(placeholder)
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339, s)
}

// sameTime compares an answer's time (nil: none) with want (zero: none).
func sameTime(what string, got *string, want time.Time) error {
	switch {
	case got == nil && want.IsZero():
		return nil
	case got == nil:
		return fmt.Errorf("%s is null, want %s", what, want.Format(time.RFC3339))
	case want.IsZero():
		return fmt.Errorf("%s is %s, want null", what, *got)
	}
	g, err := time.Parse(time.RFC3339, *got)
	if err != nil {
		return fmt.Errorf("%s %q is not RFC 3339: %w", what, *got, err)
	}
	if !g.Equal(want) {
		return fmt.Errorf("%s is %s, want %s", what, *got, want.Format(time.RFC3339))
	}
	return nil
}

func near(got, want float64) bool { return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want)) }

// ---- rules ----

func (a *alertSteps) iCreateTheRule(ctx context.Context, doc *godog.DocString) error {
	return a.create(ctx, "", []byte(doc.Content))
}

func (a *alertSteps) tenantCreatesTheRule(ctx context.Context, tenant string, doc *godog.DocString) error {
	if err := a.create(ctx, tenant, []byte(doc.Content)); err != nil {
		return err
	}
	return expectStatus(a.s.last, http.StatusCreated)
}

// create posts a rule; a 201 remembers it by name (the answer is the
// scenario's last, for the steps that check it).
func (a *alertSteps) create(ctx context.Context, tenant string, body []byte) error {
	t, err := a.s.tenant(tenant)
	if err != nil {
		return err
	}
	ans, err := a.s.do(ctx, http.MethodPost, "/api/alert-rules", t.token, body)
	if err != nil || ans.status != http.StatusCreated {
		return err
	}
	var r ruleJSON
	if err := json.Unmarshal(ans.body, &r); err != nil {
		return fmt.Errorf("201 answer is not a rule: %v: %s", err, truncate(ans.body))
	}
	if r.ID <= 0 || r.Name == "" {
		return fmt.Errorf("201 answer names no rule: %s", truncate(ans.body))
	}
	if want := "/api/alert-rules/" + strconv.FormatInt(r.ID, 10); ans.header.Get("Location") != want {
		return fmt.Errorf("201 Location is %q, want %q", ans.header.Get("Location"), want)
	}
	a.rules[r.Name] = ruleRef{id: r.ID, tenant: tenant, body: body}
	return nil
}

func (a *alertSteps) getRule(ctx context.Context, name string) (ruleJSON, error) {
	var r ruleJSON
	ref, err := a.rule(name)
	if err != nil {
		return r, err
	}
	err = a.getJSON(ctx, ref.tenant, fmt.Sprintf("/api/alert-rules/%d", ref.id), &r)
	return r, err
}

func (a *alertSteps) ruleNextEvaluatedAt(ctx context.Context, name, when string) error {
	want, err := a.at(when)
	if err != nil {
		return err
	}
	r, err := a.getRule(ctx, name)
	if err != nil {
		return err
	}
	if err := sameTime("next_evaluation_at", r.NextEvaluationAt, want); err != nil {
		return err
	}
	return sameTime("last_evaluated_at", r.LastEvaluatedAt, time.Time{})
}

// ---- samples and the clock ----

// hostReports runs n seconds: each posts that second's samples of
// metric{host}, waits until they are stored, moves the clock one second
// on and waits until the scheduler has evaluated every rule of the
// scenario at the new time. A second's samples: one without ts (it takes
// the clock's time), then ten dense ones 10 ms apart ending 410 ms before
// it together with a repeat of the first one's millisecond, then that
// same request again (a client's resend). 23 samples are accepted, 11
// distinct ones stored: the repeats must not count twice.
func (a *alertSteps) hostReports(ctx context.Context, metricName, host, value string, n int) error {
	clock := a.s.srv.clock
	if clock == nil || a.evals == nil {
		return errors.New(`start "a server of its own on a fake clock, with PULSE_ALERT_MIN_CADENCE 1s" and "its alert scheduler" first`)
	}
	if _, err := strconv.ParseFloat(value, 64); err != nil {
		return fmt.Errorf("value %q is not a number", value)
	}
	for i := 0; i < n; i++ {
		now := clock.Now()
		one := fmt.Sprintf(`{"name":%q,"value":%s,"tags":{"host":%q}}`, metricName, value, host)
		if err := a.postAccepted(ctx, one, 1); err != nil {
			return err
		}
		parts := []string{fmt.Sprintf(`{"name":%q,"value":%s,"tags":{"host":%q},"ts":%d}`, metricName, value, host, now.UnixMilli())}
		for j := 0; j < 10; j++ {
			ts := now.Add(-500*time.Millisecond + time.Duration(j)*10*time.Millisecond)
			parts = append(parts, fmt.Sprintf(`{"name":%q,"value":%s,"tags":{"host":%q},"ts":%d}`, metricName, value, host, ts.UnixMilli()))
		}
		dense := "[" + strings.Join(parts, ",") + "]"
		for range 2 {
			if err := a.postAccepted(ctx, dense, len(parts)); err != nil {
				return err
			}
		}
		key := metricName + "\x00" + host
		a.stored[key] += 11
		if err := a.waitStored(ctx, metricName, host, a.stored[key]); err != nil {
			return err
		}
		clock.Advance(time.Second)
		if err := a.waitEvaluated(ctx, clock.Now()); err != nil {
			return err
		}
	}
	return nil
}

func (a *alertSteps) postAccepted(ctx context.Context, body string, accepted int) error {
	ans, err := a.s.post(ctx, "", []byte(body))
	if err != nil {
		return err
	}
	if err := expectStatus(ans, http.StatusAccepted); err != nil {
		return err
	}
	var acc struct {
		Accepted int `json:"accepted"`
	}
	if err := json.Unmarshal(ans.body, &acc); err != nil || acc.Accepted != accepted {
		return fmt.Errorf("202 accepted %d (%v), want %d: %s", acc.Accepted, err, accepted, truncate(ans.body))
	}
	return nil
}

// waitStored waits until metric{host} holds want raw points.
func (a *alertSteps) waitStored(ctx context.Context, metricName, host string, want int) error {
	t, err := a.s.tenant("")
	if err != nil {
		return err
	}
	q := url.Values{"name": {metricName}, "interval": {"raw"}, "max_points": {"100000"}, "tag.host": {host},
		"start": {strconv.FormatInt(a.s.start.Add(-time.Hour).UnixMilli(), 10)},
		"end":   {strconv.FormatInt(a.s.srv.clock.Now().Add(time.Hour).UnixMilli(), 10)}}
	path := "/api/metrics/query?" + q.Encode()
	deadline := time.Now().Add(alertWaitBound)
	for {
		ans, err := a.s.do(ctx, http.MethodGet, path, t.token, nil)
		if err != nil {
			return err
		}
		var qa queryAnswer
		if err := expectStatus(ans, http.StatusOK); err != nil {
			return err
		}
		if err := json.Unmarshal(ans.body, &qa); err != nil {
			return fmt.Errorf("query answer is not JSON: %v", err)
		}
		got := qa.points()
		if got > want {
			return fmt.Errorf("%s{host=%s} holds %d points, more than the %d distinct samples posted: a repeat was stored", metricName, host, got, want)
		}
		if got == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s{host=%s} holds %d points after %s, want %d", metricName, host, got, alertWaitBound, want)
		}
		time.Sleep(pollEvery)
	}
}

// waitEvaluated waits until the scheduler has evaluated every rule of the
// scenario at at, and due them a cadence (1 s) later.
func (a *alertSteps) waitEvaluated(ctx context.Context, at time.Time) error {
	deadline := time.Now().Add(alertWaitBound)
	for name := range a.rules {
		for {
			r, err := a.getRule(ctx, name)
			if err != nil {
				return err
			}
			if sameTime("last_evaluated_at", r.LastEvaluatedAt, at) == nil {
				if err := sameTime("next_evaluation_at", r.NextEvaluationAt, at.Add(time.Second)); err != nil {
					return fmt.Errorf("rule %q evaluated at %s: %w", name, at.Format(time.RFC3339), err)
				}
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("rule %q not evaluated at %s within %s: last_evaluated_at %v, next %v; evaluations so far %v",
					name, at.Format(time.RFC3339), alertWaitBound, deref(r.LastEvaluatedAt), deref(r.NextEvaluationAt), a.evals.snapshot())
			}
			time.Sleep(pollEvery / 4)
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

func (a *alertSteps) theSchedulerEvaluated(n int) error {
	got := a.evals.snapshot()
	if want := map[string]int{alerting.ResultOK: n}; !equalCounts(got, want) {
		return fmt.Errorf("the scheduler's evaluations by result are %v, want %v", got, want)
	}
	return nil
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// ---- instances, history, episodes, outbox ----

func (a *alertSteps) theAlertIs(ctx context.Context, name, state, since, active string) error {
	ref, err := a.rule(name)
	if err != nil {
		return err
	}
	wantSince, err := a.at(since)
	if err != nil {
		return err
	}
	var wantActive time.Time
	if active != "never" {
		if wantActive, err = a.at(active); err != nil {
			return err
		}
	}
	var all listJSON[instanceJSON]
	if err := a.getJSON(ctx, ref.tenant, fmt.Sprintf("/api/alerts?rule_id=%d", ref.id), &all); err != nil {
		return err
	}
	if len(all.Data) != 1 {
		return fmt.Errorf("rule %q has %d alert instances, want 1: %s", name, len(all.Data), truncate(a.s.last.body))
	}
	in := all.Data[0]
	if in.State != state || in.RuleID != ref.id || in.RuleName != name {
		return fmt.Errorf("the alert of %q is %q (rule %d %q), want %q: %s", name, in.State, in.RuleID, in.RuleName, state, truncate(a.s.last.body))
	}
	if err := sameTime("since", in.Since, wantSince); err != nil {
		return fmt.Errorf("the alert of %q: %w", name, err)
	}
	if err := sameTime("active_since", in.ActiveSince, wantActive); err != nil {
		return fmt.Errorf("the alert of %q: %w", name, err)
	}
	// The state filter finds it, and another state does not.
	var byState, other listJSON[instanceJSON]
	if err := a.getJSON(ctx, ref.tenant, fmt.Sprintf("/api/alerts?rule_id=%d&state=%s", ref.id, state), &byState); err != nil {
		return err
	}
	if len(byState.Data) != 1 || byState.Data[0].ID != in.ID {
		return fmt.Errorf("GET /api/alerts?state=%s does not list the alert of %q: %s", state, name, truncate(a.s.last.body))
	}
	otherState := "firing"
	if state == "firing" {
		otherState = "normal"
	}
	if err := a.getJSON(ctx, ref.tenant, fmt.Sprintf("/api/alerts?rule_id=%d&state=%s", ref.id, otherState), &other); err != nil {
		return err
	}
	if len(other.Data) != 0 {
		return fmt.Errorf("GET /api/alerts?state=%s lists the %s alert of %q: %s", otherState, state, name, truncate(a.s.last.body))
	}
	// The rule's own state is its worst instance's.
	r, err := a.getRule(ctx, name)
	if err != nil {
		return err
	}
	if r.State != state {
		return fmt.Errorf("rule %q reads state %q, its one alert %q", name, r.State, state)
	}
	return nil
}

func (a *alertSteps) history(ctx context.Context, name string) ([]transitionJSON, error) {
	ref, err := a.rule(name)
	if err != nil {
		return nil, err
	}
	var h listJSON[transitionJSON]
	if err := a.getJSON(ctx, ref.tenant, fmt.Sprintf("/api/alert-rules/%d/history?limit=1000", ref.id), &h); err != nil {
		return nil, err
	}
	slices.Reverse(h.Data) // the API answers newest first
	return h.Data, nil
}

func (a *alertSteps) theHistoryIs(ctx context.Context, name string, table *godog.Table) error {
	got, err := a.history(ctx, name)
	if err != nil {
		return err
	}
	if len(table.Rows) < 1 {
		return errors.New("the history table needs a header row")
	}
	want := table.Rows[1:]
	describe := func() string {
		var b strings.Builder
		for _, t := range got {
			v := "null"
			if t.Value != nil {
				v = strconv.FormatFloat(*t.Value, 'g', -1, 64)
			}
			fmt.Fprintf(&b, "\n  %s → %s at %s value %s %s", t.From, t.To, deref(t.At), v, t.Note)
		}
		return b.String()
	}
	if len(got) != len(want) {
		return fmt.Errorf("the history of %q has %d entries, want %d:%s", name, len(got), len(want), describe())
	}
	for i, row := range want {
		if len(row.Cells) != 4 {
			return errors.New("history rows are | from | to | at | value |")
		}
		at, err := a.at(row.Cells[2].Value)
		if err != nil {
			return err
		}
		value, err := strconv.ParseFloat(row.Cells[3].Value, 64)
		if err != nil {
			return fmt.Errorf("history value %q is not a number", row.Cells[3].Value)
		}
		t := got[i]
		if t.From != row.Cells[0].Value || t.To != row.Cells[1].Value || sameTime("at", t.At, at) != nil ||
			t.Value == nil || !near(*t.Value, value) || t.Note != "" {
			return fmt.Errorf("entry %d of the history of %q is not %s → %s at %s value %s:%s",
				i+1, name, row.Cells[0].Value, row.Cells[1].Value, at.Format(time.RFC3339), row.Cells[3].Value, describe())
		}
	}
	return nil
}

func (a *alertSteps) episodes(ctx context.Context, name string) ([]episodeJSON, error) {
	ref, err := a.rule(name)
	if err != nil {
		return nil, err
	}
	var e listJSON[episodeJSON]
	err = a.getJSON(ctx, ref.tenant, fmt.Sprintf("/api/alert-rules/%d/episodes", ref.id), &e)
	return e.Data, err
}

func (a *alertSteps) hasNoEpisode(ctx context.Context, name string) error {
	eps, err := a.episodes(ctx, name)
	if err == nil && len(eps) != 0 {
		err = fmt.Errorf("rule %q has %d episodes, want none: %s", name, len(eps), truncate(a.s.last.body))
	}
	return err
}

func (a *alertSteps) hasOneEpisode(ctx context.Context, name, fired, resolved, values string) error {
	eps, err := a.episodes(ctx, name)
	if err != nil {
		return err
	}
	if len(eps) != 1 {
		return fmt.Errorf("rule %q has %d episodes, want 1: %s", name, len(eps), truncate(a.s.last.body))
	}
	ep := eps[0]
	firedAt, err := a.at(fired)
	if err != nil {
		return err
	}
	var resolvedAt time.Time
	if r, ok := strings.CutPrefix(resolved, "resolved at "); ok {
		if resolvedAt, err = a.at(r); err != nil {
			return err
		}
	}
	if err := sameTime("fired_at", ep.FiredAt, firedAt); err != nil {
		return fmt.Errorf("the episode of %q: %w", name, err)
	}
	if err := sameTime("resolved_at", ep.ResolvedAt, resolvedAt); err != nil {
		return fmt.Errorf("the episode of %q: %w", name, err)
	}
	var want []float64
	for _, f := range strings.Split(values, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return fmt.Errorf("sample value %q is not a number", f)
		}
		want = append(want, v)
	}
	if len(ep.SampleValues) != len(want) {
		return fmt.Errorf("the episode of %q holds %d sample values, want %v: %s", name, len(ep.SampleValues), want, truncate(a.s.last.body))
	}
	for i, sv := range ep.SampleValues {
		if !near(sv.Value, want[i]) || sv.TS == "" {
			return fmt.Errorf("sample value %d of the episode of %q is %v at %q, want %v", i, name, sv.Value, sv.TS, want[i])
		}
	}
	return nil
}

func (a *alertSteps) outboxOf(ctx context.Context, name string) ([]outboxJSON, error) {
	ref, err := a.rule(name)
	if err != nil {
		return nil, err
	}
	var o listJSON[outboxJSON]
	if err := a.getJSON(ctx, ref.tenant, "/api/alert-outbox?limit=1000", &o); err != nil {
		return nil, err
	}
	var out []outboxJSON
	for _, row := range o.Data {
		if row.RuleID == ref.id {
			out = append(out, row)
		}
	}
	return out, nil
}

func (a *alertSteps) theOutboxHolds(ctx context.Context, name string, firing, resolved int) error {
	rows, err := a.outboxOf(ctx, name)
	if err != nil {
		return err
	}
	kinds := map[string]int{}
	for _, row := range rows {
		kinds[row.Kind]++
		var p struct {
			Kind string `json:"kind"`
			Rule string `json:"rule"`
		}
		if err := json.Unmarshal(row.Payload, &p); err != nil || p.Kind != row.Kind || p.Rule != name {
			return fmt.Errorf("outbox row %d of %q: payload %s (%v) does not name kind %q and rule %q", row.ID, name, row.Payload, err, row.Kind, name)
		}
	}
	want := map[string]int{}
	if firing > 0 {
		want["firing"] = firing
	}
	if resolved > 0 {
		want["resolved"] = resolved
	}
	if !equalCounts(kinds, want) {
		return fmt.Errorf("the outbox holds for %q %v, want %v", name, kinds, want)
	}
	return nil
}

func (a *alertSteps) theNotificationReads(ctx context.Context, kind, name, summary string) error {
	rows, err := a.outboxOf(ctx, name)
	if err != nil {
		return err
	}
	for _, row := range rows {
		if row.Kind != kind {
			continue
		}
		var p struct {
			Annotations map[string]string `json:"annotations"`
		}
		if err := json.Unmarshal(row.Payload, &p); err != nil {
			return err
		}
		if p.Annotations["summary"] != summary {
			return fmt.Errorf("the %s notification of %q reads the summary %q, want %q", kind, name, p.Annotations["summary"], summary)
		}
		return nil
	}
	return fmt.Errorf("no %s notification of %q in the outbox", kind, name)
}

// ---- refusals ----

func (a *alertSteps) theAnswerListsFields(table *godog.Table) error {
	var e errorAnswer
	if err := expectStatus(a.s.last, http.StatusUnprocessableEntity); err != nil {
		return err
	}
	if err := json.Unmarshal(a.s.last.body, &e); err != nil || e.Error == "" {
		return fmt.Errorf("422 body is not a JSON error (%v): %s", err, truncate(a.s.last.body))
	}
	var want []string
	for _, row := range table.Rows {
		want = append(want, row.Cells[0].Value)
	}
	var got []string
	for _, fe := range e.Errors {
		if fe.Message == "" {
			return fmt.Errorf("field %q is listed without a message: %s", fe.Field, truncate(a.s.last.body))
		}
		got = append(got, fe.Field)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		return fmt.Errorf("the 422 lists the fields %v, want %v:\n%s", got, want, a.s.last.body)
	}
	return nil
}

func (a *alertSteps) iPreviewTheRule(ctx context.Context, doc *godog.DocString) error {
	t, err := a.s.tenant("")
	if err != nil {
		return err
	}
	_, err = a.s.do(ctx, http.MethodPost, "/api/alert-rules/preview", t.token, []byte(doc.Content))
	return err
}

func (a *alertSteps) theTenantHasNoRule(ctx context.Context) error {
	return a.listsNoRule(ctx, "")
}

func (a *alertSteps) listsNoRule(ctx context.Context, tenant string) error {
	var l listJSON[ruleJSON]
	if err := a.getJSON(ctx, tenant, "/api/alert-rules", &l); err != nil {
		return err
	}
	if len(l.Data) != 0 || l.Total == nil || *l.Total != 0 {
		return fmt.Errorf("GET /api/alert-rules lists rules, want none: %s", truncate(a.s.last.body))
	}
	return nil
}

// ---- isolation ----

// absentRuleID is an id no rule has.
const absentRuleID = 987654321012

// getsAbsentAnswers calls every route of the rule as tenant and as a
// request for an id that does not exist: both must be the same 404.
func (a *alertSteps) getsAbsentAnswers(ctx context.Context, tenant, name string, table *godog.Table) error {
	ref, err := a.rule(name)
	if err != nil {
		return err
	}
	t, err := a.s.tenant(tenant)
	if err != nil {
		return err
	}
	for _, row := range table.Rows {
		if len(row.Cells) != 2 {
			return errors.New("route rows are | METHOD | /path/with/{id} |")
		}
		method, pattern := row.Cells[0].Value, row.Cells[1].Value
		var body []byte
		if method == http.MethodPut {
			body = ref.body // a valid rule: the refusal is about the id, not the body
		}
		var answers [2]answer
		for i, id := range []int64{ref.id, absentRuleID} {
			path := strings.ReplaceAll(pattern, "{id}", strconv.FormatInt(id, 10))
			if answers[i], err = a.s.do(ctx, method, path, t.token, body); err != nil {
				return err
			}
		}
		if err := expectStatus(answers[0], http.StatusNotFound); err != nil {
			return fmt.Errorf("%q: %s %s on the rule of another tenant: %w", tenant, method, pattern, err)
		}
		if answers[0].status != answers[1].status || !bytes.Equal(answers[0].body, answers[1].body) {
			return fmt.Errorf("%q: %s %s answers %d %s for another tenant's rule and %d %s for no rule: the difference tells that it exists",
				tenant, method, pattern, answers[0].status, answers[0].body, answers[1].status, answers[1].body)
		}
	}
	return nil
}

func (a *alertSteps) listsNothing(ctx context.Context, tenant string) error {
	if err := a.listsNoRule(ctx, tenant); err != nil {
		return err
	}
	var alerts listJSON[instanceJSON]
	if err := a.getJSON(ctx, tenant, "/api/alerts", &alerts); err != nil {
		return err
	}
	if len(alerts.Data) != 0 {
		return fmt.Errorf("%q lists alerts, want none: %s", tenant, truncate(a.s.last.body))
	}
	var outbox listJSON[outboxJSON]
	if err := a.getJSON(ctx, tenant, "/api/alert-outbox", &outbox); err != nil {
		return err
	}
	if len(outbox.Data) != 0 {
		return fmt.Errorf("%q lists outbox rows, want none: %s", tenant, truncate(a.s.last.body))
	}
	return nil
}

func (a *alertSteps) seesNoAlertOf(ctx context.Context, tenant, name string) error {
	ref, err := a.rule(name)
	if err != nil {
		return err
	}
	var alerts listJSON[instanceJSON]
	if err := a.getJSON(ctx, tenant, fmt.Sprintf("/api/alerts?rule_id=%d", ref.id), &alerts); err != nil {
		return err
	}
	if len(alerts.Data) != 0 {
		return fmt.Errorf("%q sees alerts of another tenant's rule: %s", tenant, truncate(a.s.last.body))
	}
	return nil
}

func (a *alertSteps) stillHasTheRule(ctx context.Context, tenant, name string) error {
	ref, err := a.rule(name)
	if err != nil {
		return err
	}
	if ref.tenant != tenant {
		return fmt.Errorf("rule %q was created by %q, not %q", name, ref.tenant, tenant)
	}
	r, err := a.getRule(ctx, name)
	if err != nil {
		return err
	}
	if r.Name != name || r.Paused || r.CreatedAt == nil || r.UpdatedAt == nil || *r.CreatedAt != *r.UpdatedAt {
		return fmt.Errorf("rule %q after the other tenant's attempts: %s", name, truncate(a.s.last.body))
	}
	return nil
}
