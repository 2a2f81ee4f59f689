package exports_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/store/exports/exportstest"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
)

// The contract suite, on SQLite and on MariaDB.
func TestExportsContract(t *testing.T) { sqldbtest.Both(t, exportstest.Run) }
