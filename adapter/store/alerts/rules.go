package alerts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

// A tenant's rules (alerting.Rules). Another tenant's rule id matches
// nothing and reads as alerting.ErrNotFound.

// firingCount is a rule's instances firing or recovering.
const firingCount = "(SELECT COUNT(*) FROM alert_instances i WHERE i.rule_id = r.id AND i.state IN ('firing', 'recovering'))"

// storedCols are ruleCols, then what evaluations left (scanStored).
const storedCols = ruleCols + ", r.state, r.last_eval_at, r.last_error, r.created_at, r.updated_at, " + firingCount

// CreateRule stores r due at nextEvalAt (now when 0) and answers it with
// its id.
func (s *Store) CreateRule(ctx context.Context, r alert.Rule, nextEvalAt, now int64) (alert.Rule, error) {
	if err := sqldb.RequireTenant("create alert rule", r.TenantID); err != nil {
		return alert.Rule{}, err
	}
	cond, err := conditionJSON(r)
	if err != nil {
		return alert.Rule{}, fmt.Errorf("create alert rule tenant=%d: %w", r.TenantID, err)
	}
	if nextEvalAt == 0 {
		nextEvalAt = now
	}
	res, err := s.db.Write.ExecContext(ctx, "INSERT INTO alert_rules (tenant_id, name, metric, condition_json, `window`, cadence, paused, "+
		"next_eval_at, last_error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?)",
		r.TenantID, r.Name, r.Metric, cond, r.Window.Milliseconds(), r.Cadence.Milliseconds(), r.Paused, nextEvalAt, now, now)
	if err != nil {
		return alert.Rule{}, fmt.Errorf("create alert rule tenant=%d: %w", r.TenantID, err)
	}
	if r.ID, err = res.LastInsertId(); err != nil {
		return alert.Rule{}, fmt.Errorf("create alert rule tenant=%d: id: %w", r.TenantID, err)
	}
	return r.WithEmptyCollections(), nil
}

// UpdateRule replaces every field of rule r.ID and its next evaluation
// time (now when 0). It drops a claim in progress: that evaluation's
// commit no longer matches next_eval_at (unless the time is unchanged, and
// then whichever commits first wins), and another replica may claim the
// changed rule at once.
func (s *Store) UpdateRule(ctx context.Context, r alert.Rule, nextEvalAt, now int64) error {
	if err := sqldb.RequireTenant("update alert rule", r.TenantID); err != nil {
		return err
	}
	cond, err := conditionJSON(r)
	if err != nil {
		return fmt.Errorf("update alert rule tenant=%d id=%d: %w", r.TenantID, r.ID, err)
	}
	if nextEvalAt == 0 {
		nextEvalAt = now
	}
	res, err := s.db.Write.ExecContext(ctx, "UPDATE alert_rules SET name = ?, metric = ?, condition_json = ?, `window` = ?, cadence = ?, "+
		"paused = ?, next_eval_at = ?, claim_until = 0, claimed_by = '', updated_at = ? WHERE id = ? AND tenant_id = ?",
		r.Name, r.Metric, cond, r.Window.Milliseconds(), r.Cadence.Milliseconds(), r.Paused, nextEvalAt, now, r.ID, r.TenantID)
	return s.requireAffected(ctx, res, err, "update alert rule", r.TenantID, r.ID)
}

// DeleteRule removes the rule with its instances, transitions and
// episodes in one transaction; its outbox rows stay (the notifier's).
func (s *Store) DeleteRule(ctx context.Context, tenantID, id int64) error {
	if err := sqldb.RequireTenant("delete alert rule", tenantID); err != nil {
		return err
	}
	err := s.db.Retry(ctx, func() error {
		return s.db.InReadCommittedTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, "DELETE FROM alert_rules WHERE id = ? AND tenant_id = ?", id, tenantID)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return alerting.ErrNotFound
			}
			for _, table := range []string{"alert_instances", "alert_transitions", "alerts"} {
				if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE rule_id = ? AND tenant_id = ?", id, tenantID); err != nil {
					return fmt.Errorf("%s: %w", table, err)
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("delete alert rule tenant=%d id=%d: %w", tenantID, id, err)
	}
	return nil
}

// GetRule reads the tenant's rule with what its evaluations left.
func (s *Store) GetRule(ctx context.Context, tenantID, id int64) (alerting.StoredRule, error) {
	if err := sqldb.RequireTenant("alert rule", tenantID); err != nil {
		return alerting.StoredRule{}, err
	}
	row := s.db.Read.QueryRowContext(ctx, "SELECT "+storedCols+" FROM alert_rules r WHERE r.id = ? AND r.tenant_id = ?", id, tenantID)
	sr, err := scanStored(row)
	if errors.Is(err, sql.ErrNoRows) {
		return alerting.StoredRule{}, fmt.Errorf("alert rule tenant=%d id=%d: %w", tenantID, id, alerting.ErrNotFound)
	}
	if err != nil {
		return alerting.StoredRule{}, fmt.Errorf("alert rule tenant=%d id=%d: %w", tenantID, id, err)
	}
	return sr, nil
}

// ListRules reads page (from 1; below 1 reads 1) of the tenant's rules by
// id, perPage a page (1 to maxLimit; 0 or below is defaultLimit).
func (s *Store) ListRules(ctx context.Context, tenantID int64, page, perPage int) (alerting.RulePage, error) {
	if err := sqldb.RequireTenant("list alert rules", tenantID); err != nil {
		return alerting.RulePage{}, err
	}
	page, perPage = max(page, 1), clampLimit(perPage)
	out := alerting.RulePage{Rules: []alerting.StoredRule{}, Page: page, PerPage: perPage}
	if err := s.db.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM alert_rules WHERE tenant_id = ?", tenantID).Scan(&out.Total); err != nil {
		return alerting.RulePage{}, fmt.Errorf("count alert rules tenant=%d: %w", tenantID, err)
	}
	rows, err := s.db.Read.QueryContext(ctx, "SELECT "+storedCols+" FROM alert_rules r WHERE r.tenant_id = ? ORDER BY r.id LIMIT ? OFFSET ?",
		tenantID, perPage, (page-1)*perPage)
	if err != nil {
		return alerting.RulePage{}, fmt.Errorf("list alert rules tenant=%d: %w", tenantID, err)
	}
	defer rows.Close()
	for rows.Next() {
		sr, err := scanStored(rows)
		if err != nil {
			return alerting.RulePage{}, fmt.Errorf("list alert rules tenant=%d: %w", tenantID, err)
		}
		out.Rules = append(out.Rules, sr)
	}
	if err := rows.Err(); err != nil {
		return alerting.RulePage{}, fmt.Errorf("list alert rules tenant=%d: %w", tenantID, err)
	}
	return out, nil
}

// SetPaused pauses the rule, or resumes it due at nextEvalAt (now when 0)
// with no claim.
func (s *Store) SetPaused(ctx context.Context, tenantID, id int64, paused bool, nextEvalAt, now int64) error {
	if err := sqldb.RequireTenant("pause alert rule", tenantID); err != nil {
		return err
	}
	var (
		res sql.Result
		err error
	)
	if paused {
		res, err = s.db.Write.ExecContext(ctx, "UPDATE alert_rules SET paused = 1, updated_at = ? WHERE id = ? AND tenant_id = ?", now, id, tenantID)
	} else {
		if nextEvalAt == 0 {
			nextEvalAt = now
		}
		res, err = s.db.Write.ExecContext(ctx, "UPDATE alert_rules SET paused = 0, next_eval_at = ?, claim_until = 0, claimed_by = '', updated_at = ? "+
			"WHERE id = ? AND tenant_id = ?", nextEvalAt, now, id, tenantID)
	}
	return s.requireAffected(ctx, res, err, "pause alert rule", tenantID, id)
}

// Reschedule moves the rule's next evaluation and drops any claim, as
// UpdateRule does.
func (s *Store) Reschedule(ctx context.Context, tenantID, id int64, nextEvalAt int64) error {
	if err := sqldb.RequireTenant("reschedule alert rule", tenantID); err != nil {
		return err
	}
	res, err := s.db.Write.ExecContext(ctx, "UPDATE alert_rules SET next_eval_at = ?, claim_until = 0, claimed_by = '' WHERE id = ? AND tenant_id = ?",
		nextEvalAt, id, tenantID)
	return s.requireAffected(ctx, res, err, "reschedule alert rule", tenantID, id)
}

// requireAffected turns an UPDATE that matched no row into
// alerting.ErrNotFound. MariaDB counts changed rows only, so a row that
// exists but did not change is looked up before answering.
func (s *Store) requireAffected(ctx context.Context, res sql.Result, err error, what string, tenantID, id int64) error {
	if err != nil {
		return fmt.Errorf("%s tenant=%d id=%d: %w", what, tenantID, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s tenant=%d id=%d: %w", what, tenantID, id, err)
	}
	if n > 0 {
		return nil
	}
	var one int
	err = s.db.Write.QueryRowContext(ctx, "SELECT 1 FROM alert_rules WHERE id = ? AND tenant_id = ?", id, tenantID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s tenant=%d id=%d: %w", what, tenantID, id, alerting.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("%s tenant=%d id=%d: %w", what, tenantID, id, err)
	}
	return nil
}

// scanStored reads one row of storedCols.
func scanStored(sc scanner) (alerting.StoredRule, error) {
	var (
		sr    alerting.StoredRule
		state string
	)
	r, next, err := scanRule(sc, &state, &sr.LastEvaluatedAt, &sr.LastError, &sr.CreatedAt, &sr.UpdatedAt, &sr.Firing)
	if err != nil {
		return alerting.StoredRule{}, err
	}
	sr.Rule, sr.NextEvalAt, sr.State = r, next, alert.State(state)
	return sr, nil
}
