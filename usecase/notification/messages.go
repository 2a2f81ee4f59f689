package notification

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/notify"
)

// MaxPage bounds a listed page.
const MaxPage = 500

// ListMessages is the tenant's messages, newest first: what was sent,
// what waits for a retry and what is dead, with the last error.
func (s *Service) ListMessages(ctx context.Context, a Actor, f MessageFilter) ([]MessageRow, int64, error) {
	switch f.Status {
	case "", StatusQueued, StatusSent, StatusDead:
	default:
		return nil, 0, fmt.Errorf("%w: status must be one of queued, sent, dead", ErrInvalid)
	}
	if f.Cursor < 0 {
		return nil, 0, fmt.Errorf("%w: cursor must be a message id", ErrInvalid)
	}
	if f.Limit <= 0 || f.Limit > MaxPage {
		f.Limit = 100
	}
	return s.store.ListMessages(ctx, a.TenantID, f)
}

// MessageNotifications are what one of the tenant's messages carries.
func (s *Service) MessageNotifications(ctx context.Context, a Actor, id int64) ([]Notification, error) {
	items, err := s.store.MessageItems(ctx, a.TenantID, id)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("message %d: %w", id, notify.ErrMessageNotFound)
	}
	return decodeItems(items), nil
}

// Retry queues a dead message again, for an attempt now with a fresh
// retry window (after the receiver was fixed).
func (s *Service) Retry(ctx context.Context, a Actor, id int64) error {
	if err := requireAdmin(a, "retry a notification"); err != nil {
		return err
	}
	return s.store.Requeue(ctx, a.TenantID, id, s.nowMS())
}

// PerMinute is the tenant's budget per channel and minute.
func (s *Service) PerMinute(ctx context.Context, a Actor) (int, error) {
	m, err := s.store.PerMinute(ctx, []int64{a.TenantID})
	if err != nil {
		return 0, err
	}
	if n, ok := m[a.TenantID]; ok {
		return n, nil
	}
	return s.opts.PerMinute, nil
}

// MaxPerMinute bounds a tenant's override.
const MaxPerMinute = 10_000

// SetPerMinute overrides the tenant's budget (0: back to the default).
func (s *Service) SetPerMinute(ctx context.Context, a Actor, n int) error {
	if err := requireAdmin(a, "change the notification budget"); err != nil {
		return err
	}
	if n < 0 || n > MaxPerMinute {
		return fmt.Errorf("%w: per_minute must be between 0 (the default) and %d", ErrInvalid, MaxPerMinute)
	}
	return s.store.SetPerMinute(ctx, a.TenantID, n)
}

// decodeItems turns stored payloads into notifications; one that does not
// decode (never written so) still counts, named by its rule.
func decodeItems(items []Item) []Notification {
	out := make([]Notification, 0, len(items))
	for _, it := range items {
		var n Notification
		if err := json.Unmarshal(it.Payload, &n); err != nil {
			n = Notification{RuleID: it.RuleID, Rule: fmt.Sprintf("rule %d", it.RuleID), Kind: alert.Notify(it.Kind)}
		}
		out = append(out, n)
	}
	return out
}
