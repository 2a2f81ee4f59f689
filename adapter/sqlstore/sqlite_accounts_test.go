package sqlstore_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/sqlstore/storetest"
)

func TestSQLiteAccountsContract(t *testing.T) {
	storetest.RunAccounts(t, func(t *testing.T) storetest.Target { return openSQLite(t) })
}
