package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/sqlstore"
	"github.com/pulsemetrics/pulse/adapter/sqlstore/storetest"
)

func openSQLite(tb testing.TB) storetest.Target {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "pulse.db")
	s, err := sqlstore.OpenSQLite(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return storetest.Target{Store: s, DB: db}
}

func TestSQLiteContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Target { return openSQLite(t) })
}
