package notifications

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/pulsemetrics/pulse/usecase/notification"
)

// The planner's first stage: the alerting outbox expanded into one
// delivery per channel, and the deliveries still to plan.

// PendingOutbox is up to limit unexpanded outbox rows, oldest first, at
// most perTenant of one tenant's (index ix_alert_outbox_pending_tenant).
func (s *Store) PendingOutbox(ctx context.Context, limit, perTenant int) ([]notification.OutboxItem, error) {
	ids, err := s.fairIDs(ctx, "alert_outbox", []part{{where: "delivered_at IS NULL"}}, limit, perTenant)
	if err != nil {
		return nil, fmt.Errorf("pending notification outbox: %w", err)
	}
	out := make([]notification.OutboxItem, 0, len(ids))
	err = chunks(ids, func(chunk []int64) error {
		list, args := in(chunk)
		rows, err := s.db.Read.QueryContext(ctx, "SELECT id, tenant_id, rule_id, kind, instance_key, at, payload FROM alert_outbox "+
			"WHERE delivered_at IS NULL AND id IN "+list+" ORDER BY id", args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				o       notification.OutboxItem
				payload string
			)
			if err := rows.Scan(&o.ID, &o.TenantID, &o.RuleID, &o.Kind, &o.InstanceKey, &o.At, &payload); err != nil {
				return err
			}
			o.Payload = []byte(payload)
			out = append(out, o)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("pending notification outbox: %w", err)
	}
	return out, nil
}

// Expand inserts the expansions' deliveries and marks their outbox rows
// expanded, in one transaction. The rows still unexpanded are read with a
// lock first, so that of two expanders (a planner whose lease lapsed) the
// second waits, then finds the rows taken and inserts nothing for them.
func (s *Store) Expand(ctx context.Context, now int64, es []notification.Expansion) error {
	if len(es) == 0 {
		return nil
	}
	byID := make(map[int64]notification.Expansion, len(es))
	ids := make([]int64, 0, len(es))
	for _, e := range es {
		if _, dup := byID[e.Outbox.ID]; !dup {
			byID[e.Outbox.ID] = e
			ids = append(ids, e.Outbox.ID)
		}
	}
	err := s.db.Retry(ctx, func() error {
		return s.db.InReadCommittedTx(ctx, func(tx *sql.Tx) error {
			return chunks(ids, func(chunk []int64) error { return s.expandChunk(ctx, tx, now, chunk, byID) })
		})
	})
	if err != nil {
		return fmt.Errorf("expand %d notification outbox rows: %w", len(ids), err)
	}
	return nil
}

func (s *Store) expandChunk(ctx context.Context, tx *sql.Tx, now int64, chunk []int64, byID map[int64]notification.Expansion) error {
	list, args := in(chunk)
	rows, err := tx.QueryContext(ctx, "SELECT id FROM alert_outbox WHERE delivered_at IS NULL AND id IN "+list+" ORDER BY id"+s.db.Dialect.ForUpdate, args...)
	if err != nil {
		return fmt.Errorf("lock outbox: %w", err)
	}
	var pending []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("lock outbox: %w", err)
		}
		pending = append(pending, id)
	}
	err = rows.Err()
	rows.Close()
	if err != nil || len(pending) == 0 {
		return err
	}
	list, args = in(pending)
	if _, err := tx.ExecContext(ctx, "UPDATE alert_outbox SET delivered_at = ? WHERE id IN "+list, append([]any{now}, args...)...); err != nil {
		return fmt.Errorf("mark outbox: %w", err)
	}
	var inserts [][]any
	for _, id := range pending {
		o := byID[id].Outbox
		for _, d := range byID[id].Deliveries {
			inserts = append(inserts, []any{o.TenantID, d.ChannelID, o.RuleID, o.ID, o.Kind, o.InstanceKey, d.State, now})
		}
	}
	if len(inserts) == 0 {
		return nil
	}
	if err := insertRows(ctx, tx, "INSERT INTO notification_deliveries (tenant_id, channel_id, rule_id, outbox_id, kind, instance_key, state, created_at) VALUES ",
		inserts, ""); err != nil {
		return fmt.Errorf("deliveries: %w", err)
	}
	return nil
}

// Unplanned is up to limit deliveries in waiting, held or silenced state
// with their outbox rows' time and payload, oldest first, at most
// perTenant of one tenant's. Each state is read on its own, so that every
// read follows the index (state, tenant_id, id).
func (s *Store) Unplanned(ctx context.Context, limit, perTenant int) ([]notification.Delivery, error) {
	// Each state has its own share: a long silence holding many of a
	// tenant's deliveries must not keep its new ones from being read.
	var ids []int64
	for _, st := range unplannedStates {
		got, err := s.fairIDs(ctx, "notification_deliveries", []part{{where: "state = ?", args: []any{st}}}, limit, perTenant)
		if err != nil {
			return nil, fmt.Errorf("unplanned notification deliveries: %w", err)
		}
		ids = append(ids, got...)
	}
	slices.Sort(ids)
	out := make([]notification.Delivery, 0, len(ids))
	err := chunks(ids, func(chunk []int64) error {
		list, args := in(chunk)
		rows, err := s.db.Read.QueryContext(ctx, "SELECT d.id, d.outbox_id, d.tenant_id, d.rule_id, d.channel_id, d.kind, d.instance_key, o.at, d.state, "+
			"d.created_at, o.payload FROM notification_deliveries d JOIN alert_outbox o ON o.id = d.outbox_id "+
			"WHERE d.id IN "+list+" AND d.state IN "+placeholders(len(unplannedStates), 1)+" ORDER BY d.id",
			append(args, stateArgs(unplannedStates)...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				d       notification.Delivery
				payload string
			)
			if err := rows.Scan(&d.ID, &d.OutboxID, &d.TenantID, &d.RuleID, &d.ChannelID, &d.Kind, &d.InstanceKey, &d.At, &d.State,
				&d.CreatedAt, &payload); err != nil {
				return err
			}
			d.Payload = []byte(payload)
			out = append(out, d)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("unplanned notification deliveries: %w", err)
	}
	return out, nil
}

func stateArgs(states []string) []any {
	args := make([]any, len(states))
	for i, st := range states {
		args[i] = st
	}
	return args
}
