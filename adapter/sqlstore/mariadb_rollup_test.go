package sqlstore_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/sqlstore/storetest"
)

func TestMariaDBRollups(t *testing.T) {
	storetest.RunRollups(t, func(t *testing.T) storetest.Target { return openMariaDB(t) })
}
