package notifications

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/pulsemetrics/pulse/usecase/notification"
)

// The senders' side: claims under a lease, fairly across tenants, the
// claimed messages' items, and the attempts' outcomes.

// claimed is a message as claimed, with its due time to order the answer.
type claimed struct {
	notification.Claimed
	due int64
}

// ClaimMessages claims up to limit queued messages due at now that no
// live claim holds, at most perTenant of one tenant's, for holder until
// now+lease, with their items. The tenants are taken by their oldest due
// message and each one's messages oldest (next_attempt_at, id) first. On
// MariaDB each tenant's rows are read FOR UPDATE SKIP LOCKED, so that a
// concurrent claimer passes over them and takes the next ones; on SQLite
// the single writer serialises claimers.
func (s *Store) ClaimMessages(ctx context.Context, now int64, limit, perTenant int, holder string, lease time.Duration) ([]notification.Claimed, error) {
	if limit <= 0 || perTenant <= 0 {
		return nil, nil
	}
	var got []claimed
	err := s.db.Retry(ctx, func() error {
		got = nil
		return s.db.InReadCommittedTx(ctx, func(tx *sql.Tx) error {
			var err error
			if got, err = s.lockDue(ctx, tx, now, limit, perTenant); err != nil || len(got) == 0 {
				return err
			}
			ids := make([]int64, len(got))
			for i, c := range got {
				ids[i] = c.ID
			}
			list, args := in(ids)
			_, err = tx.ExecContext(ctx, "UPDATE notification_messages SET claim_until = ?, claimed_by = ? WHERE id IN "+list,
				append([]any{now + lease.Milliseconds(), holder}, args...)...)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("claim notification messages: %w", err)
	}
	slices.SortFunc(got, func(a, b claimed) int { return cmp.Or(cmp.Compare(a.due, b.due), cmp.Compare(a.ID, b.ID)) })
	out := make([]notification.Claimed, len(got))
	byID := make(map[int64]*notification.Claimed, len(got))
	ids := make([]int64, len(got))
	for i, c := range got {
		out[i] = c.Claimed
		byID[c.ID], ids[i] = &out[i], c.ID
	}
	// The items are read after the claim's commit: they do not change once
	// planned, and the locks are held no longer than the claim needs.
	err = s.items(ctx, "d.message_id IN ", ids, func(messageID int64, it notification.Item) {
		byID[messageID].Items = append(byID[messageID].Items, it)
	})
	if err != nil {
		return nil, fmt.Errorf("claim notification messages: items: %w", err)
	}
	return out, nil
}

// claimCols are the columns of a claimed message (lockDue).
const claimCols = "id, tenant_id, channel_id, rule_id, kind, attempts, first_attempt_at, created_at, next_attempt_at"

// lockDue reads, and on MariaDB locks, the messages ClaimMessages takes.
// Each tenant's read follows the index (status, tenant_id,
// next_attempt_at, id), so it stops at its LIMIT instead of sorting, and
// locking, every due message of the tenant.
func (s *Store) lockDue(ctx context.Context, tx *sql.Tx, now int64, limit, perTenant int) ([]claimed, error) {
	var tenants []int64
	rows, err := tx.QueryContext(ctx, "SELECT tenant_id FROM notification_messages WHERE status = ? AND next_attempt_at <= ? AND claim_until < ? "+
		"GROUP BY tenant_id ORDER BY MIN(next_attempt_at), tenant_id LIMIT ?", notification.StatusQueued, now, now, limit)
	if err != nil {
		return nil, fmt.Errorf("tenants: %w", err)
	}
	for rows.Next() {
		var t int64
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return nil, fmt.Errorf("tenants: %w", err)
		}
		tenants = append(tenants, t)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("tenants: %w", err)
	}
	var out []claimed
	for _, t := range tenants {
		if len(out) >= limit {
			break
		}
		rows, err := tx.QueryContext(ctx, "SELECT "+claimCols+" FROM notification_messages WHERE status = ? AND tenant_id = ? AND next_attempt_at <= ? "+
			"AND claim_until < ? ORDER BY next_attempt_at, id LIMIT ?"+s.db.Dialect.SkipLocked,
			notification.StatusQueued, t, now, now, min(perTenant, limit-len(out)))
		if err != nil {
			return nil, fmt.Errorf("tenant %d: %w", t, err)
		}
		for rows.Next() {
			var c claimed
			if err := rows.Scan(&c.ID, &c.TenantID, &c.ChannelID, &c.RuleID, &c.Kind, &c.Attempts, &c.FirstAttemptAt, &c.CreatedAt, &c.due); err != nil {
				rows.Close()
				return nil, fmt.Errorf("tenant %d: %w", t, err)
			}
			out = append(out, c)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("tenant %d: %w", t, err)
		}
	}
	return out, nil
}

// items reads the planned deliveries of the messages ids with their
// outbox rows' payloads, by message then delivery id; where names the
// messages' column and may scope it further (its arguments lead).
func (s *Store) items(ctx context.Context, where string, ids []int64, each func(messageID int64, it notification.Item), lead ...any) error {
	return chunks(ids, func(chunk []int64) error {
		list, args := in(chunk)
		rows, err := s.db.Read.QueryContext(ctx, "SELECT d.message_id, d.id, d.outbox_id, d.rule_id, d.kind, o.payload "+
			"FROM notification_deliveries d JOIN alert_outbox o ON o.id = d.outbox_id WHERE d.state = ? AND "+where+list+
			" ORDER BY d.message_id, d.id", slices.Concat([]any{notification.DeliveryPlanned}, lead, args)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				message int64
				it      notification.Item
				payload string
			)
			if err := rows.Scan(&message, &it.DeliveryID, &it.OutboxID, &it.RuleID, &it.Kind, &payload); err != nil {
				return err
			}
			it.Payload = []byte(payload)
			each(message, it)
		}
		return rows.Err()
	})
}

// Finish records the outcomes in one transaction. Each applies only while
// its holder still holds the message's claim (claimed_by) and the message
// is queued; it ends the claim and empties claimed_by, so that a repeated
// outcome, or a late one after another holder's claim, changes nothing.
func (s *Store) Finish(ctx context.Context, outcomes []notification.Outcome) error {
	type row struct {
		o      notification.Outcome
		err    string
		sentAt int64
	}
	var todo []row
	for _, o := range outcomes {
		if o.Holder == "" { // '' is an unclaimed message's claimed_by: it holds nothing
			continue
		}
		r := row{o: o, err: capError(o.LastError)}
		if o.Status == notification.StatusSent {
			r.sentAt = o.At
		}
		todo = append(todo, r)
	}
	if len(todo) == 0 {
		return nil
	}
	slices.SortFunc(todo, func(a, b row) int { return cmp.Compare(a.o.MessageID, b.o.MessageID) }) // one lock order
	err := s.db.Retry(ctx, func() error {
		return s.db.InReadCommittedTx(ctx, func(tx *sql.Tx) error {
			stmt, err := tx.PrepareContext(ctx, "UPDATE notification_messages SET status = ?, attempts = ?, first_attempt_at = ?, next_attempt_at = ?, "+
				"last_status = ?, last_error = ?, sent_at = ?, claim_until = 0, claimed_by = '' WHERE id = ? AND claimed_by = ? AND status = ?")
			if err != nil {
				return err
			}
			defer stmt.Close()
			for _, r := range todo {
				o := r.o
				if _, err := stmt.ExecContext(ctx, o.Status, o.Attempts, o.FirstAttempt, o.NextAttemptAt, o.LastStatus, r.err, r.sentAt,
					o.MessageID, o.Holder, notification.StatusQueued); err != nil {
					return fmt.Errorf("message %d: %w", o.MessageID, err)
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("finish %d notification messages: %w", len(todo), err)
	}
	return nil
}
