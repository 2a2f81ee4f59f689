package sqlstore_test

import (
	"testing"

	"github.com/pulsemetrics/pulse/adapter/sqlstore/storetest"
)

func TestMariaDBDedupeWindow(t *testing.T) {
	storetest.RunDedupe(t, func(t *testing.T) storetest.Target { return openMariaDB(t) })
}
