package alerting

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/outage"
	"github.com/pulsemetrics/pulse/domain/rollup"
	"github.com/pulsemetrics/pulse/domain/token"
)

// Actor is who acts on rules: their tenant, and whether they may change
// rules (an admin token or an admin session) or only read them.
type Actor struct {
	TenantID int64
	Admin    bool
}

// Observer receives the evaluation metrics (pulse_alert_*); nil methods
// are not called.
type Observer interface {
	// Evaluated is one rule evaluation: its result (ok, error, conflict,
	// failed), how long it took, and how late it started after its due
	// time.
	Evaluated(result string, took, lag time.Duration)
	// Firing is the count of firing instances per tenant.
	Firing(byTenant map[int64]int)
}

// Options tune the use case. Zero fields take defaults.
type Options struct {
	// MinCadence is the shortest evaluation interval a rule may ask for
	// (PULSE_ALERT_MIN_CADENCE; default 10 s).
	MinCadence time.Duration
	// Steps are the rollup steps the deployment keeps (long windows read
	// them). Default rollup.DefaultSteps.
	Steps rollup.Steps
	// Holder names this scheduler replica in claims.
	Holder string
	// ClaimBatch is how many due rules one claim takes (default 2000);
	// Lease how long a claim is held before another replica may take the
	// rule over (default 30 s); Workers how many groups are evaluated at
	// once (default 4).
	ClaimBatch int
	Lease      time.Duration
	Workers    int
	Observer   Observer
	Logger     *slog.Logger
	// Channels, when set, refuses a rule naming a notification channel
	// its tenant does not have (422 on channels).
	Channels ChannelLookup
}

// Service is the alerting use case. It is safe for concurrent use.
type Service struct {
	rules   Rules
	sched   Schedule
	history History
	reader  Reader
	now     Clock
	policy  alert.Policy
	steps   rollup.Steps
	opts    Options
	log     *slog.Logger
}

// New returns the alerting use case.
func New(rules Rules, sched Schedule, history History, reader Reader, now Clock, opts Options) *Service {
	if opts.MinCadence <= 0 {
		opts.MinCadence = alert.DefaultMinCadence
	}
	if len(opts.Steps) == 0 {
		opts.Steps = rollup.DefaultSteps
	}
	if opts.ClaimBatch <= 0 {
		opts.ClaimBatch = 2000
	}
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Holder == "" {
		opts.Holder = "alerting"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Service{rules: rules, sched: sched, history: history, reader: reader, now: now,
		policy: alert.Policy{MinCadence: opts.MinCadence}, steps: opts.Steps, opts: opts, log: log}
}

// Policy is what rules are validated against.
func (s *Service) Policy() alert.Policy { return s.policy }

// storeErr keeps ErrNotFound and marks anything else as the database
// failing (503).
func storeErr(what string, err error) error {
	if err == nil || errors.Is(err, ErrNotFound) {
		return err
	}
	return fmt.Errorf("%s: %w", what, outage.Unavailable("database", err))
}

func (s *Service) nowMS() int64 { return s.now().UnixMilli() }

func requireAdmin(a Actor) error {
	if !a.Admin {
		return fmt.Errorf("change alert rules: %w", token.ErrForbidden)
	}
	return nil
}

// prepare normalizes and validates a rule for tenant a.
func (s *Service) prepare(ctx context.Context, a Actor, r alert.Rule) (alert.Rule, error) {
	r = r.Normalize()
	r.TenantID = a.TenantID
	if err := r.Validate(s.policy); err != nil {
		return alert.Rule{}, err
	}
	if s.opts.Channels == nil || len(r.Channels) == 0 {
		return r, nil
	}
	known, err := s.opts.Channels.ChannelsByID(ctx, a.TenantID, r.Channels)
	if err != nil {
		return alert.Rule{}, storeErr("look up notification channels", err)
	}
	for i, id := range r.Channels {
		if _, ok := known[id]; !ok {
			return alert.Rule{}, &alert.InvalidRuleError{Fields: alert.FieldErrors{fmt.Sprintf("channels[%d]", i): fmt.Sprintf("no notification channel %d in this tenant", id)}}
		}
	}
	return r, nil
}

// Create validates and stores a rule; its first evaluation is its first
// aligned time after now.
func (s *Service) Create(ctx context.Context, a Actor, r alert.Rule) (StoredRule, error) {
	if err := requireAdmin(a); err != nil {
		return StoredRule{}, err
	}
	r, err := s.prepare(ctx, a, r)
	if err != nil {
		return StoredRule{}, err
	}
	now := s.nowMS()
	// Stored due a cadence from now — later than its aligned time, which
	// depends on the id the insert gives it — so no scheduler claims it
	// before Reschedule puts it on that time.
	created, err := s.rules.CreateRule(ctx, r, now+r.Cadence.Milliseconds(), now)
	if err != nil {
		return StoredRule{}, storeErr("create alert rule", err)
	}
	if err := s.rules.Reschedule(ctx, a.TenantID, created.ID, alert.DueAfter(created.ID, r.Cadence, now)); err != nil {
		return StoredRule{}, storeErr("schedule alert rule", err)
	}
	return s.Get(ctx, a, created.ID)
}

// Update replaces a rule; it is next evaluated at its first aligned time
// after now (a claim held by a scheduler on the old version cannot
// commit). Instances and history stay.
func (s *Service) Update(ctx context.Context, a Actor, id int64, r alert.Rule) (StoredRule, error) {
	if err := requireAdmin(a); err != nil {
		return StoredRule{}, err
	}
	r, err := s.prepare(ctx, a, r)
	if err != nil {
		return StoredRule{}, err
	}
	r.ID = id
	now := s.nowMS()
	if err := s.rules.UpdateRule(ctx, r, alert.DueAfter(id, r.Cadence, now), now); err != nil {
		return StoredRule{}, storeErr("update alert rule", err)
	}
	return s.Get(ctx, a, id)
}

// Delete removes a rule and what its evaluations recorded.
func (s *Service) Delete(ctx context.Context, a Actor, id int64) error {
	if err := requireAdmin(a); err != nil {
		return err
	}
	return storeErr("delete alert rule", s.rules.DeleteRule(ctx, a.TenantID, id))
}

// Get answers one of the tenant's rules.
func (s *Service) Get(ctx context.Context, a Actor, id int64) (StoredRule, error) {
	r, err := s.rules.GetRule(ctx, a.TenantID, id)
	return r, storeErr("get alert rule", err)
}

// DefaultPerPage and MaxPerPage bound a page of rules.
const (
	DefaultPerPage = 25
	MaxPerPage     = 200
)

// List answers one page of the tenant's rules (page from 1).
func (s *Service) List(ctx context.Context, a Actor, page, perPage int) (RulePage, error) {
	if page < 1 {
		page = 1
	}
	if perPage <= 0 {
		perPage = DefaultPerPage
	}
	if perPage > MaxPerPage {
		return RulePage{}, fmt.Errorf("%w: per_page must be at most %d", ErrInvalid, MaxPerPage)
	}
	p, err := s.rules.ListRules(ctx, a.TenantID, page, perPage)
	return p, storeErr("list alert rules", err)
}

// SetPaused pauses a rule (the scheduler skips it) or resumes it (due at
// its next aligned time).
func (s *Service) SetPaused(ctx context.Context, a Actor, id int64, paused bool) (StoredRule, error) {
	if err := requireAdmin(a); err != nil {
		return StoredRule{}, err
	}
	cur, err := s.Get(ctx, a, id)
	if err != nil {
		return StoredRule{}, err
	}
	now := s.nowMS()
	if err := s.rules.SetPaused(ctx, a.TenantID, id, paused, alert.DueAfter(id, cur.Cadence, now), now); err != nil {
		return StoredRule{}, storeErr("pause alert rule", err)
	}
	return s.Get(ctx, a, id)
}

// Page limits of the history listings.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

func listLimit(n int) (int, error) {
	switch {
	case n == 0:
		return DefaultListLimit, nil
	case n < 0 || n > MaxListLimit:
		return 0, fmt.Errorf("%w: limit must be between 1 and %d", ErrInvalid, MaxListLimit)
	}
	return n, nil
}

// Instances lists the tenant's current alert instances.
func (s *Service) Instances(ctx context.Context, a Actor, f InstanceFilter) ([]InstanceRow, int64, error) {
	var err error
	if f.Limit, err = listLimit(f.Limit); err != nil {
		return nil, 0, err
	}
	if f.State != "" && !validState(f.State) {
		return nil, 0, fmt.Errorf("%w: state must be one of normal, pending, firing, recovering, nodata, error", ErrInvalid)
	}
	rows, next, err := s.history.ListInstances(ctx, a.TenantID, f)
	return rows, next, storeErr("list alerts", err)
}

func validState(st alert.State) bool {
	switch st {
	case alert.Normal, alert.Pending, alert.Firing, alert.Recovering, alert.NoData, alert.Error:
		return true
	}
	return false
}

// Transitions is a rule's history, newest first.
func (s *Service) Transitions(ctx context.Context, a Actor, ruleID, cursor int64, limit int) ([]HistoryEntry, int64, error) {
	if _, err := s.Get(ctx, a, ruleID); err != nil {
		return nil, 0, err
	}
	limit, err := listLimit(limit)
	if err != nil {
		return nil, 0, err
	}
	rows, next, err := s.history.Transitions(ctx, a.TenantID, ruleID, cursor, limit)
	return rows, next, storeErr("alert history", err)
}

// Episodes are a rule's firing episodes, newest first.
func (s *Service) Episodes(ctx context.Context, a Actor, ruleID, cursor int64, limit int) ([]Episode, int64, error) {
	if _, err := s.Get(ctx, a, ruleID); err != nil {
		return nil, 0, err
	}
	limit, err := listLimit(limit)
	if err != nil {
		return nil, 0, err
	}
	rows, next, err := s.history.Episodes(ctx, a.TenantID, ruleID, cursor, limit)
	return rows, next, storeErr("alert episodes", err)
}

// Outbox lists the tenant's outbox rows after afterID (what the
// notification issue will deliver).
func (s *Service) Outbox(ctx context.Context, a Actor, afterID int64, limit int) ([]OutboxRow, error) {
	limit, err := listLimit(limit)
	if err != nil {
		return nil, err
	}
	rows, err := s.history.Outbox(ctx, a.TenantID, afterID, limit)
	return rows, storeErr("alert outbox", err)
}

// maxFiringCount caps the nav's count (the badge then reads "1000+").
const maxFiringCount = MaxListLimit

// FiringCount counts the tenant's firing and recovering instances, up to
// 1000, for the dashboard's nav badge.
func (s *Service) FiringCount(ctx context.Context, tenantID int64) (int, error) {
	n := 0
	for _, st := range []alert.State{alert.Firing, alert.Recovering} {
		rows, _, err := s.history.ListInstances(ctx, tenantID, InstanceFilter{State: st, Limit: maxFiringCount})
		if err != nil {
			return 0, storeErr("count firing alerts", err)
		}
		n += len(rows)
	}
	return min(n, maxFiringCount), nil
}
