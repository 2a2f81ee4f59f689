package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
)

// Results of one evaluation (pulse_alert_evaluations_total{result}).
const (
	ResultOK       = "ok"       // evaluated and committed
	ResultError    = "error"    // the window read failed: instances went Error, committed
	ResultConflict = "conflict" // another replica committed this (rule, t) first, or the rule changed
	ResultFailed   = "failed"   // the commit itself failed; the claim lapses and the rule is retried
)

// Round is what one scheduler round did.
type Round struct {
	Claimed     int
	Results     map[string]int
	Transitions int
	Notified    int
}

func (r *Round) add(o outcome) {
	if r.Results == nil {
		r.Results = map[string]int{}
	}
	r.Results[o.result]++
	r.Transitions += o.transitions
	r.Notified += o.notified
}

type outcome struct {
	result                string
	transitions, notified int
}

// RunDue claims the rules due now and evaluates them: each at its due
// time, or at the latest due time when it is more than a cadence late
// (after downtime, once, with a note in the history). Rules that read the
// same data at the same time share one read. It loops while claims come
// back full.
func (s *Service) RunDue(ctx context.Context) (Round, error) {
	var round Round
	for {
		now := s.nowMS()
		claims, err := s.sched.ClaimDue(ctx, now, s.opts.ClaimBatch, s.opts.Holder, s.opts.Lease)
		if err != nil {
			return round, storeErr("claim due alert rules", err)
		}
		round.Claimed += len(claims)
		for _, o := range s.evaluateClaims(ctx, claims, now) {
			round.add(o)
		}
		if len(claims) < s.opts.ClaimBatch || ctx.Err() != nil {
			return round, ctx.Err()
		}
	}
}

// job is one evaluation to run: a claimed rule at time at.
type job struct {
	claim   Claim
	at      int64
	skipped int64
}

func readKey(j job) string {
	r := j.claim.Rule
	return fmt.Sprintf("%d\x00%s\x00%d\x00%d", r.TenantID, r.Metric, r.Window.Milliseconds(), j.at)
}

// evaluateClaims groups the claims by the data they read and evaluates
// the groups on the workers.
func (s *Service) evaluateClaims(ctx context.Context, claims []Claim, now int64) []outcome {
	groups := map[string][]job{}
	var order []string
	for _, c := range claims {
		at, skipped := alert.CatchUp(c.Rule.ID, c.Rule.Cadence, c.DueAt, now)
		j := job{claim: c, at: at, skipped: skipped}
		k := readKey(j)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], j)
	}
	var (
		mu   sync.Mutex
		out  []outcome
		wg   sync.WaitGroup
		work = make(chan []job, len(order))
	)
	for range min(s.opts.Workers, len(order)) {
		wg.Go(func() {
			for g := range work {
				res := s.evaluateGroup(ctx, g, now)
				mu.Lock()
				out = append(out, res...)
				mu.Unlock()
			}
		})
	}
	for _, k := range order {
		work <- groups[k]
	}
	close(work)
	wg.Wait()
	return out
}

// evaluateGroup reads the group's window once and evaluates each rule on
// it, then commits the group in one transaction.
func (s *Service) evaluateGroup(ctx context.Context, g []job, now int64) []outcome {
	first := g[0].claim.Rule
	w := windowRead{tenantID: first.TenantID, metric: first.Metric, start: g[0].at - first.Window.Milliseconds(), end: g[0].at}
	w.eq, w.in = groupFilter(g)
	for _, j := range g {
		w.needLast = w.needLast || j.claim.Rule.Agg == alert.AggLast
	}
	series, readErr := s.readWindows(ctx, w)
	if readErr != nil {
		s.log.Warn("alert window read failed", "tenant", first.TenantID, "metric", first.Metric, "rules", len(g), "err", readErr)
	}
	start := time.Now() // the metrics' durations; decisions use the Clock
	out := make([]outcome, len(g))
	ids := make([]int64, len(g))
	for i, j := range g {
		ids[i] = j.claim.Rule.ID
	}
	known, loadErr := s.sched.InstancesOf(ctx, first.TenantID, ids)
	if loadErr != nil {
		s.log.Warn("alert instances not loaded", "tenant", first.TenantID, "metric", first.Metric, "rules", len(g), "err", loadErr)
	}
	var (
		commits []Commit
		idx     []int
	)
	for i, j := range g {
		if loadErr != nil {
			out[i] = outcome{result: ResultFailed}
			continue
		}
		c, res, err := s.decide(j, known[j.claim.Rule.ID], series, readErr)
		if err != nil {
			out[i] = outcome{result: ResultFailed}
			s.log.Warn("alert evaluation not recorded", "rule", j.claim.Rule.ID, "tenant", first.TenantID, "at", j.at, "err", err)
			continue
		}
		out[i] = outcome{result: res, transitions: len(c.Transitions), notified: len(c.Outbox)}
		commits, idx = append(commits, c), append(idx, i)
	}
	if len(commits) > 0 {
		done, cerr := s.sched.CommitAll(ctx, commits)
		for k, i := range idx {
			switch {
			case cerr != nil:
				out[i] = outcome{result: ResultFailed}
			case !done[k]:
				out[i] = outcome{result: ResultConflict}
			}
		}
		if cerr != nil {
			s.log.Warn("alert evaluations not recorded", "tenant", first.TenantID, "metric", first.Metric, "rules", len(commits), "err", cerr)
		}
	}
	if o := s.opts.Observer; o != nil {
		took := time.Since(start) / time.Duration(len(g))
		for i, j := range g {
			o.Evaluated(out[i].result, took, time.Duration(now-j.claim.DueAt)*time.Millisecond)
		}
	}
	return out
}

// decide is the commit of one evaluation: the rule's instances after the
// state machine, its transitions and their outbox rows.
func (s *Service) decide(j job, known []alert.Instance, series []alert.SeriesWindow, readErr error) (Commit, string, error) {
	r := j.claim.Rule
	var ev alert.Evaluation
	res, lastErr := ResultOK, ""
	if readErr != nil {
		ev = alert.Fail(r, known, j.at)
		res, lastErr = ResultError, "the samples could not be read: "+readErr.Error()
	} else {
		ev = alert.Evaluate(r, known, r.GroupSeries(series), j.at)
	}
	c := Commit{
		TenantID: r.TenantID, RuleID: r.ID, DueAt: j.claim.DueAt, At: j.at,
		NextEvalAt: alert.DueAfter(r.ID, r.Cadence, j.at), Holder: s.opts.Holder,
		RuleState: ruleState(ev.Instances, readErr), LastError: lastErr,
		Instances: ev.Instances, Transitions: ev.Transitions,
	}
	if j.skipped > 0 {
		c.Note = fmt.Sprintf("evaluated at %s after downtime; %d due evaluation(s) since %s were skipped",
			formatMS(j.at), j.skipped, formatMS(j.claim.DueAt))
	}
	for _, t := range ev.Transitions {
		if t.Notify == alert.NotifyNone {
			continue
		}
		payload, err := json.Marshal(NewNotification(r, t))
		if err != nil {
			return Commit{}, "", fmt.Errorf("notification of rule %d: %w", r.ID, err)
		}
		c.Outbox = append(c.Outbox, OutboxEntry{Kind: t.Notify, InstanceKey: t.Key, At: t.At, Payload: payload})
	}
	return c, res, nil
}

func ruleState(instances []alert.Instance, readErr error) alert.State {
	if readErr != nil {
		return alert.Error
	}
	states := make([]alert.State, len(instances))
	for i, in := range instances {
		states[i] = in.State
	}
	return alert.Worst(states...)
}

func formatMS(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339) }

// Notification is an outbox row's payload: everything a notifier needs
// to tell people, rendered at the transition.
type Notification struct {
	RuleID      int64             `json:"rule_id"`
	TenantID    int64             `json:"tenant_id"`
	Rule        string            `json:"rule"`
	Kind        alert.Notify      `json:"kind"`
	State       alert.State       `json:"state"`
	Severity    alert.Severity    `json:"severity"`
	Instance    string            `json:"instance"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	Value       *float64          `json:"value"`
	Threshold   float64           `json:"threshold"`
	Condition   string            `json:"condition"`
	At          string            `json:"at"`
	FiredAt     string            `json:"fired_at,omitempty"`
	Channels    []int64           `json:"channels"`
}

// NewNotification renders a transition's notification: the rule's labels
// under the instance's, the annotations' templates on the value.
func NewNotification(r alert.Rule, t alert.Transition) Notification {
	labels := maps.Clone(r.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	instance := t.Labels.Map()
	maps.Copy(labels, instance)
	labels["alertname"] = r.Name
	n := Notification{
		RuleID: r.ID, TenantID: r.TenantID, Rule: r.Name, Kind: t.Notify, State: t.To, Severity: r.Severity,
		Instance: t.Key, Labels: labels, Annotations: r.RenderAll(instance, t.Value, t.To),
		Threshold: r.Threshold, At: formatMS(t.At), Channels: slices.Clone(r.Channels),
		Condition: strings.Join([]string{string(r.Agg), "(" + r.Metric + ")[" + r.Window.String() + "]", string(r.Op), fmt.Sprint(r.Threshold)}, " "),
	}
	if t.HasValue {
		v := t.Value
		n.Value = &v
	}
	if t.FiredAt != 0 {
		n.FiredAt = formatMS(t.FiredAt)
	}
	if n.Channels == nil {
		n.Channels = []int64{}
	}
	return n
}

// EvaluateRule evaluates one rule at at on demand (`pulse alerts eval
// --rule`), whatever its schedule, and records the result; its next due
// time does not move. A scheduler committing the same rule meanwhile wins
// and this answers ResultConflict.
func (s *Service) EvaluateRule(ctx context.Context, ruleID int64, at time.Time) (Round, error) {
	c, err := s.sched.RuleForEval(ctx, ruleID)
	if err != nil {
		return Round{}, storeErr("load alert rule", err)
	}
	j := job{claim: c, at: at.UnixMilli()}
	r := c.Rule
	w := windowRead{tenantID: r.TenantID, metric: r.Metric, eq: r.Matchers.Equalities(),
		start: j.at - r.Window.Milliseconds(), end: j.at, needLast: r.Agg == alert.AggLast}
	series, readErr := s.readWindows(ctx, w)
	known, err := s.sched.Instances(ctx, r.TenantID, r.ID)
	if err != nil {
		return Round{}, storeErr("load alert instances", err)
	}
	cm, res, err := s.decide(j, known, series, readErr)
	if err != nil {
		return Round{}, storeErr("evaluate alert rule", err)
	}
	cm.NextEvalAt = c.DueAt
	ok, err := s.sched.Commit(ctx, cm)
	if err != nil {
		return Round{}, storeErr("record alert evaluation", err)
	}
	if !ok {
		res = ResultConflict
	}
	var round Round
	round.Claimed = 1
	round.add(outcome{result: res, transitions: len(cm.Transitions), notified: len(cm.Outbox)})
	return round, nil
}

// groupFilter is what a group's read can narrow to: one rule's equality
// matchers; for several, the values of a tag key every rule matches with
// "=" (host=a, host=b … reads only those hosts' series), else nothing —
// each rule then matches the metric's series in memory.
func groupFilter(g []job) (eq map[string]string, in map[string][]string) {
	first := g[0].claim.Rule.Matchers.Equalities()
	if len(g) == 1 {
		return first, nil
	}
	keys := slices.Sorted(maps.Keys(first))
	for _, k := range keys {
		values := make([]string, 0, len(g))
		for _, j := range g {
			v, ok := j.claim.Rule.Matchers.Equalities()[k]
			if !ok {
				values = nil
				break
			}
			values = append(values, v)
		}
		if values != nil {
			slices.Sort(values)
			return nil, map[string][]string{k: slices.Compact(values)}
		}
	}
	return nil, nil
}
