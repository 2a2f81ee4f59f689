package features_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"

	notifstore "github.com/pulsemetrics/pulse/adapter/store/notifications"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// Steps of notifications.feature: a scenario's own server on a fake clock
// (as alerting.feature's) with webhook receivers it may call, and the
// notification dispatcher of that server (the planner and the senders
// `pulse serve` runs, on its database and clock) driven by the steps: after
// each move of the clock they run it until it has nothing left to do at
// the clock's time, as its loops would within a tick.

// notifySteps is the notification state of one scenario.
type notifySteps struct {
	a *alertSteps
	s *scenario
	// receivers by name; "" is the one the server may call.
	receivers map[string]*webhookReceiver
	// channels are the scenario's channels by name.
	channels map[string]channelRef
	// dispatcher is the server's notification use case; nil until the
	// scenario starts its server with a receiver.
	dispatcher *notification.Service
	// series counts the samples posted per series.
	series map[seriesKey]*seriesCount
	// picked are the messages the last "holds exactly" step matched.
	picked []signedMessage
	// test is the last channel test's answer.
	test answer
}

type channelRef struct {
	id     int64
	tenant string
	secret string // shown once, at creation
}

type seriesKey struct{ tenant, metric, host string }

type seriesCount struct{ accepted, stored int }

func newNotifySteps(a *alertSteps) *notifySteps {
	return &notifySteps{a: a, s: a.s, receivers: map[string]*webhookReceiver{}, channels: map[string]channelRef{},
		series: map[seriesKey]*seriesCount{}}
}

func (n *notifySteps) register(sc *godog.ScenarioContext) {
	sc.Step(`^a server of its own on a fake clock, with PULSE_ALERT_MIN_CADENCE (\S+), and a webhook receiver it may call$`, n.serverWithReceiver)
	sc.Step(`^a webhook receiver "([^"]*)" on 127\.0\.0\.1, one the server may not call$`, n.anotherReceiver)
	sc.Step(`^the receiver answers (.+)$`, n.theReceiverAnswers)
	sc.Step(`^for (\d+) seconds? "([^"]*)" of hosts? (.+) reports? (\S+) each second$`, n.hostsReport)
	sc.Step(`^for (\d+) seconds? these report each second:$`, n.theseReport)
	sc.Step(`^the clock moves on (\d+) seconds?$`, n.theClockMovesOn)
	sc.Step(`^(\d+) samples of "([^"]*)" of host "([^"]*)" were accepted and (\d+) stored$`, n.samplesCounted)
	n.registerAPI(sc)
	n.registerChecks(sc)
	sc.After(func(ctx context.Context, _ *godog.Scenario, _ error) (context.Context, error) {
		for _, r := range n.receivers {
			r.close()
		}
		return ctx, nil
	})
}

// ---- the server, its dispatcher and the receivers ----

// serverWithReceiver starts a webhook receiver, then the scenario's own
// server on a fake clock as alerting.feature's (in distributed mode on a
// database of its own) allowed to call it, and builds the server's
// notification dispatcher.
func (n *notifySteps) serverWithReceiver(minCadence string) error {
	r := startReceiver()
	n.receivers[""] = r
	extra := map[string]string{"PULSE_ALERT_MIN_CADENCE": minCadence, "PULSE_NOTIFY_ALLOW_HOSTS": r.hostPort(),
		"PULSE_SECRET_KEY": testSecretKey}
	var drop func()
	if n.s.srv.env["PULSE_DATABASE_URL"] != "" {
		u, d, err := freshMariaDB()
		if err != nil {
			return err
		}
		extra["PULSE_DATABASE_URL"], drop = u, d
	}
	if err := n.s.launchOwnClock(extra, false, newFakeClock()); err != nil {
		if drop != nil {
			drop()
		}
		return err
	}
	srv := n.s.own
	if drop != nil {
		stop := srv.stop
		srv.stop = func() error { err := stop(); drop(); return err }
	}
	cfg, err := parseConfig(srv.env)
	if err != nil {
		return err
	}
	log := slog.New(slog.DiscardHandler)
	box, err := wiring.ProvideSealer(cfg, log)
	if err != nil {
		return err
	}
	d, err := wiring.ProvideDeliverer(cfg)
	if err != nil {
		return err
	}
	n.dispatcher = wiring.ProvideNotifications(cfg, notifstore.New(srv.store.DB), srv.store.Channels, box, srv.store.Leases, d, srv.store.Alerts,
		wiring.ProvideRegistry("features-notify"), log, srv.clock.Now, "features-notify")
	return nil
}

func (n *notifySteps) anotherReceiver(name string) error {
	if _, ok := n.receivers[name]; ok || name == "" {
		return fmt.Errorf("receiver %q already runs", name)
	}
	n.receivers[name] = startReceiver()
	return nil
}

func (n *notifySteps) receiver(name string) (*webhookReceiver, error) {
	r, ok := n.receivers[name]
	if !ok {
		return nil, fmt.Errorf("no webhook receiver %q in this scenario", name)
	}
	return r, nil
}

func (n *notifySteps) theReceiverAnswers(text string) error {
	r, err := n.receiver("")
	if err != nil {
		return err
	}
	script, err := n.parseScript(text)
	if err != nil {
		return err
	}
	r.answer(script)
	return nil
}

// dispatch runs the planner and the senders until a round finds nothing
// to do at the clock's time.
func (n *notifySteps) dispatch(ctx context.Context) error {
	if n.dispatcher == nil {
		return errors.New(`start "a server of its own on a fake clock, with PULSE_ALERT_MIN_CADENCE 1s, and a webhook receiver it may call" first`)
	}
	for range 50 {
		rep, ran, err := n.dispatcher.PlanOnce(ctx)
		if err != nil {
			return fmt.Errorf("notification planner pass: %w", err)
		}
		if !ran {
			return errors.New("the notification planner's lease is held by another process")
		}
		sent, err := n.dispatcher.SendOnce(ctx)
		if err != nil {
			return fmt.Errorf("notification send round: %w", err)
		}
		if sent == 0 && rep.Expanded+rep.Messages+rep.Held+rep.Silenced+rep.Released+rep.Suppressed+rep.Dropped == 0 {
			return nil
		}
	}
	return errors.New("the notification dispatcher still found work after 50 rounds at one instant")
}

// ---- samples and the clock ----

type reporting struct {
	seriesKey
	value string
}

var quotedRE = regexp.MustCompile(`"([^"]*)"`)

func (n *notifySteps) hostsReport(ctx context.Context, seconds int, metricName, hosts, value string) error {
	var rs []reporting
	for _, m := range quotedRE.FindAllStringSubmatch(hosts, -1) {
		rs = append(rs, reporting{seriesKey{"", metricName, m[1]}, value})
	}
	if len(rs) == 0 {
		return fmt.Errorf(`hosts %s: want "a", "b" and "c"`, hosts)
	}
	return n.report(ctx, seconds, rs)
}

func (n *notifySteps) theseReport(ctx context.Context, seconds int, table *godog.Table) error {
	var rs []reporting
	for i, row := range table.Rows {
		if len(row.Cells) != 4 {
			return errors.New("rows are | tenant | metric | host | value |")
		}
		if i > 0 {
			rs = append(rs, reporting{seriesKey{row.Cells[0].Value, row.Cells[1].Value, row.Cells[2].Value}, row.Cells[3].Value})
		}
	}
	return n.report(ctx, seconds, rs)
}

// report runs seconds seconds. Each posts that second's samples of every
// series as alerting.feature's steps do (one without ts, ten dense ones
// and a repeat of the first one's millisecond, that request twice: 23
// accepted, 11 distinct stored), waits until they are stored, moves the
// clock one second on, waits until the scheduler has evaluated every rule
// at the new second, and runs the dispatcher.
func (n *notifySteps) report(ctx context.Context, seconds int, rs []reporting) error {
	clock := n.s.srv.clock
	if clock == nil || n.a.evals == nil || n.dispatcher == nil {
		return errors.New(`start the scenario's server with a receiver and "its alert scheduler" first`)
	}
	for range seconds {
		now := clock.Now()
		for _, r := range rs {
			if _, err := strconv.ParseFloat(r.value, 64); err != nil {
				return fmt.Errorf("value %q is not a number", r.value)
			}
			sample := func(ts string) string {
				return fmt.Sprintf(`{"name":%q,"value":%s,"tags":{"host":%q}%s}`, r.metric, r.value, r.host, ts)
			}
			if err := n.postAccepted(ctx, r.tenant, sample(""), 1); err != nil {
				return err
			}
			parts := []string{sample(fmt.Sprintf(`,"ts":%d`, now.UnixMilli()))}
			for j := range 10 {
				ts := now.Add(-500*time.Millisecond + time.Duration(j)*10*time.Millisecond)
				parts = append(parts, sample(fmt.Sprintf(`,"ts":%d`, ts.UnixMilli())))
			}
			for range 2 {
				if err := n.postAccepted(ctx, r.tenant, "["+strings.Join(parts, ",")+"]", len(parts)); err != nil {
					return err
				}
			}
			c := n.count(r.seriesKey)
			c.accepted += 1 + 2*len(parts)
			c.stored += len(parts)
		}
		for _, r := range rs {
			if err := n.waitStored(ctx, r.seriesKey, n.count(r.seriesKey).stored); err != nil {
				return err
			}
		}
		if err := n.tick(ctx, time.Second); err != nil {
			return err
		}
	}
	return nil
}

func (n *notifySteps) theClockMovesOn(ctx context.Context, seconds int) error {
	if n.s.srv.clock == nil || n.a.evals == nil {
		return errors.New(`start the scenario's server and "its alert scheduler" first`)
	}
	return n.tick(ctx, time.Duration(seconds)*time.Second)
}

// tick moves the clock on, waits until the scheduler has evaluated every
// rule at the new time (once, however far the clock went: alert.CatchUp)
// and runs the dispatcher.
func (n *notifySteps) tick(ctx context.Context, d time.Duration) error {
	clock := n.s.srv.clock
	clock.Advance(d)
	if err := n.a.waitEvaluated(ctx, clock.Now()); err != nil {
		return err
	}
	return n.dispatch(ctx)
}

func (n *notifySteps) count(k seriesKey) *seriesCount {
	c, ok := n.series[k]
	if !ok {
		c = &seriesCount{}
		n.series[k] = c
	}
	return c
}

func (n *notifySteps) postAccepted(ctx context.Context, tenant, body string, want int) error {
	ans, err := n.s.post(ctx, tenant, []byte(body))
	if err != nil {
		return err
	}
	if err := expectStatus(ans, http.StatusAccepted); err != nil {
		return err
	}
	var acc struct {
		Accepted int `json:"accepted"`
	}
	if err := json.Unmarshal(ans.body, &acc); err != nil || acc.Accepted != want {
		return fmt.Errorf("202 accepted %d (%v), want %d: %s", acc.Accepted, err, want, truncate(ans.body))
	}
	return nil
}

// waitStored waits until the series holds want raw points, failing at
// once if it holds more: a repeat was stored.
func (n *notifySteps) waitStored(ctx context.Context, k seriesKey, want int) error {
	t, err := n.s.tenant(k.tenant)
	if err != nil {
		return err
	}
	q := url.Values{"name": {k.metric}, "interval": {"raw"}, "max_points": {"100000"}, "tag.host": {k.host},
		"start": {strconv.FormatInt(n.s.start.Add(-time.Hour).UnixMilli(), 10)},
		"end":   {strconv.FormatInt(n.s.srv.clock.Now().Add(time.Hour).UnixMilli(), 10)}}
	deadline := time.Now().Add(alertWaitBound)
	for {
		ans, err := n.s.do(ctx, http.MethodGet, "/api/metrics/query?"+q.Encode(), t.token, nil)
		if err != nil {
			return err
		}
		if err := expectStatus(ans, http.StatusOK); err != nil {
			return err
		}
		var qa queryAnswer
		if err := json.Unmarshal(ans.body, &qa); err != nil {
			return fmt.Errorf("query answer is not JSON: %v", err)
		}
		switch got := qa.points(); {
		case got > want:
			return fmt.Errorf("%s{host=%s} of %q holds %d points, more than the %d distinct samples posted: a repeat was stored", k.metric, k.host, k.tenant, got, want)
		case got == want:
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("%s{host=%s} of %q holds %d points after %s, want %d", k.metric, k.host, k.tenant, got, alertWaitBound, want)
		}
		time.Sleep(pollEvery)
	}
}

func (n *notifySteps) samplesCounted(ctx context.Context, accepted int, metricName, host string, stored int) error {
	k := seriesKey{"", metricName, host}
	c, ok := n.series[k]
	if !ok {
		return fmt.Errorf("no sample of %s{host=%s} was posted in this scenario", metricName, host)
	}
	if c.accepted != accepted || c.stored != stored {
		return fmt.Errorf("%s{host=%s}: %d samples accepted and %d stored, the feature says %d and %d", metricName, host, c.accepted, c.stored, accepted, stored)
	}
	return n.waitStored(ctx, k, stored) // and the server still holds exactly them
}
