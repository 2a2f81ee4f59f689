package features_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/pulsemetrics/pulse/usecase/alerting"
)

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
