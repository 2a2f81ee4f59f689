package notifications

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// The planner's second stage: what it reads to plan (the budget spent,
// the repeats due) and the plan's commit.

// SentSince is, per (tenant, channel), the not_before of the messages
// whose not_before is at or after since, ascending. not_before is set
// once, at creation: a retry moves next_attempt_at, never the budget.
func (s *Store) SentSince(ctx context.Context, since int64) ([]notification.Sent, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT tenant_id, channel_id, not_before FROM notification_messages WHERE not_before >= ? "+
		"ORDER BY tenant_id, channel_id, not_before", since)
	if err != nil {
		return nil, fmt.Errorf("notifications sent since %d: %w", since, err)
	}
	defer rows.Close()
	var out []notification.Sent
	for rows.Next() {
		var tenant, channel, at int64
		if err := rows.Scan(&tenant, &channel, &at); err != nil {
			return nil, fmt.Errorf("notifications sent since %d: %w", since, err)
		}
		if n := len(out); n == 0 || out[n-1].TenantID != tenant || out[n-1].ChannelID != channel {
			out = append(out, notification.Sent{TenantID: tenant, ChannelID: channel})
		}
		out[len(out)-1].At = append(out[len(out)-1].At, at)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notifications sent since %d: %w", since, err)
	}
	return out, nil
}

// DueRepeats is up to limit firing records sent at or before now minus
// their channel's repeat_interval, oldest first, each with its latest
// outbox row's payload; a record whose channel is gone (deleted) is not
// due. No interval is below notify.MinRepeatInterval, which bounds the
// index range read.
func (s *Store) DueRepeats(ctx context.Context, now int64, limit int) ([]notification.Firing, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.db.Read.QueryContext(ctx, "SELECT f.tenant_id, f.channel_id, f.rule_id, f.instance_key, f.outbox_id, f.last_sent_at, o.payload "+
		"FROM notification_firing f JOIN notification_channels c ON c.id = f.channel_id AND c.tenant_id = f.tenant_id "+
		"JOIN alert_outbox o ON o.id = f.outbox_id "+
		"WHERE f.last_sent_at <= ? AND f.last_sent_at <= ? - c.repeat_interval_ms "+
		"ORDER BY f.last_sent_at, f.channel_id, f.rule_id, f.key_hash LIMIT ?",
		now-notify.MinRepeatInterval.Milliseconds(), now, limit)
	if err != nil {
		return nil, fmt.Errorf("due notification repeats: %w", err)
	}
	defer rows.Close()
	var out []notification.Firing
	for rows.Next() {
		var (
			f       notification.Firing
			payload string
		)
		if err := rows.Scan(&f.TenantID, &f.ChannelID, &f.RuleID, &f.InstanceKey, &f.OutboxID, &f.LastSentAt, &payload); err != nil {
			return nil, fmt.Errorf("due notification repeats: %w", err)
		}
		f.Payload = []byte(payload)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("due notification repeats: %w", err)
	}
	return out, nil
}

// Commit writes a plan in one transaction: each message with its
// deliveries (those it carries become planned, a repeat gets a new planned
// delivery copied from its outbox row), the other deliveries' new states,
// then the repeat schedule (Fired upserted, then Resolved forgotten).
func (s *Store) Commit(ctx context.Context, p notification.Plan) error {
	for _, m := range p.Messages {
		if err := sqldb.RequireTenant("commit notification plan", m.TenantID); err != nil {
			return err
		}
	}
	byState := map[string][]int64{}
	for id, st := range p.States {
		byState[st] = append(byState[st], id)
	}
	states := make([]string, 0, len(byState))
	for st, ids := range byState {
		slices.Sort(ids) // the same lock order on every run
		states = append(states, st)
	}
	slices.Sort(states)
	fired := make([][]any, len(p.Fired))
	for i, f := range p.Fired {
		fired[i] = []any{f.TenantID, f.ChannelID, f.RuleID, keyHash(f.InstanceKey), f.InstanceKey, f.OutboxID, f.LastSentAt}
	}
	err := s.db.Retry(ctx, func() error {
		return s.db.InReadCommittedTx(ctx, func(tx *sql.Tx) error {
			for i, m := range p.Messages {
				if err := s.insertMessage(ctx, tx, p.Now, m); err != nil {
					return fmt.Errorf("message %d (channel %d): %w", i, m.ChannelID, err)
				}
			}
			for _, st := range states {
				err := chunks(byState[st], func(chunk []int64) error {
					list, args := in(chunk)
					_, err := tx.ExecContext(ctx, "UPDATE notification_deliveries SET state = ? WHERE id IN "+list, append([]any{st}, args...)...)
					return err
				})
				if err != nil {
					return fmt.Errorf("deliveries to %s: %w", st, err)
				}
			}
			if len(fired) > 0 {
				if err := insertRows(ctx, tx, "INSERT INTO notification_firing (tenant_id, channel_id, rule_id, key_hash, instance_key, outbox_id, last_sent_at) VALUES ",
					fired, s.upsertFiring); err != nil {
					return fmt.Errorf("fired: %w", err)
				}
			}
			for _, k := range p.Resolved {
				if _, err := tx.ExecContext(ctx, "DELETE FROM notification_firing WHERE channel_id = ? AND rule_id = ? AND key_hash = ?",
					k.ChannelID, k.RuleID, keyHash(k.InstanceKey)); err != nil {
					return fmt.Errorf("resolved: %w", err)
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("commit notification plan of %d messages: %w", len(p.Messages), err)
	}
	return nil
}

// insertMessage inserts one queued message, binds its deliveries to it and
// makes its repeats' deliveries. Both name the message's tenant: a plan
// never moves another tenant's rows into a message.
func (s *Store) insertMessage(ctx context.Context, tx *sql.Tx, now int64, m notification.NewMessage) error {
	res, err := tx.ExecContext(ctx, "INSERT INTO notification_messages (tenant_id, channel_id, rule_id, kind, status, items, next_attempt_at, not_before, "+
		"last_error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?)",
		m.TenantID, m.ChannelID, m.RuleID, m.Kind, notification.StatusQueued, len(m.Deliveries)+len(m.Repeats), m.NotBefore, m.NotBefore, now)
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	err = chunks(m.Deliveries, func(chunk []int64) error {
		list, args := in(chunk)
		_, err := tx.ExecContext(ctx, "UPDATE notification_deliveries SET state = ?, message_id = ? WHERE tenant_id = ? AND id IN "+list,
			append([]any{notification.DeliveryPlanned, id, m.TenantID}, args...)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("deliveries: %w", err)
	}
	err = chunks(m.Repeats, func(chunk []int64) error {
		list, args := in(chunk)
		_, err := tx.ExecContext(ctx, "INSERT INTO notification_deliveries (tenant_id, channel_id, rule_id, outbox_id, kind, instance_key, state, message_id, created_at) "+
			"SELECT tenant_id, ?, rule_id, id, kind, instance_key, ?, ?, ? FROM alert_outbox WHERE tenant_id = ? AND id IN "+list,
			append([]any{m.ChannelID, notification.DeliveryPlanned, id, now, m.TenantID}, args...)...)
		return err
	})
	if err != nil {
		return fmt.Errorf("repeats: %w", err)
	}
	return nil
}
