package sqlstore_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/sqlstore/storetest"
)

func TestMariaDBGate(t *testing.T) {
	storetest.RunGate(t, func(t *testing.T) storetest.Target { return openMariaDB(t) })
}
