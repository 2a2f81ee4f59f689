package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/idempotency/idempotencytest"
	"github.com/pulsemetrics/pulse/adapter/sqlstore"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

func TestMariaDBIdempotency(t *testing.T) {
	var mu sync.Mutex
	dsns := map[*testing.T]string{} // same t, same database: a second replica
	idempotencytest.Run(t, func(t *testing.T, clock func() time.Time) ingest.IdempotencyStore {
		mu.Lock()
		dsn, ok := dsns[t]
		if !ok {
			dsn = testservice.MariaDB(t)
			dsns[t] = dsn
		}
		mu.Unlock()
		s, err := sqlstore.OpenMariaDB(dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		s.SetClock(clock)
		return s
	})
}
