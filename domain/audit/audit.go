// Package audit defines the audit trail of administrative actions: who did
// what to which tenant or token, when and from where, and every refused
// cross-tenant attempt.
package audit

import (
	"time"
	"unicode/utf8"
)

// Action names what was done (or refused).
type Action string

// The audited actions.
const (
	TenantCreate Action = "tenant.create"
	TenantUpdate Action = "tenant.update"
	TokenCreate  Action = "token.create"
	TokenRevoke  Action = "token.revoke"
	// CrossTenantDenied is a refused attempt to reach another tenant's data
	// (a token of another tenant, or the platform API with a tenant token).
	CrossTenantDenied Action = "cross_tenant.denied"
)

// CLIActorID is the actor of commands run with the pulse CLI, which acts
// with database access rather than a token.
const CLIActorID = "cli"

// Actor is who acts: a token (its public id and tenant, 0 for a platform
// token) or the CLI, and the address the request came from.
type Actor struct {
	ID         string
	TenantID   int64
	RemoteAddr string
}

// CLI is the actor of the admin command line.
func CLI() Actor { return Actor{ID: CLIActorID, RemoteAddr: "local"} }

// Field size bounds, in bytes; longer values are cut (never rejected: an
// audit record must not fail because a client sent a long header).
const (
	MaxActor  = 64
	MaxTarget = 255
	MaxRemote = 255
	MaxDetail = 1000
)

// Entry is one audit record.
type Entry struct {
	// ID is set on entries read back from storage; 0 before.
	ID    int64
	At    time.Time
	Actor string
	// TenantID is the tenant the action concerns (0 = the platform). For
	// CrossTenantDenied it is the actor's own tenant, so that the record never
	// tells one tenant about another.
	TenantID   int64
	Action     Action
	Target     string
	RemoteAddr string
	Detail     string
}

// NewEntry builds the record of action by actor on target in tenantID at at
// (UTC), its text fields cut to their bounds at a UTF-8 boundary.
func NewEntry(at time.Time, actor Actor, tenantID int64, action Action, target, detail string) Entry {
	return Entry{
		At:         at.UTC(),
		Actor:      truncate(actor.ID, MaxActor),
		TenantID:   tenantID,
		Action:     action,
		Target:     truncate(target, MaxTarget),
		RemoteAddr: truncate(actor.RemoteAddr, MaxRemote),
		Detail:     truncate(detail, MaxDetail),
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
