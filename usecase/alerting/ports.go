// Package alerting is the alerting use case: rules (create, change,
// pause, list), their evaluation at a time t (one window read, the state
// machine of domain/alert per instance, then one transaction of instance
// states, transitions, episodes and outbox rows), the scheduler that claims
// due rules so that each (rule, t) is evaluated exactly once across
// replicas, and the preview of an unsaved rule over stored data.
package alerting

import (
	"context"
	"errors"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/notify"
)

//go:generate go tool mockgen -destination=mock_ports_test.go -package=alerting_test . Reader,Rules,Schedule,History

// ErrNotFound is wrapped when a rule is not the tenant's (or does not
// exist): a tenant never learns of another's rules (404).
var ErrNotFound = errors.New("alert rule not found")

// ErrInvalid is wrapped by errors about a malformed request other than the
// rule itself (a preview range, a cursor): 422.
var ErrInvalid = errors.New("invalid alerting request")

// Clock is the time (the use case never calls time.Now).
type Clock func() time.Time

// Reader reads stored points: the query use case's port
// (usecase/query.Reader), so an alert window reads raw samples and
// stitched rollups exactly as a chart does.
type Reader interface {
	ReadRaw(ctx context.Context, q metric.Query) (metric.Page, error)
	ReadRollupsAs(ctx context.Context, q metric.Query, base, step int64) (metric.Page, error)
}

// ChannelLookup finds a tenant's notification channels by id (the
// channels store): a rule may name only its own tenant's.
type ChannelLookup interface {
	ChannelsByID(ctx context.Context, tenantID int64, ids []int64) (map[int64]notify.Channel, error)
}

// StoredRule is a rule as stored, with what its evaluations left.
type StoredRule struct {
	alert.Rule
	State           alert.State // the worst instance, or error
	LastEvaluatedAt int64       // Unix ms; 0 never
	LastError       string
	NextEvalAt      int64 // Unix ms
	Firing          int   // instances firing or recovering
	CreatedAt       int64
	UpdatedAt       int64
}

// RulePage is one page of a tenant's rules, by id.
type RulePage struct {
	Rules   []StoredRule
	Page    int
	PerPage int
	Total   int
}

// Rules stores a tenant's rules. Every method is scoped to tenantID (the
// rule's TenantID for CreateRule/UpdateRule); another tenant's rule is
// ErrNotFound.
type Rules interface {
	// CreateRule stores r (ID ignored) due at nextEvalAt and answers it
	// with its id (nextEvalAt 0: due now). The use case stores it due a
	// cadence ahead, then calls Reschedule with the rule's aligned time
	// (the offset depends on the id).
	CreateRule(ctx context.Context, r alert.Rule, nextEvalAt, now int64) (alert.Rule, error)
	// UpdateRule replaces every field of rule r.ID and its next
	// evaluation time; its instances and history stay.
	UpdateRule(ctx context.Context, r alert.Rule, nextEvalAt, now int64) error
	// DeleteRule removes the rule, its instances, transitions and
	// episodes (outbox rows stay: they are the notifier's).
	DeleteRule(ctx context.Context, tenantID, id int64) error
	GetRule(ctx context.Context, tenantID, id int64) (StoredRule, error)
	ListRules(ctx context.Context, tenantID int64, page, perPage int) (RulePage, error)
	// SetPaused pauses or resumes the rule; a resumed rule is due at
	// nextEvalAt.
	SetPaused(ctx context.Context, tenantID, id int64, paused bool, nextEvalAt, now int64) error
	Reschedule(ctx context.Context, tenantID, id int64, nextEvalAt int64) error
}

// Claim is a due rule a scheduler replica took: it alone may commit the
// evaluation due at DueAt until the claim's lease ends.
type Claim struct {
	Rule  alert.Rule
	DueAt int64 // the rule's next_eval_at when claimed
}

// Commit is everything one evaluation writes, in one transaction.
type Commit struct {
	TenantID, RuleID int64
	// DueAt is the claimed next_eval_at: the commit applies only while the
	// rule is still due then (else another replica committed it first, or
	// the rule changed), so each (rule, t) is recorded once.
	DueAt      int64
	At         int64 // the evaluation time t
	NextEvalAt int64
	Holder     string
	RuleState  alert.State
	LastError  string
	// Instances are upserted by key (every instance the evaluation saw).
	Instances []alert.Instance
	// Transitions are appended to the history; one that Opens inserts an
	// episode (alerts row, fired_at = FiredAt), one that Closes sets the
	// open episode's resolved_at; every transition of an instance with an
	// open episode appends {ts, value} to its sample_values, and so does
	// every instance that stays in its firing episode (FiredAt set): an
	// episode keeps the value it fired with and its latest 499.
	Transitions []alert.Transition
	// Note is a rule-level history entry ("" for none): after downtime,
	// which due times were skipped.
	Note string
	// Outbox rows, one per transition that must notify.
	Outbox []OutboxEntry
}

// OutboxEntry is one notification to send (the notification issue's
// input): what happened, rendered, as JSON (Notification).
type OutboxEntry struct {
	Kind        alert.Notify
	InstanceKey string
	At          int64
	Payload     []byte
}

// Schedule is the scheduler's view of the store, across tenants (the
// tenant is carried by each claimed rule).
type Schedule interface {
	// ClaimDue claims up to limit unpaused rules due at or before now that
	// no live claim holds, oldest due first, for holder until now+lease;
	// concurrent callers never claim the same rule (row locks with SKIP
	// LOCKED on MariaDB, the single writer on SQLite).
	ClaimDue(ctx context.Context, now int64, limit int, holder string, lease time.Duration) ([]Claim, error)
	// RuleForEval loads any tenant's rule by id for an on-demand
	// evaluation, DueAt its current next_eval_at; ErrNotFound if none.
	RuleForEval(ctx context.Context, id int64) (Claim, error)
	// Instances are a rule's stored instances.
	Instances(ctx context.Context, tenantID, ruleID int64) ([]alert.Instance, error)
	// InstancesOf are the stored instances of several of a tenant's rules.
	InstancesOf(ctx context.Context, tenantID int64, ruleIDs []int64) (map[int64][]alert.Instance, error)
	// Commit writes c in one transaction; committed is false (and nothing
	// is written) when the rule is no longer due at c.DueAt.
	Commit(ctx context.Context, c Commit) (committed bool, err error)
	// CommitAll is Commit for several evaluations in one transaction;
	// committed[i] tells each.
	CommitAll(ctx context.Context, cs []Commit) (committed []bool, err error)
	// FiringByTenant counts firing and recovering instances per tenant.
	FiringByTenant(ctx context.Context) (map[int64]int, error)
}

// InstanceRow is an instance as listed, with its rule and current or
// latest episode.
type InstanceRow struct {
	ID       int64
	RuleID   int64
	RuleName string
	alert.Instance
	Episode *Episode
}

// Episode is one firing episode (an "alerts" row).
type Episode struct {
	ID           int64
	RuleID       int64
	InstanceKey  string
	Labels       metric.Tags
	FiredAt      int64
	ResolvedAt   int64 // 0 while open
	SampleValues []SampleValue
}

// SampleValue is one value an episode saw.
type SampleValue struct {
	TS    int64   `json:"ts"`
	Value float64 `json:"value"`
}

// HistoryEntry is one transition (or rule-level note) of a rule.
type HistoryEntry struct {
	ID          int64
	RuleID      int64
	InstanceKey string
	Labels      metric.Tags
	From, To    alert.State
	At          int64
	Value       float64
	HasValue    bool
	Note        string
}

// OutboxRow is a stored outbox entry.
type OutboxRow struct {
	ID       int64
	TenantID int64
	RuleID   int64
	OutboxEntry
	CreatedAt   int64
	DeliveredAt int64
}

// InstanceFilter selects listed instances; Cursor is the last ID of the
// previous page (0 from the start).
type InstanceFilter struct {
	State  alert.State // "" any
	RuleID int64       // 0 any
	Cursor int64
	Limit  int
}

// History reads what evaluations recorded, scoped to tenantID. Cursors are
// the last ID of the previous page (0 from the start); pages run newest
// first for transitions and episodes, by id for instances; next is 0 at
// the end.
type History interface {
	ListInstances(ctx context.Context, tenantID int64, f InstanceFilter) (rows []InstanceRow, next int64, err error)
	Transitions(ctx context.Context, tenantID, ruleID, cursor int64, limit int) (rows []HistoryEntry, next int64, err error)
	Episodes(ctx context.Context, tenantID, ruleID, cursor int64, limit int) (rows []Episode, next int64, err error)
	Outbox(ctx context.Context, tenantID, afterID int64, limit int) ([]OutboxRow, error)
}
