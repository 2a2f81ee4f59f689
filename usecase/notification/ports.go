// Package notification is the notification use case: a tenant's channels
// and silences, and the dispatcher that delivers the alerting outbox.
//
// Delivery runs in two stages. The planner (one process at a time, under
// a lease) expands each outbox row into one delivery per channel the rule
// names, groups a rule's deliveries per channel once the channel's
// group_wait has passed, holds what a silence mutes, spends the per-tenant
// and per-channel budget, folds what exceeds it into one digest, and
// schedules repeats of what is still firing; each pass commits in one
// transaction. Senders (any number, in any process) claim planned
// messages under a lease, fairly across tenants, send them, and record
// the outcome: sent, retried later with backoff, or dead. A message's id
// is its webhook-id, so a resend after a crash is one a receiver dedupes.
package notification

import (
	"context"
	"errors"
	"time"

	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

// Notification is what the alerting use case put in an outbox row.
type Notification = alerting.Notification

//go:generate go tool mockgen -destination=mock_ports_test.go -package=notification_test . Store,Channels,Deliverer,Leases,Sealer

// ErrInvalid is wrapped by errors about a malformed request (a cursor, a
// filter): 422.
var ErrInvalid = errors.New("invalid notification request")

// Clock is the time (the use case never calls time.Now).
type Clock func() time.Time

// Delivery states. A delivery is one outbox row bound for one channel.
const (
	DeliveryWaiting    = "waiting"    // in its group_wait, or ready to plan
	DeliveryHeld       = "held"       // over budget: goes out in the next digest
	DeliverySilenced   = "silenced"   // a silence mutes it; re-planned when none does
	DeliveryPlanned    = "planned"    // part of a message
	DeliverySkipped    = "skipped"    // a resolved notice to a channel that does not send them
	DeliverySuppressed = "suppressed" // muted while it happened and moot when the silence ended
)

// Message kinds.
const (
	MessageAlerts = "alerts" // a rule's grouped notifications
	MessageRepeat = "repeat" // a still-firing group, again after repeat_interval
	MessageDigest = "digest" // what flood protection held, folded
)

// Message statuses.
const (
	StatusQueued = "queued" // waiting for its next attempt
	StatusSent   = "sent"
	StatusDead   = "dead" // final failure, or the retry window passed
)

// OutboxItem is an alerting outbox row not yet expanded.
type OutboxItem struct {
	ID          int64
	TenantID    int64
	RuleID      int64
	Kind        string // firing, resolved or nodata
	InstanceKey string
	At          int64
	Payload     []byte // alerting.Notification as JSON
}

// NewDelivery is one delivery an expansion creates.
type NewDelivery struct {
	ChannelID int64
	State     string // waiting or skipped
}

// Expansion is one outbox row's deliveries: all are inserted, and the row
// marked expanded, in one transaction.
type Expansion struct {
	Outbox     OutboxItem
	Deliveries []NewDelivery
}

// Delivery is a stored delivery. CreatedAt starts its group_wait.
type Delivery struct {
	ID          int64
	OutboxID    int64
	TenantID    int64
	RuleID      int64
	ChannelID   int64
	Kind        string
	InstanceKey string
	At          int64
	State       string
	CreatedAt   int64
	Payload     []byte // the outbox row's
}

// NewMessage is a message a plan creates. Deliveries are the ids of the
// existing deliveries it carries (they become planned); Repeats are
// firing outbox rows it carries again (new planned deliveries are made
// for them). NotBefore is its first attempt's time.
type NewMessage struct {
	TenantID   int64
	ChannelID  int64
	RuleID     int64 // 0 for a digest
	Kind       string
	Deliveries []int64
	Repeats    []int64
	NotBefore  int64
}

// Firing is what a channel was last told of a still-firing instance: the
// repeat schedule.
type Firing struct {
	TenantID    int64
	ChannelID   int64
	RuleID      int64
	InstanceKey string
	OutboxID    int64 // the latest firing notification sent
	LastSentAt  int64
	// Payload is that outbox row's (DueRepeats joins it; Commit ignores
	// it), so a repeat is matched against silences by its labels.
	Payload []byte
}

// GroupKey names what one message is sent for: a rule (0: a digest) on a
// tenant's channel.
type GroupKey struct {
	TenantID  int64
	ChannelID int64
	RuleID    int64
}

// FiringKey names one instance on one channel.
type FiringKey struct {
	ChannelID   int64
	RuleID      int64
	InstanceKey string
}

// Plan is everything one planner pass writes, in one transaction.
type Plan struct {
	Now      int64
	Messages []NewMessage
	// States moves deliveries (by id) to held, silenced, skipped or
	// suppressed.
	States map[int64]string
	// Fired records firing notifications planned (upsert: LastSentAt,
	// OutboxID); Resolved forgets instances whose resolved notice was
	// planned (or that resolved while muted).
	Fired    []Firing
	Resolved []FiringKey
}

// Sent is a channel's recent messages, for its budget.
type Sent struct {
	TenantID  int64
	ChannelID int64
	At        []int64 // the messages' NotBefore, ascending
}

// Item is one notification a claimed message carries.
type Item struct {
	DeliveryID int64
	OutboxID   int64
	RuleID     int64
	Kind       string
	Payload    []byte
}

// Claimed is a message a sender holds until its lease ends.
type Claimed struct {
	ID             int64
	TenantID       int64
	ChannelID      int64
	RuleID         int64
	Kind           string
	Attempts       int   // before this one
	FirstAttemptAt int64 // 0 before the first
	CreatedAt      int64
	Items          []Item
}

// Outcome is what an attempt came to, recorded for a claimed message.
type Outcome struct {
	MessageID     int64
	Holder        string
	Status        string // sent, queued (retry at NextAttemptAt) or dead
	Attempts      int    // including this one
	FirstAttempt  int64
	NextAttemptAt int64
	At            int64 // the attempt's time
	LastStatus    int   // the receiver's HTTP status or SMTP code; 0 none
	LastError     string
}

// MessageRow is a message as listed.
type MessageRow struct {
	ID            int64
	TenantID      int64
	ChannelID     int64
	RuleID        int64
	Kind          string
	Status        string
	Items         int
	Attempts      int
	NextAttemptAt int64
	LastStatus    int
	LastError     string
	CreatedAt     int64
	SentAt        int64
}

// MessageFilter selects listed messages; Cursor is the last ID of the
// previous page (0 from the start), newest first.
type MessageFilter struct {
	Status    string // "" any
	ChannelID int64  // 0 any
	RuleID    int64  // 0 any
	Cursor    int64
	Limit     int
}

// Depth is the dispatcher's backlog.
type Depth struct {
	Outbox     int // outbox rows not expanded
	Deliveries int // waiting, held or silenced
	Queued     int // messages waiting for an attempt
}

// Store is the dispatcher's state. The planner methods are called by one
// planner at a time; ClaimMessages and Finish by any number of senders.
type Store interface {
	// PendingOutbox is up to limit unexpanded outbox rows, oldest first,
	// taking at most perTenant of any one tenant's rows while others wait
	// (fair: one tenant's backlog does not queue ahead of another's alert).
	PendingOutbox(ctx context.Context, limit, perTenant int) ([]OutboxItem, error)
	// Expand inserts each expansion's deliveries (CreatedAt now) and marks
	// its outbox row expanded (delivered_at now), in one transaction; a row
	// already expanded is skipped.
	Expand(ctx context.Context, now int64, es []Expansion) error
	// Unplanned is, for each of the waiting, held and silenced states, up
	// to limit deliveries in it with their outbox payloads, oldest first,
	// at most perTenant of one tenant's (so a long silence holding many
	// deliveries never hides a tenant's new ones).
	Unplanned(ctx context.Context, limit, perTenant int) ([]Delivery, error)
	// SentSince is, per (tenant, channel), the NotBefore times of messages
	// with NotBefore at or after since (every status).
	SentSince(ctx context.Context, since int64) ([]Sent, error)
	// DueRepeats is up to limit firing records whose LastSentAt is at or
	// before now minus their channel's repeat_interval, oldest first.
	DueRepeats(ctx context.Context, now int64, limit int) ([]Firing, error)
	// QueuedGroups are the (tenant, channel, rule) of the given tenants'
	// messages still queued — not yet sent nor dead, in flight included; a
	// digest's rule is 0. The planner plans no newer message for them, so a
	// channel hears a rule's notices in order (a resolved never overtakes
	// the firing a killed sender left to be sent again).
	QueuedGroups(ctx context.Context, tenantIDs []int64) ([]GroupKey, error)
	// Commit writes a plan in one transaction.
	Commit(ctx context.Context, p Plan) error

	// ClaimMessages claims up to limit queued messages whose next attempt
	// is due at now and that no live claim holds, at most perTenant per
	// tenant, oldest first, for holder until now+lease (SKIP LOCKED on
	// MariaDB), with their items.
	ClaimMessages(ctx context.Context, now int64, limit, perTenant int, holder string, lease time.Duration) ([]Claimed, error)
	// Finish records outcomes of messages holder claimed, in one
	// transaction; an outcome whose claim another holder took since is
	// ignored.
	Finish(ctx context.Context, outcomes []Outcome) error

	ListMessages(ctx context.Context, tenantID int64, f MessageFilter) (rows []MessageRow, next int64, err error)
	// MessageItems are the notifications of one of the tenant's messages.
	MessageItems(ctx context.Context, tenantID, messageID int64) ([]Item, error)
	// Requeue makes a dead message of the tenant queued for an attempt at
	// now with a fresh retry window; ErrNotFound if it is not dead.
	Requeue(ctx context.Context, tenantID, messageID, now int64) error
	Depth(ctx context.Context) (Depth, error)

	CreateSilence(ctx context.Context, s notify.Silence) (notify.Silence, error)
	// ListSilences is the tenant's silences, newest first; with active
	// only, those not ended at now.
	ListSilences(ctx context.Context, tenantID int64, activeOnly bool, now int64) ([]notify.Silence, error)
	// EndSilence sets the silence's end to now if it ends later.
	EndSilence(ctx context.Context, tenantID, id, now int64) error
	// ActiveSilences are the silences active at now of the given tenants.
	ActiveSilences(ctx context.Context, tenantIDs []int64, now int64) (map[int64][]notify.Silence, error)

	// PerMinute is the tenants' budget overrides (absent: the default).
	PerMinute(ctx context.Context, tenantIDs []int64) (map[int64]int, error)
	SetPerMinute(ctx context.Context, tenantID int64, perMinute int) error
}

// Channels are the tenant's channels with their sealed secrets
// (adapter/store/channels).
type Channels interface {
	CreateChannel(ctx context.Context, c notify.Channel, sealedSecret string, now int64) (notify.Channel, error)
	UpdateChannel(ctx context.Context, c notify.Channel, sealedSecret string, now int64) error
	DeleteChannel(ctx context.Context, tenantID, id int64) error
	GetChannel(ctx context.Context, tenantID, id int64) (notify.Channel, string, error)
	ListChannels(ctx context.Context, tenantID int64) ([]notify.Channel, error)
	ChannelsByID(ctx context.Context, tenantID int64, ids []int64) (map[int64]notify.Channel, error)
}

// Sealer encrypts a channel's secret at rest (adapter/notify/secretbox).
type Sealer interface {
	Seal(plaintext, aad []byte) (string, error)
	Open(sealed string, aad []byte) ([]byte, error)
}

// Leases elect the one planner.
type Leases interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Outgoing is one message to deliver, rendered by the Deliverer for the
// channel's kind.
type Outgoing struct {
	// ID is the message's stable id (the webhook-id): equal on every
	// attempt of one message.
	ID     string
	Kind   string // alerts, repeat, digest, or test
	Status string // firing or resolved: the group's
	// Notifications are what the message carries (every one, for a digest
	// too: a webhook receiver gets them all).
	Notifications []Notification
	Digest        *notify.Digest // set for a digest
	ExternalURL   string         // Pulse's base URL, for links
	TenantID      int64
}

// Result is what a Deliverer got back.
type Result struct {
	Delivered  bool
	Retryable  bool          // a transient failure: try again
	RetryAfter time.Duration // the receiver's, 0 none
	Status     int           // HTTP status or SMTP code, 0 none
	Answer     string        // the receiver's answer or the failure, for the UI; no secret
}

// Deliverer sends one message over a channel with its opened secret. An
// error is a failure without an answer: retried when the Result says
// Retryable (a network error, a timeout), final otherwise (a refused URL).
// A Result with Delivered false and no error is the receiver's answer.
type Deliverer interface {
	Deliver(ctx context.Context, ch notify.Channel, secret string, m Outgoing) (Result, error)
	// Check refuses what this deployment will not deliver to (a URL the
	// egress policy refuses, plain SMTP to a host not allowed): an
	// *notify.InvalidChannelError naming the field, or nil.
	Check(ch notify.Channel, secret string) error
}
