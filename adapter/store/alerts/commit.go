package alerts

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

// errNotDue rolls back a commit whose rule is no longer due at its DueAt.
var errNotDue = errors.New("the rule is no longer due at this time")

// rowsPerInsert bounds a multi-row INSERT (SQLite's variables, MariaDB's
// packet).
const rowsPerInsert = 500

// Commit writes one evaluation in one transaction: the rule's row first,
// only while it is still due at c.DueAt (its row lock then orders every
// other write of the rule's evaluations), then the instances in one upsert,
// the history, the episodes and the outbox. The common evaluation (one
// instance, no transition) is two statements. committed is false, and
// nothing is written, when the rule is no longer due at c.DueAt.
func (s *Store) Commit(ctx context.Context, c alerting.Commit) (bool, error) {
	if err := sqldb.RequireTenant("commit alert evaluation", c.TenantID); err != nil {
		return false, err
	}
	w, err := s.encode(c)
	if err != nil {
		return false, fmt.Errorf("commit alert evaluation tenant=%d rule=%d: %w", c.TenantID, c.RuleID, err)
	}
	err = s.db.Retry(ctx, func() error {
		return s.db.InReadCommittedTx(ctx, func(tx *sql.Tx) error { return s.commitTx(ctx, tx, c, w) })
	})
	if errors.Is(err, errNotDue) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("commit alert evaluation tenant=%d rule=%d at=%d: %w", c.TenantID, c.RuleID, c.At, err)
	}
	return true, nil
}

// writes are a commit's rows, encoded once (before the transaction, which
// Retry may run again).
type writes struct {
	instances, history, outbox [][]any
	labels                     map[string]string // instance key → labels JSON
}

func (s *Store) encode(c alerting.Commit) (writes, error) {
	w := writes{labels: map[string]string{}}
	for _, in := range c.Instances {
		l, err := labelsJSON(in.Labels)
		if err != nil {
			return writes{}, err
		}
		w.labels[in.Key] = l
		w.instances = append(w.instances, []any{c.RuleID, c.TenantID, in.Key, keyHash(in.Key), l, string(in.State),
			in.Since, in.ActiveAt, in.FiredAt, nullValue(in.Value, in.HasValue), in.LastEval})
	}
	if c.Note != "" {
		w.history = append(w.history, []any{c.RuleID, c.TenantID, "", "{}", string(c.RuleState), string(c.RuleState), c.At, nullValue(0, false), c.Note})
	}
	for _, t := range c.Transitions {
		l, err := labelsJSON(t.Labels)
		if err != nil {
			return writes{}, err
		}
		if _, ok := w.labels[t.Key]; !ok {
			w.labels[t.Key] = l
		}
		w.history = append(w.history, []any{c.RuleID, c.TenantID, t.Key, l, string(t.From), string(t.To), t.At, nullValue(t.Value, t.HasValue), ""})
	}
	now := sqldb.Millis(s.db.Now())
	for _, o := range c.Outbox {
		w.outbox = append(w.outbox, []any{c.TenantID, c.RuleID, string(o.Kind), o.InstanceKey, o.At, string(o.Payload), now})
	}
	return w, nil
}

func (s *Store) commitTx(ctx context.Context, tx *sql.Tx, c alerting.Commit, w writes) error {
	res, err := tx.ExecContext(ctx, "UPDATE alert_rules SET next_eval_at = ?, last_eval_at = ?, state = ?, last_error = ?, claim_until = 0, claimed_by = '' "+
		"WHERE id = ? AND tenant_id = ? AND next_eval_at = ?", c.NextEvalAt, c.At, string(c.RuleState), c.LastError, c.RuleID, c.TenantID, c.DueAt)
	if err != nil {
		return fmt.Errorf("rule: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("rule: %w", err)
	} else if n == 0 {
		if err := s.stillDue(ctx, tx, c); err != nil {
			return err
		}
	}
	if err := insertRows(ctx, tx, "INSERT INTO alert_instances (rule_id, tenant_id, instance_key, key_hash, labels, state, since, active_at, fired_at, value, last_eval_at) VALUES ",
		w.instances, s.upsertInstances); err != nil {
		return fmt.Errorf("instances: %w", err)
	}
	if err := insertRows(ctx, tx, "INSERT INTO alert_transitions (rule_id, tenant_id, instance_key, labels, from_state, to_state, at, value, note) VALUES ",
		w.history, ""); err != nil {
		return fmt.Errorf("transitions: %w", err)
	}
	if err := s.writeEpisodes(ctx, tx, c, w.labels); err != nil {
		return fmt.Errorf("episodes: %w", err)
	}
	if err := insertRows(ctx, tx, "INSERT INTO alert_outbox (tenant_id, rule_id, kind, instance_key, at, payload, created_at) VALUES ",
		w.outbox, ""); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// stillDue tells an UPDATE that matched no row (errNotDue) from one that
// matched and changed nothing, which MariaDB counts as 0 rows too: an
// evaluation on demand keeps next_eval_at, and can repeat the rule's
// last_eval_at and state.
func (s *Store) stillDue(ctx context.Context, tx *sql.Tx, c alerting.Commit) error {
	if s.db.Dialect.Name != "mysql" || c.NextEvalAt != c.DueAt {
		return errNotDue
	}
	var one int
	err := tx.QueryRowContext(ctx, "SELECT 1 FROM alert_rules WHERE id = ? AND tenant_id = ? AND next_eval_at = ?"+s.db.Dialect.ForUpdate,
		c.RuleID, c.TenantID, c.DueAt).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return errNotDue
	}
	if err != nil {
		return fmt.Errorf("rule: %w", err)
	}
	return nil
}

// insertRows inserts rows (all of one width) in multi-row statements of
// prefix, the rows' placeholders and suffix.
func insertRows(ctx context.Context, tx *sql.Tx, prefix string, rows [][]any, suffix string) error {
	for start := 0; start < len(rows); start += rowsPerInsert {
		chunk := rows[start:min(start+rowsPerInsert, len(rows))]
		args := make([]any, 0, len(chunk)*len(chunk[0]))
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, prefix+placeholders(len(chunk[0]), len(chunk))+suffix, args...); err != nil {
			return err
		}
	}
	return nil
}

// maxEpisodeValues bounds an episode's sample_values: the value it fired
// with and the latest ones.
const maxEpisodeValues = 500

// episode is an alerts row as a commit changes it.
type episode struct {
	id       int64 // 0 until inserted
	key      string
	labels   string
	firedAt  int64
	resolved sql.NullInt64
	values   []alerting.SampleValue
	dirty    bool
}

// writeEpisodes applies the transitions, in order, to the instances'
// episodes: one that Opens starts an episode, one that Closes ends the
// open one, and every one with a value appends it to the open episode.
func (s *Store) writeEpisodes(ctx context.Context, tx *sql.Tx, c alerting.Commit, labels map[string]string) error {
	moved := make(map[string]bool, len(c.Transitions))
	keys := make([]string, 0, len(c.Transitions))
	for _, t := range c.Transitions {
		moved[t.Key] = true
		keys = append(keys, t.Key)
	}
	// Instances that stay in a firing episode add their value too, so an
	// episode holds the values it was seen with, not only its transitions.
	var staying []alert.Instance
	for _, in := range c.Instances {
		if in.FiredAt != 0 && in.HasValue && !moved[in.Key] && finite(in.Value) {
			staying = append(staying, in)
			keys = append(keys, in.Key)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	open, err := openEpisodes(ctx, tx, c, keys)
	if err != nil {
		return err
	}
	var touched []*episode
	touch := func(ep *episode) {
		if !ep.dirty {
			ep.dirty = true
			touched = append(touched, ep)
		}
	}
	for _, t := range c.Transitions {
		ep := open[t.Key]
		switch {
		case t.Opens:
			if ep != nil { // never left open by the state machine; end it where the next begins
				ep.resolved = sql.NullInt64{Int64: t.At, Valid: true}
				touch(ep)
			}
			fired := t.FiredAt
			if fired == 0 {
				fired = t.At
			}
			ep = &episode{key: t.Key, labels: labels[t.Key], firedAt: fired, values: []alerting.SampleValue{}}
			open[t.Key] = ep
		case ep == nil:
			continue // no open episode to record in
		case t.Closes:
			ep.resolved = sql.NullInt64{Int64: t.At, Valid: true}
			delete(open, t.Key)
		}
		if t.HasValue && finite(t.Value) {
			ep.values = append(ep.values, alerting.SampleValue{TS: t.At, Value: t.Value})
		}
		touch(ep)
	}
	for _, in := range staying {
		if ep := open[in.Key]; ep != nil {
			ep.values = append(ep.values, alerting.SampleValue{TS: c.At, Value: in.Value})
			touch(ep)
		}
	}
	var inserts [][]any
	for _, ep := range touched {
		if len(ep.values) > maxEpisodeValues { // the first (it fired with) and the latest
			ep.values = append(ep.values[:1], ep.values[len(ep.values)-maxEpisodeValues+1:]...)
		}
		vals, err := json.Marshal(ep.values)
		if err != nil {
			return fmt.Errorf("sample values: %w", err)
		}
		if ep.id == 0 {
			inserts = append(inserts, []any{c.RuleID, c.TenantID, ep.key, keyHash(ep.key), ep.labels, ep.firedAt, ep.resolved, string(vals)})
			continue
		}
		if _, err := tx.ExecContext(ctx, "UPDATE alerts SET resolved_at = ?, sample_values = ? WHERE id = ?", ep.resolved, string(vals), ep.id); err != nil {
			return err
		}
	}
	return insertRows(ctx, tx, "INSERT INTO alerts (rule_id, tenant_id, instance_key, key_hash, labels, fired_at, resolved_at, sample_values) VALUES ", inserts, "")
}

// openEpisodes reads the open episodes of keys. No lock: every write of the
// rule's episodes happens under its rule row's lock, which the commit took.
func openEpisodes(ctx context.Context, tx *sql.Tx, c alerting.Commit, keys []string) (map[string]*episode, error) {
	in, hashes := hashList(keys)
	args := append([]any{c.TenantID, c.RuleID}, hashes...)
	rows, err := tx.QueryContext(ctx, "SELECT id, instance_key, sample_values FROM alerts WHERE tenant_id = ? AND rule_id = ? AND resolved_at IS NULL "+
		"AND key_hash IN "+in+" ORDER BY id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	open := map[string]*episode{}
	for rows.Next() {
		var (
			ep   episode
			vals string
		)
		if err := rows.Scan(&ep.id, &ep.key, &vals); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(vals), &ep.values); err != nil {
			return nil, fmt.Errorf("episode %d: sample values: %w", ep.id, err)
		}
		if ep.values == nil {
			ep.values = []alerting.SampleValue{}
		}
		open[ep.key] = &ep // the latest, should an older one be open too
	}
	return open, rows.Err()
}

// CommitAll writes several evaluations in one transaction (one log flush
// for a group of rules read together), in rule id order so that replicas
// committing overlapping groups lock rows in the same order. Each commit
// applies only while its rule is still due at its DueAt, as Commit; the
// answer says which did.
func (s *Store) CommitAll(ctx context.Context, cs []alerting.Commit) ([]bool, error) {
	order := make([]int, len(cs))
	ws := make([]writes, len(cs))
	for i, c := range cs {
		if err := sqldb.RequireTenant("commit alert evaluations", c.TenantID); err != nil {
			return nil, err
		}
		w, err := s.encode(c)
		if err != nil {
			return nil, fmt.Errorf("commit alert evaluation tenant=%d rule=%d: %w", c.TenantID, c.RuleID, err)
		}
		order[i], ws[i] = i, w
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(cs[a].RuleID, cs[b].RuleID) })
	var done []bool
	err := s.db.Retry(ctx, func() error {
		done = make([]bool, len(cs))
		return s.db.InReadCommittedTx(ctx, func(tx *sql.Tx) error {
			for _, i := range order {
				err := s.commitTx(ctx, tx, cs[i], ws[i])
				if errors.Is(err, errNotDue) {
					continue // nothing of it was written: its UPDATE comes first
				}
				if err != nil {
					return fmt.Errorf("rule %d: %w", cs[i].RuleID, err)
				}
				done[i] = true
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("commit %d alert evaluations: %w", len(cs), err)
	}
	return done, nil
}
