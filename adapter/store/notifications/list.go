package notifications

import (
	"context"
	"fmt"
	"strings"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// A tenant's messages as its API lists them, and the backlog's depth.

// ListMessages reads the tenant's messages newest first (by id), before
// f.Cursor when it is above 0. A limit of 0 or below reads defaultLimit
// rows, one above maxLimit reads maxLimit; next is the last id of the
// page, 0 when there is no more.
func (s *Store) ListMessages(ctx context.Context, tenantID int64, f notification.MessageFilter) ([]notification.MessageRow, int64, error) {
	if err := sqldb.RequireTenant("list notification messages", tenantID); err != nil {
		return nil, 0, err
	}
	limit := clampLimit(f.Limit)
	where, args := []string{"tenant_id = ?"}, []any{tenantID}
	if f.Cursor > 0 {
		where, args = append(where, "id < ?"), append(args, f.Cursor)
	}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.ChannelID != 0 {
		where, args = append(where, "channel_id = ?"), append(args, f.ChannelID)
	}
	if f.RuleID != 0 {
		where, args = append(where, "rule_id = ?"), append(args, f.RuleID)
	}
	rows, err := s.db.Read.QueryContext(ctx, "SELECT id, tenant_id, channel_id, rule_id, kind, status, items, attempts, next_attempt_at, last_status, "+
		"last_error, created_at, sent_at FROM notification_messages WHERE "+strings.Join(where, " AND ")+" ORDER BY id DESC LIMIT ?",
		append(args, limit+1)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list notification messages tenant=%d: %w", tenantID, err)
	}
	defer rows.Close()
	out := []notification.MessageRow{}
	for rows.Next() {
		var m notification.MessageRow
		if err := rows.Scan(&m.ID, &m.TenantID, &m.ChannelID, &m.RuleID, &m.Kind, &m.Status, &m.Items, &m.Attempts, &m.NextAttemptAt,
			&m.LastStatus, &m.LastError, &m.CreatedAt, &m.SentAt); err != nil {
			return nil, 0, fmt.Errorf("list notification messages tenant=%d: %w", tenantID, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list notification messages tenant=%d: %w", tenantID, err)
	}
	out, next := page(out, limit, func(m notification.MessageRow) int64 { return m.ID })
	return out, next, nil
}

// MessageItems are the notifications of one of the tenant's messages, by
// delivery id; nil for an unknown message or another tenant's.
func (s *Store) MessageItems(ctx context.Context, tenantID, messageID int64) ([]notification.Item, error) {
	if err := sqldb.RequireTenant("notification message items", tenantID); err != nil {
		return nil, err
	}
	var out []notification.Item
	err := s.items(ctx, "d.tenant_id = ? AND d.message_id IN ", []int64{messageID}, func(_ int64, it notification.Item) {
		out = append(out, it)
	}, tenantID)
	if err != nil {
		return nil, fmt.Errorf("notification message items tenant=%d id=%d: %w", tenantID, messageID, err)
	}
	return out, nil
}

// Requeue makes the tenant's dead message queued for an attempt at now
// with a fresh retry window (no attempts yet), keeping its last error to
// show; notify.ErrMessageNotFound if it is not a dead message of the
// tenant.
func (s *Store) Requeue(ctx context.Context, tenantID, messageID, now int64) error {
	if err := sqldb.RequireTenant("requeue notification message", tenantID); err != nil {
		return err
	}
	// The status always changes, so MariaDB's changed-rows count is the
	// matched rows here.
	res, err := s.db.Write.ExecContext(ctx, "UPDATE notification_messages SET status = ?, attempts = 0, first_attempt_at = 0, next_attempt_at = ?, "+
		"claim_until = 0, claimed_by = '' WHERE id = ? AND tenant_id = ? AND status = ?",
		notification.StatusQueued, now, messageID, tenantID, notification.StatusDead)
	if err != nil {
		return fmt.Errorf("requeue notification message tenant=%d id=%d: %w", tenantID, messageID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("requeue notification message tenant=%d id=%d: %w", tenantID, messageID, err)
	}
	if n == 0 {
		return fmt.Errorf("requeue notification message tenant=%d id=%d: %w", tenantID, messageID, notify.ErrMessageNotFound)
	}
	return nil
}

// Depth counts the backlog: outbox rows not expanded, deliveries not
// planned, messages queued (each an index range).
func (s *Store) Depth(ctx context.Context) (notification.Depth, error) {
	var d notification.Depth
	counts := []struct {
		n    *int
		q    string
		args []any
	}{
		{&d.Outbox, "SELECT COUNT(*) FROM alert_outbox WHERE delivered_at IS NULL", nil},
		{&d.Deliveries, "SELECT COUNT(*) FROM notification_deliveries WHERE state IN " + placeholders(len(unplannedStates), 1), stateArgs(unplannedStates)},
		{&d.Queued, "SELECT COUNT(*) FROM notification_messages WHERE status = ?", []any{notification.StatusQueued}},
	}
	for _, c := range counts {
		if err := s.db.Read.QueryRowContext(ctx, c.q, c.args...).Scan(c.n); err != nil {
			return notification.Depth{}, fmt.Errorf("notification depth: %w", err)
		}
	}
	return d, nil
}

// QueuedGroups are the distinct (tenant, channel, rule) of the tenants'
// queued messages (the claim index's (status, tenant_id) prefix).
func (s *Store) QueuedGroups(ctx context.Context, tenantIDs []int64) ([]notification.GroupKey, error) {
	var out []notification.GroupKey
	err := chunks(tenantIDs, func(chunk []int64) error {
		list, args := in(chunk)
		rows, err := s.db.Read.QueryContext(ctx, "SELECT DISTINCT tenant_id, channel_id, rule_id FROM notification_messages WHERE status = ? AND tenant_id IN "+list,
			append([]any{notification.StatusQueued}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k notification.GroupKey
			if err := rows.Scan(&k.TenantID, &k.ChannelID, &k.RuleID); err != nil {
				return err
			}
			out = append(out, k)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("queued notification groups: %w", err)
	}
	return out, nil
}
