package notifications

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/notify"
)

// A tenant's silences. An ended silence stays, as history.

// matcherJSON is one matcher of matchers_json.
type matcherJSON struct {
	Tag   string `json:"tag"`
	Op    string `json:"op"`
	Value string `json:"value"`
}

// silenceCols are the columns of a notify.Silence (scanSilence).
const silenceCols = "id, tenant_id, rule_id, matchers_json, starts_at, ends_at, comment, created_by, created_at"

func matchersJSON(ms alert.Matchers) (string, error) {
	out := make([]matcherJSON, len(ms))
	for i, m := range ms {
		out[i] = matcherJSON{Tag: m.Tag, Op: string(m.Op), Value: m.Value}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("matchers: %w", err)
	}
	return string(b), nil
}

type scanner interface{ Scan(dest ...any) error }

// scanSilence reads a silence with its matchers compiled, so that Mutes
// works on it (a matcher that no longer compiles selects nothing: the
// silence then mutes less, never more).
func scanSilence(sc scanner) (notify.Silence, error) {
	var (
		sl       notify.Silence
		matchers string
	)
	if err := sc.Scan(&sl.ID, &sl.TenantID, &sl.RuleID, &matchers, &sl.StartsAt, &sl.EndsAt, &sl.Comment, &sl.CreatedBy, &sl.CreatedAt); err != nil {
		return notify.Silence{}, err
	}
	var ms []matcherJSON
	if err := json.Unmarshal([]byte(matchers), &ms); err != nil {
		return notify.Silence{}, fmt.Errorf("silence %d: matchers: %w", sl.ID, err)
	}
	sl.Matchers = make(alert.Matchers, len(ms))
	for i, m := range ms {
		sl.Matchers[i] = alert.Matcher{Tag: m.Tag, Op: alert.MatchOp(m.Op), Value: m.Value}
	}
	sl.Matchers.Compile()
	return sl, nil
}

// CreateSilence stores sl (its ID is ignored; its CreatedAt is the
// caller's) and answers it with its id.
func (s *Store) CreateSilence(ctx context.Context, sl notify.Silence) (notify.Silence, error) {
	if err := sqldb.RequireTenant("create silence", sl.TenantID); err != nil {
		return notify.Silence{}, err
	}
	matchers, err := matchersJSON(sl.Matchers)
	if err != nil {
		return notify.Silence{}, fmt.Errorf("create silence tenant=%d: %w", sl.TenantID, err)
	}
	res, err := s.db.Write.ExecContext(ctx, "INSERT INTO notification_silences (tenant_id, rule_id, matchers_json, starts_at, ends_at, comment, created_by, "+
		"created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", sl.TenantID, sl.RuleID, matchers, sl.StartsAt, sl.EndsAt, sl.Comment, sl.CreatedBy, sl.CreatedAt)
	if err != nil {
		return notify.Silence{}, fmt.Errorf("create silence tenant=%d: %w", sl.TenantID, err)
	}
	if sl.ID, err = res.LastInsertId(); err != nil {
		return notify.Silence{}, fmt.Errorf("create silence tenant=%d: id: %w", sl.TenantID, err)
	}
	return sl, nil
}

// ListSilences reads the tenant's silences newest first, never nil; with
// activeOnly, those that end after now (running or still to start).
func (s *Store) ListSilences(ctx context.Context, tenantID int64, activeOnly bool, now int64) ([]notify.Silence, error) {
	if err := sqldb.RequireTenant("list silences", tenantID); err != nil {
		return nil, err
	}
	q, args := "SELECT "+silenceCols+" FROM notification_silences WHERE tenant_id = ?", []any{tenantID}
	if activeOnly {
		q, args = q+" AND ends_at > ?", append(args, now)
	}
	out := []notify.Silence{}
	if err := s.querySilences(ctx, q+" ORDER BY id DESC", args, func(sl notify.Silence) { out = append(out, sl) }); err != nil {
		return nil, fmt.Errorf("list silences tenant=%d: %w", tenantID, err)
	}
	return out, nil
}

// EndSilence ends the tenant's silence at now if it ends later. One still
// to start starts at now too, so that its start stays at or before its
// end and it is no longer listed as active. An ended silence stays as it
// is; notify.ErrSilenceNotFound for an unknown silence or another
// tenant's.
func (s *Store) EndSilence(ctx context.Context, tenantID, id, now int64) error {
	if err := sqldb.RequireTenant("end silence", tenantID); err != nil {
		return err
	}
	res, err := s.db.Write.ExecContext(ctx, "UPDATE notification_silences SET starts_at = CASE WHEN starts_at > ? THEN ? ELSE starts_at END, "+
		"ends_at = ? WHERE id = ? AND tenant_id = ? AND ends_at > ?", now, now, now, id, tenantID, now)
	if err != nil {
		return fmt.Errorf("end silence tenant=%d id=%d: %w", tenantID, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("end silence tenant=%d id=%d: %w", tenantID, id, err)
	}
	if n > 0 {
		return nil
	}
	var one int
	err = s.db.Write.QueryRowContext(ctx, "SELECT 1 FROM notification_silences WHERE id = ? AND tenant_id = ?", id, tenantID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("end silence tenant=%d id=%d: %w", tenantID, id, notify.ErrSilenceNotFound)
	}
	if err != nil {
		return fmt.Errorf("end silence tenant=%d id=%d: %w", tenantID, id, err)
	}
	return nil
}

// ActiveSilences are the silences active at now (started, not ended) of
// the tenants, by tenant, each tenant's by id; a tenant with none is
// absent. Ids of no tenant (0 or below) own nothing and are passed over.
func (s *Store) ActiveSilences(ctx context.Context, tenantIDs []int64, now int64) (map[int64][]notify.Silence, error) {
	out := map[int64][]notify.Silence{}
	ids := slices.DeleteFunc(slices.Compact(slices.Sorted(slices.Values(tenantIDs))), func(id int64) bool { return id <= 0 })
	err := chunks(ids, func(chunk []int64) error {
		list, args := in(chunk)
		return s.querySilences(ctx, "SELECT "+silenceCols+" FROM notification_silences WHERE tenant_id IN "+list+" AND ends_at > ? AND starts_at <= ? "+
			"ORDER BY tenant_id, id", append(args, now, now), func(sl notify.Silence) { out[sl.TenantID] = append(out[sl.TenantID], sl) })
	})
	if err != nil {
		return nil, fmt.Errorf("active silences: %w", err)
	}
	return out, nil
}

func (s *Store) querySilences(ctx context.Context, q string, args []any, each func(notify.Silence)) error {
	rows, err := s.db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		sl, err := scanSilence(rows)
		if err != nil {
			return err
		}
		each(sl)
	}
	return rows.Err()
}
