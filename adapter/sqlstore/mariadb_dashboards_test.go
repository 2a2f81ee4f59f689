package sqlstore_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/sqlstore/storetest"
)

func TestMariaDBDashboardsContract(t *testing.T) {
	storetest.RunDashboards(t, func(t *testing.T) storetest.Target { return openMariaDB(t) })
}
