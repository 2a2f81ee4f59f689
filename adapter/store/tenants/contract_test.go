package tenants_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/adapter/store/tenants/tenantstest"
)

// The contract suites, on SQLite and on MariaDB.
func TestContract(t *testing.T) { sqldbtest.Both(t, tenantstest.Run) }
