// Package users stores dashboard users, their login sessions and the login
// throttle (the accounts use case's ports) in the database of
// adapter/store/sqldb. A Store is safe for concurrent use.
package users

import "github.com/pulsemetrics/pulse/adapter/store/sqldb"

// Store is the SQL store of the users.
type Store struct{ db *sqldb.DB }

// New returns the store on db.
func New(db *sqldb.DB) *Store { return &Store{db: db} }
