package alerts

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

// What evaluations recorded (alerting.History), read by page. A limit of 0
// or below reads defaultLimit rows, one above maxLimit reads maxLimit;
// next is the last id of the page, 0 when there is no more. A rule id of
// 0 reads every rule of the tenant.

// ListInstances reads the tenant's instances by id after f.Cursor, with
// their rule's name and their open episode, else their latest one.
func (s *Store) ListInstances(ctx context.Context, tenantID int64, f alerting.InstanceFilter) ([]alerting.InstanceRow, int64, error) {
	if err := sqldb.RequireTenant("list alert instances", tenantID); err != nil {
		return nil, 0, err
	}
	limit := clampLimit(f.Limit)
	where, args := []string{"i.tenant_id = ?", "i.id > ?"}, []any{tenantID, max(f.Cursor, 0)}
	if f.State != "" {
		where, args = append(where, "i.state = ?"), append(args, string(f.State))
	}
	if f.RuleID != 0 {
		where, args = append(where, "i.rule_id = ?"), append(args, f.RuleID)
	}
	// An instance's open episode is its latest: the next one opens only
	// after it closed.
	rows, err := s.db.Read.QueryContext(ctx, "SELECT i.id, i.rule_id, r.name, "+instanceCols+", a.id, a.fired_at, a.resolved_at, a.sample_values "+
		"FROM alert_instances i JOIN alert_rules r ON r.id = i.rule_id AND r.tenant_id = i.tenant_id "+
		"LEFT JOIN alerts a ON a.id = (SELECT MAX(e.id) FROM alerts e WHERE e.rule_id = i.rule_id AND e.key_hash = i.key_hash) "+
		"WHERE "+strings.Join(where, " AND ")+" ORDER BY i.id LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list alert instances tenant=%d: %w", tenantID, err)
	}
	defer rows.Close()
	out := []alerting.InstanceRow{}
	for rows.Next() {
		var (
			row                   alerting.InstanceRow
			epID, fired, resolved sql.NullInt64
			values                sql.NullString
		)
		in, err := scanInstance(rows, []any{&row.ID, &row.RuleID, &row.RuleName}, &epID, &fired, &resolved, &values)
		if err != nil {
			return nil, 0, fmt.Errorf("list alert instances tenant=%d: %w", tenantID, err)
		}
		row.Instance = in
		if epID.Valid {
			ep := alerting.Episode{ID: epID.Int64, RuleID: row.RuleID, InstanceKey: in.Key, Labels: in.Labels,
				FiredAt: fired.Int64, ResolvedAt: resolved.Int64}
			if ep.SampleValues, err = parseValues(values.String); err != nil {
				return nil, 0, fmt.Errorf("list alert instances tenant=%d: episode %d: %w", tenantID, ep.ID, err)
			}
			row.Episode = &ep
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list alert instances tenant=%d: %w", tenantID, err)
	}
	out, next := page(out, limit, func(r alerting.InstanceRow) int64 { return r.ID })
	return out, next, nil
}

// Transitions reads the rule's history (transitions and rule-level notes)
// newest first, before cursor when it is above 0.
func (s *Store) Transitions(ctx context.Context, tenantID, ruleID, cursor int64, limit int) ([]alerting.HistoryEntry, int64, error) {
	if err := sqldb.RequireTenant("alert transitions", tenantID); err != nil {
		return nil, 0, err
	}
	limit = clampLimit(limit)
	where, args := newestFirst(tenantID, ruleID, cursor)
	rows, err := s.db.Read.QueryContext(ctx, "SELECT id, rule_id, instance_key, labels, from_state, to_state, at, value, note FROM alert_transitions "+
		where+" ORDER BY id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, 0, fmt.Errorf("alert transitions tenant=%d rule=%d: %w", tenantID, ruleID, err)
	}
	defer rows.Close()
	out := []alerting.HistoryEntry{}
	for rows.Next() {
		var (
			h        alerting.HistoryEntry
			labels   string
			from, to string
			value    sql.NullFloat64
		)
		if err := rows.Scan(&h.ID, &h.RuleID, &h.InstanceKey, &labels, &from, &to, &h.At, &value, &h.Note); err != nil {
			return nil, 0, fmt.Errorf("alert transitions tenant=%d rule=%d: %w", tenantID, ruleID, err)
		}
		if h.Labels, err = parseLabels(labels); err != nil {
			return nil, 0, fmt.Errorf("alert transition %d: %w", h.ID, err)
		}
		h.From, h.To, h.Value, h.HasValue = alert.State(from), alert.State(to), value.Float64, value.Valid
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("alert transitions tenant=%d rule=%d: %w", tenantID, ruleID, err)
	}
	out, next := page(out, limit, func(h alerting.HistoryEntry) int64 { return h.ID })
	return out, next, nil
}

// Episodes reads the rule's firing episodes newest first, before cursor
// when it is above 0.
func (s *Store) Episodes(ctx context.Context, tenantID, ruleID, cursor int64, limit int) ([]alerting.Episode, int64, error) {
	if err := sqldb.RequireTenant("alert episodes", tenantID); err != nil {
		return nil, 0, err
	}
	limit = clampLimit(limit)
	where, args := newestFirst(tenantID, ruleID, cursor)
	rows, err := s.db.Read.QueryContext(ctx, "SELECT id, rule_id, instance_key, labels, fired_at, resolved_at, sample_values FROM alerts "+
		where+" ORDER BY id DESC LIMIT ?", append(args, limit+1)...)
	if err != nil {
		return nil, 0, fmt.Errorf("alert episodes tenant=%d rule=%d: %w", tenantID, ruleID, err)
	}
	defer rows.Close()
	out := []alerting.Episode{}
	for rows.Next() {
		var (
			ep             alerting.Episode
			labels, values string
			resolved       sql.NullInt64
		)
		if err := rows.Scan(&ep.ID, &ep.RuleID, &ep.InstanceKey, &labels, &ep.FiredAt, &resolved, &values); err != nil {
			return nil, 0, fmt.Errorf("alert episodes tenant=%d rule=%d: %w", tenantID, ruleID, err)
		}
		ep.ResolvedAt = resolved.Int64
		if ep.Labels, err = parseLabels(labels); err != nil {
			return nil, 0, fmt.Errorf("alert episode %d: %w", ep.ID, err)
		}
		if ep.SampleValues, err = parseValues(values); err != nil {
			return nil, 0, fmt.Errorf("alert episode %d: %w", ep.ID, err)
		}
		out = append(out, ep)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("alert episodes tenant=%d rule=%d: %w", tenantID, ruleID, err)
	}
	out, next := page(out, limit, func(ep alerting.Episode) int64 { return ep.ID })
	return out, next, nil
}

// Outbox reads the tenant's outbox rows after afterID, oldest first.
func (s *Store) Outbox(ctx context.Context, tenantID, afterID int64, limit int) ([]alerting.OutboxRow, error) {
	if err := sqldb.RequireTenant("alert outbox", tenantID); err != nil {
		return nil, err
	}
	rows, err := s.db.Read.QueryContext(ctx, "SELECT id, tenant_id, rule_id, kind, instance_key, at, payload, created_at, delivered_at FROM alert_outbox "+
		"WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?", tenantID, afterID, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("alert outbox tenant=%d: %w", tenantID, err)
	}
	defer rows.Close()
	out := []alerting.OutboxRow{}
	for rows.Next() {
		var (
			o         alerting.OutboxRow
			kind      string
			payload   string
			delivered sql.NullInt64
		)
		if err := rows.Scan(&o.ID, &o.TenantID, &o.RuleID, &kind, &o.InstanceKey, &o.At, &payload, &o.CreatedAt, &delivered); err != nil {
			return nil, fmt.Errorf("alert outbox tenant=%d: %w", tenantID, err)
		}
		o.Kind, o.Payload, o.DeliveredAt = alert.Notify(kind), []byte(payload), delivered.Int64
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alert outbox tenant=%d: %w", tenantID, err)
	}
	return out, nil
}

// newestFirst is the WHERE clause of a newest-first page of one rule (or
// every rule, ruleID 0) of the tenant.
func newestFirst(tenantID, ruleID, cursor int64) (string, []any) {
	where, args := "WHERE tenant_id = ?", []any{tenantID}
	if ruleID != 0 {
		where, args = where+" AND rule_id = ?", append(args, ruleID)
	}
	if cursor > 0 {
		where, args = where+" AND id < ?", append(args, cursor)
	}
	return where, args
}

// page trims rows read with limit+1 to limit, and names the next cursor.
func page[T any](rows []T, limit int, id func(T) int64) ([]T, int64) {
	if len(rows) <= limit {
		return rows, 0
	}
	rows = rows[:limit]
	return rows, id(rows[limit-1])
}

func parseValues(s string) ([]alerting.SampleValue, error) {
	vals := []alerting.SampleValue{}
	if err := json.Unmarshal([]byte(s), &vals); err != nil {
		return nil, fmt.Errorf("sample values: %w", err)
	}
	if vals == nil {
		vals = []alerting.SampleValue{}
	}
	return vals, nil
}
