package sqlidempotency_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/idempotency/idempotencytest"
	"github.com/pulsemetrics/pulse/adapter/idempotency/sqlidempotency"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

func TestSQLiteIdempotency(t *testing.T) {
	run(t, func(t *testing.T) string { return filepath.Join(t.TempDir(), "pulse.db") }, sqldb.OpenSQLite)
}

func TestMariaDBIdempotency(t *testing.T) {
	run(t, func(t *testing.T) string { return testservice.MariaDB(t) }, sqldb.OpenMariaDB)
}

// run runs the contract suite; a second store a test opens with the same
// t is on the same database (a second replica).
func run(t *testing.T, fresh func(*testing.T) string, open func(string) (*sqldb.DB, error)) {
	var mu sync.Mutex
	where := map[*testing.T]string{}
	idempotencytest.Run(t, func(t *testing.T, clock func() time.Time) ingest.IdempotencyStore {
		mu.Lock()
		at, ok := where[t]
		if !ok {
			at = fresh(t)
			where[t] = at
		}
		mu.Unlock()
		db, err := open(at)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		db.SetClock(clock)
		return sqlidempotency.New(db)
	})
}
