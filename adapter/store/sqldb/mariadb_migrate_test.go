package sqldb_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

// Replicas that start together migrate one at a time: every one of them
// succeeds on a fresh database and the schema ends up whole.
func TestMariaDBReplicasMigrateAtOnce(t *testing.T) {
	dsn := testservice.MariaDB(t)
	const replicas = 6
	stores := make([]*sqldb.DB, replicas)
	for i := range stores {
		s, err := sqldb.OpenMariaDB(dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		stores[i] = s
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() { errs[i] = s.Migrate(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	for _, s := range stores {
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("migrating again: %v", err)
		}
	}
}
