// Package leases keeps the job leases that let scheduler replicas take
// turns (the rollup job, retention) in the database of adapter/store/sqldb.
// A Store is safe for concurrent use.
package leases

import "github.com/pulsemetrics/pulse/adapter/store/sqldb"

// Store is the SQL store of the leases.
type Store struct{ db *sqldb.DB }

// New returns the store on db.
func New(db *sqldb.DB) *Store { return &Store{db: db} }
