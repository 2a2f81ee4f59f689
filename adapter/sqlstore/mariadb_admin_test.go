package sqlstore_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/sqlstore/storetest"
)

func TestMariaDBAdminContract(t *testing.T) {
	storetest.RunAdmin(t, func(t *testing.T) storetest.Target { return openMariaDB(t) })
}
