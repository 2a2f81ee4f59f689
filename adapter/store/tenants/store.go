// Package tenants stores tenants, API tokens (hashes only) and the audit
// log (tenancy.Tenants, tenancy.Tokens, tenancy.Audit through RecordAudit)
// in the database of adapter/store/sqldb. A Store is safe for concurrent use.
package tenants

import "github.com/pulsemetrics/pulse/adapter/store/sqldb"

// Store is the SQL store of the tenants.
type Store struct{ db *sqldb.DB }

// New returns the store on db.
func New(db *sqldb.DB) *Store { return &Store{db: db} }
