package notification

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/domain/token"
)

// Actor is who acts: their tenant, whether they may change channels and
// silences (an admin token or an admin session), and their name for a
// silence's creator.
type Actor struct {
	TenantID int64
	Admin    bool
	Name     string
}

func requireAdmin(a Actor, what string) error {
	if !a.Admin {
		return fmt.Errorf("%s: %w", what, token.ErrForbidden)
	}
	return nil
}

// Observer receives the dispatcher's metrics; nil means none.
type Observer interface {
	// Delivered is one attempt over a channel kind: its result (sent,
	// retry, dead) and how long the attempt took.
	Delivered(kind notify.Kind, result string, took time.Duration)
	// Latency is a sent notification's time from its transition to its
	// delivery.
	Latency(d time.Duration)
	// Depth is the backlog after a planner pass.
	Depth(d Depth)
}

// Options tune the use case. Zero fields take defaults.
type Options struct {
	// Holder names this process in leases and claims.
	Holder string
	// ExternalURL is Pulse's base URL for links in messages ("" none).
	ExternalURL string
	// NewWebhookSecret makes a webhook channel's signing secret (whsec_…).
	NewWebhookSecret func() (string, error)
	// PerMinute is the default budget per tenant and channel (10).
	PerMinute int
	// Batch is how many outbox rows or deliveries a planner pass takes
	// (2000); PerTenant how many of one tenant's (500).
	Batch     int
	PerTenant int
	// Senders is how many messages are sent at once (16); ClaimBatch how
	// many one claim takes (256), Lease how long a claim holds (60 s: past
	// the 10 s egress timeout and an SMTP session's 30 s).
	Senders    int
	ClaimBatch int
	Lease      time.Duration
	// PlannerLease is how long the planner's lease lasts (10 s): a planner
	// that dies is replaced within it.
	PlannerLease time.Duration
	Observer     Observer
	Logger       *slog.Logger
	// RuleExists, when set, answers alerting.ErrNotFound for a rule id
	// the tenant does not have: a silence may name only its own rules.
	RuleExists func(ctx context.Context, tenantID, ruleID int64) error
	// Mask shows a secret without revealing it (secretbox.Mask); default
	// "••••".
	Mask func(secret string) string
	// Jitter is a fraction in [0, 1) for the retry backoff (tests fix it).
	Jitter func() float64
}

// Service is the notification use case. It is safe for concurrent use.
type Service struct {
	store    Store
	channels Channels
	sealer   Sealer
	leases   Leases
	deliver  Deliverer
	now      Clock
	opts     Options
	log      *slog.Logger
}

// New returns the notification use case.
func New(store Store, channels Channels, sealer Sealer, leases Leases, deliver Deliverer, now Clock, opts Options) *Service {
	opts.PerMinute = orDefault(opts.PerMinute, notify.DefaultPerMinute)
	opts.Batch = orDefault(opts.Batch, 2000)
	opts.PerTenant = orDefault(opts.PerTenant, 500)
	opts.Senders = orDefault(opts.Senders, 16)
	opts.ClaimBatch = orDefault(opts.ClaimBatch, 256)
	if opts.Lease <= 0 {
		opts.Lease = time.Minute
	}
	if opts.PlannerLease <= 0 {
		opts.PlannerLease = 10 * time.Second
	}
	if opts.Mask == nil {
		opts.Mask = func(string) string { return "••••" }
	}
	if opts.Jitter == nil {
		opts.Jitter = rand.Float64
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Service{store: store, channels: channels, sealer: sealer, leases: leases, deliver: deliver, now: now, opts: opts, log: log}
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func (s *Service) nowMS() int64 { return s.now().UnixMilli() }
