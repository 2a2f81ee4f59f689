package dashboards_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/store/dashboards/dashboardstest"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
)

// The contract suites, on SQLite and on MariaDB.
func TestDashboardsContract(t *testing.T) { sqldbtest.Both(t, dashboardstest.RunDashboards) }
