package alerts_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/store/alerts/alertstest"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
)

// The contract suite, on SQLite and on MariaDB.
func TestAlertsContract(t *testing.T) { sqldbtest.Both(t, alertstest.Run) }
