package sqlstore_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/sqlstore/storetest"
)

func TestMariaDBAccountsContract(t *testing.T) {
	storetest.RunAccounts(t, func(t *testing.T) storetest.Target { return openMariaDB(t) })
}
