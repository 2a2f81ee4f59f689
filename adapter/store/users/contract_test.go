package users_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/adapter/store/users/userstest"
)

// The contract suites, on SQLite and on MariaDB.
func TestAccountsContract(t *testing.T) { sqldbtest.Both(t, userstest.RunAccounts) }
