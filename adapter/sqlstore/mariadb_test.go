package sqlstore_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/pulsemetrics/pulse/adapter/sqlstore"
	"github.com/pulsemetrics/pulse/adapter/sqlstore/storetest"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

// openMariaDB fails (never skips) when MariaDB is unreachable.
func openMariaDB(tb testing.TB) storetest.Target {
	tb.Helper()
	dsn := testservice.MariaDB(tb)
	s, err := sqlstore.OpenMariaDB(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Params = map[string]string{"time_zone": "'+00:00'"} // as the store's own connections
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return storetest.Target{Store: s, DB: db}
}

func TestMariaDBContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Target { return openMariaDB(t) })
}
