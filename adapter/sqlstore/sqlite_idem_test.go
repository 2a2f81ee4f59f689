package sqlstore_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/idempotency/idempotencytest"
	"github.com/pulsemetrics/pulse/adapter/sqlstore"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

func TestSQLiteIdempotency(t *testing.T) {
	var mu sync.Mutex
	paths := map[*testing.T]string{} // same t, same database: a second replica
	idempotencytest.Run(t, func(t *testing.T, clock func() time.Time) ingest.IdempotencyStore {
		mu.Lock()
		path, ok := paths[t]
		if !ok {
			path = filepath.Join(t.TempDir(), "pulse.db")
			paths[t] = path
		}
		mu.Unlock()
		s, err := sqlstore.OpenSQLite(path)
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
