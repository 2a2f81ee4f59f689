package features_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/cucumber/godog"
	"github.com/go-sql-driver/mysql"

	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
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
	svc := wiring.ProvideAlerting(cfg, srv.store.Alerts, srv.store.Samples, srv.store.Channels, slog.New(slog.DiscardHandler), srv.clock.Now, "features-scheduler")
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
