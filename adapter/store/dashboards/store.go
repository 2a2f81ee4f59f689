// Package dashboards stores tenants' dashboards and their widgets (the
// dashboards use case's port) in the database of adapter/store/sqldb. A
// Store is safe for concurrent use.
package dashboards

import "github.com/pulsemetrics/pulse/adapter/store/sqldb"

// Store is the SQL store of the dashboards.
type Store struct{ db *sqldb.DB }

// New returns the store on db.
func New(db *sqldb.DB) *Store { return &Store{db: db} }
