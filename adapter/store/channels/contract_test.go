package channels_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/store/channels/channelstest"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
)

// The contract suite, on SQLite and on MariaDB.
func TestChannelsContract(t *testing.T) { sqldbtest.Both(t, channelstest.Run) }
