// Package notifications stores the notification dispatcher's state (the
// notification use case's port Store) in the database of
// adapter/store/sqldb: the deliveries each alerting outbox row expands
// into, the messages senders claim and retry, the repeat schedule of
// still-firing instances, silences and the tenants' budget overrides
// (migration 00014). The planner's and senders' methods work across
// tenants, fairly: no read takes more than perTenant of one tenant's rows.
// Every method on one tenant's data refuses a missing tenant
// (sqldb.RequireTenant) and names the tenant in every WHERE clause. A
// Store is safe for concurrent use.
package notifications

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// Store is the SQL store of the notification dispatcher.
type Store struct {
	db *sqldb.DB
	// upsertFiring ends the repeat schedule's multi-row INSERT of a plan.
	upsertFiring string
	// upsertLimit ends the INSERT of a tenant's budget override.
	upsertLimit string
}

// New returns the store on db.
func New(db *sqldb.DB) *Store {
	s := &Store{db: db}
	s.upsertFiring = s.upsert("channel_id, rule_id, key_hash", "tenant_id", "instance_key", "outbox_id", "last_sent_at")
	s.upsertLimit = s.upsert("tenant_id", "per_minute")
	return s
}

var _ notification.Store = (*Store)(nil)

// rowsPerStatement bounds a multi-row INSERT and an IN list (SQLite's
// variables, MariaDB's packet).
const rowsPerStatement = 500

// Page sizes of ListMessages.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// maxErrorBytes bounds a message's stored last_error.
const maxErrorBytes = 2000

// unplannedStates are the states of a delivery the planner still has to
// place in a message.
var unplannedStates = []string{notification.DeliveryWaiting, notification.DeliveryHeld, notification.DeliverySilenced}

func clampLimit(limit int) int {
	switch {
	case limit <= 0:
		return defaultLimit
	case limit > maxLimit:
		return maxLimit
	}
	return limit
}

// page trims rows read with limit+1 to limit, and names the next cursor.
func page[T any](rows []T, limit int, id func(T) int64) ([]T, int64) {
	if len(rows) <= limit {
		return rows, 0
	}
	rows = rows[:limit]
	return rows, id(rows[limit-1])
}

// upsert ends a multi-row INSERT so that a row whose conflict key exists
// takes the new values of cols instead.
func (s *Store) upsert(conflict string, cols ...string) string {
	set := make([]string, len(cols))
	if s.db.Dialect.Name == "mysql" {
		for i, c := range cols {
			set[i] = c + " = VALUES(" + c + ")"
		}
		return " ON DUPLICATE KEY UPDATE " + strings.Join(set, ", ")
	}
	for i, c := range cols {
		set[i] = c + " = excluded." + c
	}
	return " ON CONFLICT (" + conflict + ") DO UPDATE SET " + strings.Join(set, ", ")
}

// placeholders is "(?, ?, …)" of n columns, repeated rows times.
func placeholders(n, rows int) string {
	row := "(?" + strings.Repeat(", ?", n-1) + ")"
	return row + strings.Repeat(", "+row, rows-1)
}

// in is ids as an IN list and its arguments.
func in(ids []int64) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return placeholders(len(ids), 1), args
}

// chunks calls fn on consecutive parts of ids of at most rowsPerStatement.
func chunks(ids []int64, fn func([]int64) error) error {
	for start := 0; start < len(ids); start += rowsPerStatement {
		if err := fn(ids[start:min(start+rowsPerStatement, len(ids))]); err != nil {
			return err
		}
	}
	return nil
}

// execer is a transaction or a pool.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// insertRows inserts rows (all of one width) in multi-row statements of
// prefix, the rows' placeholders and suffix.
func insertRows(ctx context.Context, ex execer, prefix string, rows [][]any, suffix string) error {
	for start := 0; start < len(rows); start += rowsPerStatement {
		chunk := rows[start:min(start+rowsPerStatement, len(rows))]
		args := make([]any, 0, len(chunk)*len(chunk[0]))
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := ex.ExecContext(ctx, prefix+placeholders(len(chunk[0]), len(chunk))+suffix, args...); err != nil {
			return err
		}
	}
	return nil
}

// keyHash is the instance key as indexed: hex SHA-256 (a key may be long),
// as adapter/store/alerts keys alert_instances.
func keyHash(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// capError is a receiver's answer as stored: valid UTF-8 (MariaDB refuses
// anything else) of at most maxErrorBytes, cut between characters.
func capError(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxErrorBytes {
		return s
	}
	cut := maxErrorBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
