package notifications_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/store/notifications/notificationstest"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
)

// The contract suite, on SQLite and on MariaDB.
func TestNotificationsContract(t *testing.T) { sqldbtest.Both(t, notificationstest.Run) }
