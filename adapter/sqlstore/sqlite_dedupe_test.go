package sqlstore_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/sqlstore/storetest"
)

func TestSQLiteDedupeWindow(t *testing.T) {
	storetest.RunDedupe(t, func(t *testing.T) storetest.Target { return openSQLite(t) })
}
