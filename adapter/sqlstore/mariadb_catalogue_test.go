package sqlstore_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/sqlstore/storetest"
)

func TestMariaDBCatalogue(t *testing.T) {
	storetest.RunCatalogue(t, func(t *testing.T) storetest.Target { return openMariaDB(t) })
}
