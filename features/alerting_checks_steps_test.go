package features_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"
)

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
