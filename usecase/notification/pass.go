package notification

import (
	"context"
	"fmt"
	"time"
)

// PassReport counts what one planner pass did.
type PassReport struct {
	Expanded   int // outbox rows expanded
	Deliveries int // deliveries they made
	Skipped    int // resolved notices to channels that do not send them
	Dropped    int // notifications to deleted channels
	Messages   int // messages planned (digests and repeats included)
	Digests    int
	Repeats    int
	Held       int // deliveries held for a digest
	Silenced   int // deliveries a silence holds
	Released   int // deliveries a silence's end released
	Suppressed int // held notices moot when their silence ended
}

// plannerLease names the planner's lease: one planner at a time.
const plannerLease = "notification-planner"

// PlanOnce is one planner pass, if this process holds the planner's lease
// (ran false otherwise).
func (s *Service) PlanOnce(ctx context.Context) (rep PassReport, ran bool, err error) {
	ok, err := s.leases.AcquireLease(ctx, plannerLease, s.opts.Holder, s.opts.PlannerLease)
	if err != nil || !ok {
		return rep, false, err
	}
	rep, err = s.plan(ctx)
	return rep, true, err
}

// plan expands the outbox, then plans what is unplanned and what is due
// to repeat, committing the decisions in one transaction.
func (s *Service) plan(ctx context.Context) (PassReport, error) {
	var rep PassReport
	now := s.nowMS()
	if err := s.expand(ctx, now, &rep); err != nil {
		return rep, err
	}
	ds, err := s.store.Unplanned(ctx, s.opts.Batch, s.opts.PerTenant)
	if err != nil {
		return rep, err
	}
	repeats, err := s.store.DueRepeats(ctx, now, s.opts.Batch)
	if err != nil || len(ds)+len(repeats) == 0 {
		return rep, err
	}
	in := planInput{Now: now, Deliveries: ds, Repeats: repeats}
	ids := map[int64][]int64{}
	for _, d := range ds {
		ids[d.TenantID] = append(ids[d.TenantID], d.ChannelID)
	}
	for _, f := range repeats {
		ids[f.TenantID] = append(ids[f.TenantID], f.ChannelID)
	}
	tenants := make([]int64, 0, len(ids))
	for t := range ids {
		tenants = append(tenants, t)
	}
	if in.Channels, err = s.loadChannels(ctx, ids); err != nil {
		return rep, err
	}
	if in.Silences, err = s.store.ActiveSilences(ctx, tenants, now); err != nil {
		return rep, fmt.Errorf("load silences: %w", err)
	}
	limits, err := s.store.PerMinute(ctx, tenants)
	if err != nil {
		return rep, fmt.Errorf("load notification budgets: %w", err)
	}
	in.PerMinute = func(t int64) int {
		if n, ok := limits[t]; ok && n > 0 {
			return n
		}
		return s.opts.PerMinute
	}
	if in.Sent, err = s.store.SentSince(ctx, now-time.Minute.Milliseconds()); err != nil {
		return rep, fmt.Errorf("load the last minute's messages: %w", err)
	}
	queued, err := s.store.QueuedGroups(ctx, tenants)
	if err != nil {
		return rep, fmt.Errorf("load the queued messages: %w", err)
	}
	in.Queued = make(map[GroupKey]bool, len(queued))
	for _, k := range queued {
		in.Queued[k] = true
	}
	plan, planned := buildPlan(in)
	addReport(&rep, planned)
	if len(plan.Messages) == 0 && len(plan.States) == 0 && len(plan.Fired) == 0 && len(plan.Resolved) == 0 {
		return rep, nil
	}
	if err := s.store.Commit(ctx, plan); err != nil {
		return rep, fmt.Errorf("commit the notification plan: %w", err)
	}
	return rep, nil
}

func addReport(to *PassReport, r PassReport) {
	to.Dropped += r.Dropped
	to.Messages += r.Messages
	to.Digests += r.Digests
	to.Repeats += r.Repeats
	to.Held += r.Held
	to.Silenced += r.Silenced
	to.Released += r.Released
	to.Suppressed += r.Suppressed
}
