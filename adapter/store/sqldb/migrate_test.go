package sqldb_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
)

// Migrating a database already up to date changes nothing and leaves it
// working, on both engines.
func TestMigrateTwice(t *testing.T) {
	for name, open := range map[string]func(testing.TB) sqldbtest.Target{"SQLite": sqldbtest.SQLite, "MariaDB": sqldbtest.MariaDB} {
		t.Run(name, func(t *testing.T) {
			tg := open(t)
			if err := tg.Store.Migrate(sqldbtest.Ctx(t)); err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			if err := tg.Store.Ping(sqldbtest.Ctx(t)); err != nil {
				t.Fatalf("Ping: %v", err)
			}
		})
	}
}
