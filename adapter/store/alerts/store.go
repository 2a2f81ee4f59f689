// Package alerts stores alerting (the alerting use case's ports Rules,
// Schedule and History) in the database of adapter/store/sqldb: the rules
// with their schedule and claim, their instances, firing episodes,
// transitions and the notification outbox. Every method on one tenant's
// data refuses a missing tenant (sqldb.RequireTenant) and names the tenant
// in every WHERE clause; ClaimDue and FiringByTenant work across tenants
// for the scheduler. A Store is safe for concurrent use.
package alerts

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

// Store is the SQL store of alerting.
type Store struct {
	db *sqldb.DB
	// upsertInstances ends the instances' multi-row INSERT of a commit.
	upsertInstances string
}

// New returns the store on db.
func New(db *sqldb.DB) *Store {
	s := &Store{db: db}
	s.upsertInstances = s.upsert("rule_id, key_hash", "labels", "state", "since", "active_at", "fired_at", "value", "last_eval_at")
	return s
}

var (
	_ alerting.Rules    = (*Store)(nil)
	_ alerting.Schedule = (*Store)(nil)
	_ alerting.History  = (*Store)(nil)
)

// Page sizes of the history reads.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

func clampLimit(limit int) int {
	switch {
	case limit <= 0:
		return defaultLimit
	case limit > maxLimit:
		return maxLimit
	}
	return limit
}

// upsert ends a multi-row INSERT so that a row whose conflict key exists
// takes the new values of cols instead.
func (s *Store) upsert(conflict string, cols ...string) string {
	var b []byte
	if s.db.Dialect.Name == "mysql" {
		b = append(b, " ON DUPLICATE KEY UPDATE "...)
		for i, c := range cols {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, c+" = VALUES("+c+")"...)
		}
		return string(b)
	}
	b = append(b, " ON CONFLICT ("+conflict+") DO UPDATE SET "...)
	for i, c := range cols {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, c+" = excluded."+c...)
	}
	return string(b)
}

// placeholders is "(?, ?, …)" of n columns, repeated rows times.
func placeholders(n, rows int) string {
	row := make([]byte, 0, 3*n+1)
	row = append(row, '(')
	for i := range n {
		if i > 0 {
			row = append(row, ", "...)
		}
		row = append(row, '?')
	}
	row = append(row, ')')
	b := make([]byte, 0, rows*(len(row)+2))
	for i := range rows {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, row...)
	}
	return string(b)
}

// keyHash is the instance key as indexed: hex SHA-256 (a key may be long).
func keyHash(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// labelsJSON stores labels as a JSON object (keys sorted by json.Marshal).
func labelsJSON(tags metric.Tags) (string, error) {
	b, err := json.Marshal(tags.Map())
	if err != nil {
		return "", fmt.Errorf("labels: %w", err)
	}
	return string(b), nil
}

// parseLabels reads labels back, sorted by key; never nil.
func parseLabels(s string) (metric.Tags, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	if t := metric.SortedTags(m); t != nil {
		return t, nil
	}
	return metric.Tags{}, nil
}

// nullValue stores an optional value as NULL when absent, and when not
// finite (an overflowing sum): neither DOUBLE nor JSON holds ±Inf or NaN.
func nullValue(v float64, has bool) sql.NullFloat64 {
	return sql.NullFloat64{Float64: v, Valid: has && finite(v)}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
