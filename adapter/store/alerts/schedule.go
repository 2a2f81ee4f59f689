package alerts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

// The scheduler's side (alerting.Schedule): claims across tenants, then per
// rule its instances and the commit of one evaluation (commit.go).

// ClaimDue claims up to limit unpaused rules due at or before now whose
// claim has ended, oldest due first, for holder until now+lease. On
// MariaDB the due rows are read FOR UPDATE SKIP LOCKED, so a concurrent
// claimer passes over them and takes the next ones; on SQLite the single
// writer serialises claimers.
func (s *Store) ClaimDue(ctx context.Context, now int64, limit int, holder string, lease time.Duration) ([]alerting.Claim, error) {
	if limit <= 0 {
		return nil, nil
	}
	var claims []alerting.Claim
	err := s.db.Retry(ctx, func() error {
		claims = nil
		return s.db.InReadCommittedTx(ctx, func(tx *sql.Tx) error {
			var err error
			if claims, err = s.dueRules(ctx, tx, now, limit); err != nil || len(claims) == 0 {
				return err
			}
			args := make([]any, 0, 2+len(claims))
			args = append(args, now+lease.Milliseconds(), holder)
			for _, c := range claims {
				args = append(args, c.Rule.ID)
			}
			_, err = tx.ExecContext(ctx, "UPDATE alert_rules SET claim_until = ?, claimed_by = ? WHERE id IN "+placeholders(len(claims), 1), args...)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("claim due alert rules: %w", err)
	}
	return claims, nil
}

// dueRules reads (and on MariaDB locks) the rules ClaimDue takes. The order
// is the index's (paused, next_eval_at, id), so the locking read stops at
// limit rows instead of sorting, and locking, every due one.
func (s *Store) dueRules(ctx context.Context, tx *sql.Tx, now int64, limit int) ([]alerting.Claim, error) {
	rows, err := tx.QueryContext(ctx, "SELECT "+ruleCols+" FROM alert_rules r WHERE r.paused = 0 AND r.next_eval_at <= ? AND r.claim_until < ? "+
		"ORDER BY r.next_eval_at, r.id LIMIT ?"+s.db.Dialect.SkipLocked, now, now, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var claims []alerting.Claim
	for rows.Next() {
		r, due, err := scanRule(rows)
		if err != nil {
			return nil, err
		}
		claims = append(claims, alerting.Claim{Rule: r, DueAt: due})
	}
	return claims, rows.Err()
}

// RuleForEval reads any tenant's rule by its id for an evaluation on
// demand (an operator's `pulse alerts eval --rule`), DueAt its current
// next_eval_at. It claims nothing: the conditional commit decides.
func (s *Store) RuleForEval(ctx context.Context, id int64) (alerting.Claim, error) {
	r, due, err := scanRule(s.db.Read.QueryRowContext(ctx, "SELECT "+ruleCols+" FROM alert_rules r WHERE r.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return alerting.Claim{}, fmt.Errorf("alert rule id=%d: %w", id, alerting.ErrNotFound)
	}
	if err != nil {
		return alerting.Claim{}, fmt.Errorf("alert rule id=%d: %w", id, err)
	}
	return alerting.Claim{Rule: r, DueAt: due}, nil
}

// Instances are the rule's stored instances, by id (the order they first
// appeared).
func (s *Store) Instances(ctx context.Context, tenantID, ruleID int64) ([]alert.Instance, error) {
	if err := sqldb.RequireTenant("alert instances", tenantID); err != nil {
		return nil, err
	}
	rows, err := s.db.Read.QueryContext(ctx, "SELECT "+instanceCols+" FROM alert_instances i WHERE i.tenant_id = ? AND i.rule_id = ? ORDER BY i.id",
		tenantID, ruleID)
	if err != nil {
		return nil, fmt.Errorf("alert instances tenant=%d rule=%d: %w", tenantID, ruleID, err)
	}
	defer rows.Close()
	out := []alert.Instance{}
	for rows.Next() {
		in, err := scanInstance(rows, nil)
		if err != nil {
			return nil, fmt.Errorf("alert instances tenant=%d rule=%d: %w", tenantID, ruleID, err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alert instances tenant=%d rule=%d: %w", tenantID, ruleID, err)
	}
	return out, nil
}

// InstancesOf are the stored instances of several of a tenant's rules, by
// rule id (one query for a group of rules evaluated together).
func (s *Store) InstancesOf(ctx context.Context, tenantID int64, ruleIDs []int64) (map[int64][]alert.Instance, error) {
	if err := sqldb.RequireTenant("alert instances", tenantID); err != nil {
		return nil, err
	}
	out := make(map[int64][]alert.Instance, len(ruleIDs))
	for start := 0; start < len(ruleIDs); start += rowsPerInsert {
		chunk := ruleIDs[start:min(start+rowsPerInsert, len(ruleIDs))]
		args := []any{tenantID}
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := s.db.Read.QueryContext(ctx, "SELECT i.rule_id, "+instanceCols+" FROM alert_instances i WHERE i.tenant_id = ? AND i.rule_id IN "+
			placeholders(len(chunk), 1)+" ORDER BY i.id", args...)
		if err != nil {
			return nil, fmt.Errorf("alert instances tenant=%d: %w", tenantID, err)
		}
		for rows.Next() {
			var rule int64
			in, err := scanInstance(rows, []any{&rule})
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("alert instances tenant=%d: %w", tenantID, err)
			}
			out[rule] = append(out[rule], in)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("alert instances tenant=%d: %w", tenantID, err)
		}
	}
	return out, nil
}

// instanceCols are the columns of an alert.Instance (scanInstance).
const instanceCols = "i.instance_key, i.labels, i.state, i.since, i.active_at, i.fired_at, i.value, i.last_eval_at"

// scanInstance reads before, instanceCols, then after.
func scanInstance(sc scanner, before []any, after ...any) (alert.Instance, error) {
	var (
		in     alert.Instance
		labels string
		state  string
		value  sql.NullFloat64
	)
	dest := append(append(before, &in.Key, &labels, &state, &in.Since, &in.ActiveAt, &in.FiredAt, &value, &in.LastEval), after...)
	if err := sc.Scan(dest...); err != nil {
		return alert.Instance{}, err
	}
	var err error
	if in.Labels, err = parseLabels(labels); err != nil {
		return alert.Instance{}, err
	}
	in.State, in.Value, in.HasValue = alert.State(state), value.Float64, value.Valid
	return in, nil
}

// FiringByTenant counts the instances firing or recovering per tenant
// (tenants with none are absent).
func (s *Store) FiringByTenant(ctx context.Context) (map[int64]int, error) {
	rows, err := s.db.Read.QueryContext(ctx, "SELECT tenant_id, COUNT(*) FROM alert_instances WHERE state IN (?, ?) GROUP BY tenant_id", string(alert.Firing), string(alert.Recovering))
	if err != nil {
		return nil, fmt.Errorf("firing alerts by tenant: %w", err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var tenant int64
		var n int
		if err := rows.Scan(&tenant, &n); err != nil {
			return nil, fmt.Errorf("firing alerts by tenant: %w", err)
		}
		out[tenant] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("firing alerts by tenant: %w", err)
	}
	return out, nil
}

// hashList is the key hashes of keys, deduplicated, as IN arguments.
func hashList(keys []string) (string, []any) {
	seen := make(map[string]bool, len(keys))
	args := make([]any, 0, len(keys))
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			args = append(args, keyHash(k))
		}
	}
	return placeholders(len(args), 1), args
}
