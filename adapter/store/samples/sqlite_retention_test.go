package samples_test

import (
	"context"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/samples/samplestest"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
)

func TestSQLiteRetention(t *testing.T) {
	samplestest.RunRetention(t, func(t *testing.T) sqldbtest.Target { return sqldbtest.SQLite(t) })
}

// SQLite has no partitions: the partition methods do nothing, and
// retention deletes every tenant's old rows in chunks instead.
func TestSQLitePartitionsAreNoOps(t *testing.T) {
	ctx := context.Background()
	tg := sqldbtest.SQLite(t)
	if tg.Store.Partitioned() {
		t.Fatal("SQLite store reports partitions")
	}
	if _, err := tg.DB.ExecContext(ctx, "INSERT INTO samples (series_id, ts, value, ingested_at) VALUES (1, 0, 1, 0), (1, 1, 1, 0)"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if created, err := tg.Store.EnsurePartitions(ctx, now, 3); err != nil || created != nil {
		t.Fatalf("EnsurePartitions = %v, %v; want nil, nil", created, err)
	}
	if dropped, err := tg.Store.DropPartitionsBefore(ctx, now); err != nil || dropped != nil {
		t.Fatalf("DropPartitionsBefore = %v, %v; want nil, nil", dropped, err)
	}
	var n int
	if err := tg.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM samples").Scan(&n); err != nil || n != 2 {
		t.Fatalf("samples = %d, %v; want 2 untouched", n, err)
	}
}
