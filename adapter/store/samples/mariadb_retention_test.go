package samples_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/pressly/goose/v3"

	"github.com/pulsemetrics/pulse/adapter/store/samples"
	"github.com/pulsemetrics/pulse/adapter/store/samples/samplestest"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

func TestMariaDBRetention(t *testing.T) {
	samplestest.RunRetention(t, func(t *testing.T) sqldbtest.Target { return sqldbtest.MariaDB(t) })
}

const dayMs = int64(24 * time.Hour / time.Millisecond)

// dayStart is the start of the UTC day of t plus n days, in Unix ms.
func dayStart(t time.Time, n int) int64 {
	return (t.UnixMilli()/dayMs + int64(n)) * dayMs
}

// dayName is the name of the partition of the UTC day of t plus n days.
func dayName(t time.Time, n int) string {
	return "p" + time.UnixMilli(dayStart(t, n)).UTC().Format("20060102")
}

type part struct {
	name  string
	bound string // PARTITION_DESCRIPTION: Unix ms or MAXVALUE
}

// partitions reads the partitions of samples from information_schema.
func partitions(t *testing.T, db *sql.DB) []part {
	t.Helper()
	rows, err := db.Query(`SELECT PARTITION_NAME, PARTITION_DESCRIPTION FROM information_schema.PARTITIONS
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'samples' ORDER BY PARTITION_ORDINAL_POSITION`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []part
	for rows.Next() {
		var name, bound sql.NullString // NULL: the table is not partitioned
		if err := rows.Scan(&name, &bound); err != nil {
			t.Fatal(err)
		}
		out = append(out, part{name.String, bound.String})
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkDays fails unless the partitions are exactly the days from..to of
// now (each holding [day, day+1)) followed by pmax.
func checkDays(t *testing.T, got []part, now time.Time, from, to int) {
	t.Helper()
	var want []part
	for d := from; d <= to; d++ {
		want = append(want, part{dayName(now, d), strconv.FormatInt(dayStart(now, d+1), 10)})
	}
	want = append(want, part{"pmax", "MAXVALUE"})
	if !slices.Equal(got, want) {
		t.Fatalf("partitions:\n got %v\nwant %v (days %+d..%+d and pmax)", got, want, from, to)
	}
}

// rowsIn counts the rows of one partition; an error if it does not exist.
func rowsIn(db *sql.DB, name string) (int64, error) {
	var n int64
	err := db.QueryRow("SELECT COUNT(*) FROM samples PARTITION (" + name + ")").Scan(&n)
	return n, err
}

// countRows counts the rows of from (a table and an optional WHERE).
func countRows(t *testing.T, db *sql.DB, from string) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow("SELECT COUNT(*) FROM " + from).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", from, err)
	}
	return n
}

func mustRowsIn(t *testing.T, db *sql.DB, name string) int64 {
	t.Helper()
	n, err := rowsIn(db, name)
	if err != nil {
		t.Fatalf("rows in %s: %v", name, err)
	}
	return n
}

// insertAt inserts one sample of series 1 at each ts.
func insertAt(t *testing.T, db *sql.DB, ts ...int64) {
	t.Helper()
	for _, at := range ts {
		if _, err := db.Exec("INSERT INTO samples (series_id, ts, value, ingested_at) VALUES (1, ?, 1, 0)", at); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMariaDBPartitionsCreatedAhead(t *testing.T) {
	ctx := context.Background()
	tg := sqldbtest.MariaDB(t)
	now := time.Now().UTC()
	if !tg.Store.Partitioned() {
		t.Fatal("MariaDB store reports no partitions")
	}
	// The migration partitions an empty table from today to today + 3.
	checkDays(t, partitions(t, tg.DB), now, 0, 3)

	created, err := tg.Store.EnsurePartitions(ctx, now, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{dayName(now, 4), dayName(now, 5), dayName(now, 6), dayName(now, 7)}
	if !slices.Equal(created, want) {
		t.Fatalf("created %v, want %v", created, want)
	}
	checkDays(t, partitions(t, tg.DB), now, 0, 7)

	// Idempotent: nothing new, nothing changed; fewer days ahead neither.
	for _, ahead := range []int{7, 2, 0} {
		if created, err := tg.Store.EnsurePartitions(ctx, now, ahead); err != nil || len(created) != 0 {
			t.Fatalf("EnsurePartitions(ahead %d) again = %v, %v; want nothing created", ahead, created, err)
		}
	}
	checkDays(t, partitions(t, tg.DB), now, 0, 7)
	if _, err := tg.Store.EnsurePartitions(ctx, now, -1); err == nil {
		t.Fatal("EnsurePartitions(-1) returned nil")
	}

	// Rows beyond the last day wait in pmax; splitting pmax moves them to their day.
	insertAt(t, tg.DB, dayStart(now, 9)+5, dayStart(now, 12)+5, dayStart(now, 40))
	if n := mustRowsIn(t, tg.DB, "pmax"); n != 3 {
		t.Fatalf("pmax holds %d rows, want 3", n)
	}
	later := now.Add(10 * 24 * time.Hour) // the scheduler did not run for 10 days
	created, err = tg.Store.EnsurePartitions(ctx, later, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(created) != 6 || created[0] != dayName(now, 8) || created[5] != dayName(now, 13) {
		t.Fatalf("created %v, want days +8..+13 (the gap too)", created)
	}
	checkDays(t, partitions(t, tg.DB), now, 0, 13)
	for name, want := range map[string]int64{dayName(now, 9): 1, dayName(now, 12): 1, "pmax": 1} {
		if n := mustRowsIn(t, tg.DB, name); n != want {
			t.Errorf("%s holds %d rows, want %d", name, n, want)
		}
	}
	if n := countRows(t, tg.DB, "samples"); n != 3 {
		t.Fatalf("samples = %d after the split, want 3", n)
	}

	// Writes land in their day's partition.
	tn, err := tenant.New("acme", "", 0, now)
	if err != nil {
		t.Fatal(err)
	}
	acme, err := tg.Store.CreateTenant(ctx, tn)
	if err != nil {
		t.Fatal(err)
	}
	smp := metric.Rehydrate("part.write", 1, nil, dayStart(now, 2)+1234, "")
	if _, err := tg.Store.WriteBatches(ctx, []metric.Batch{{ID: "b", TenantID: acme.ID, AcceptedAt: now, Samples: []metric.Sample{smp}}}); err != nil {
		t.Fatal(err)
	}
	if n := mustRowsIn(t, tg.DB, dayName(now, 2)); n != 1 {
		t.Fatalf("%s holds %d rows after WriteBatches, want 1", dayName(now, 2), n)
	}
}

func TestMariaDBPartitionsDropped(t *testing.T) {
	ctx := context.Background()
	tg := sqldbtest.MariaDB(t)
	now := time.Now().UTC()
	if _, err := tg.Store.EnsurePartitions(ctx, now, 10); err != nil {
		t.Fatal(err)
	}
	// Two rows a day on days 0..10.
	for d := 0; d <= 10; d++ {
		insertAt(t, tg.DB, dayStart(now, d), dayStart(now, d+1)-1)
	}
	// Nothing is wholly before a cutoff inside day 0.
	if dropped, err := tg.Store.DropPartitionsBefore(ctx, time.UnixMilli(dayStart(now, 1)-1)); err != nil || len(dropped) != 0 {
		t.Fatalf("DropPartitionsBefore(end of day 0) = %v, %v; want nothing", dropped, err)
	}
	// A cutoff at the start of day 4 drops days 0..3, rows and all.
	dropped, err := tg.Store.DropPartitionsBefore(ctx, time.UnixMilli(dayStart(now, 4)))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{dayName(now, 0), dayName(now, 1), dayName(now, 2), dayName(now, 3)}; !slices.Equal(dropped, want) {
		t.Fatalf("dropped %v, want %v", dropped, want)
	}
	checkDays(t, partitions(t, tg.DB), now, 4, 10)
	if _, err := rowsIn(tg.DB, dayName(now, 0)); err == nil {
		t.Fatalf("partition %s still answers", dayName(now, 0))
	}
	if n := countRows(t, tg.DB, fmt.Sprintf("samples WHERE ts < %d", dayStart(now, 4))); n != 0 {
		t.Fatalf("%d rows of the dropped days remain", n)
	}
	if n := countRows(t, tg.DB, "samples"); n != 14 {
		t.Fatalf("samples = %d, want 14 (days 4..10)", n)
	}
	// A cutoff in the middle of day 5 drops day 4 only.
	dropped, err = tg.Store.DropPartitionsBefore(ctx, time.UnixMilli(dayStart(now, 5)+12*3600_000))
	if err != nil || !slices.Equal(dropped, []string{dayName(now, 4)}) {
		t.Fatalf("DropPartitionsBefore(mid day 5) = %v, %v; want [%s]", dropped, err, dayName(now, 4))
	}
	checkDays(t, partitions(t, tg.DB), now, 5, 10)
	if n := mustRowsIn(t, tg.DB, dayName(now, 5)); n != 2 {
		t.Fatalf("%s holds %d rows, want 2", dayName(now, 5), n)
	}
	// Again: nothing more. pmax is never dropped, even far in the future.
	if dropped, err := tg.Store.DropPartitionsBefore(ctx, time.UnixMilli(dayStart(now, 5)+12*3600_000)); err != nil || len(dropped) != 0 {
		t.Fatalf("second drop = %v, %v", dropped, err)
	}
	insertAt(t, tg.DB, dayStart(now, 30))
	if _, err := tg.Store.DropPartitionsBefore(ctx, now.Add(365*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := partitions(t, tg.DB); len(got) != 1 || got[0].name != "pmax" || mustRowsIn(t, tg.DB, "pmax") != 1 {
		t.Fatalf("after dropping every day: %v", got)
	}
	// And the days come back.
	if _, err := tg.Store.EnsurePartitions(ctx, now, 3); err != nil {
		t.Fatal(err)
	}
	checkDays(t, partitions(t, tg.DB), now, 0, 3)
}

// The migration keeps pre-existing rows: each in its own day's partition
// from the longest retention back, older ones in the first partition.
func TestMariaDBMigrationPartitionsExistingRows(t *testing.T) {
	ctx := context.Background()
	dsn := testservice.MariaDB(t)
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	p, err := goose.NewProvider(goose.DialectMySQL, db, os.DirFS("../sqldb/migrations/mysql"), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if _, err := db.Exec("INSERT INTO tenants (slug, name, retention_days, created_at) VALUES ('a', 'a', 7, 0), ('b', 'b', 10, 0)"); err != nil {
		t.Fatal(err)
	}
	insertAt(t, db, dayStart(now, -40), dayStart(now, -10)+1, dayStart(now, -5), now.UnixMilli(), dayStart(now, 10))

	s, err := sqldb.OpenMariaDB(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Days from the longest retention (10) back to today + 3.
	checkDays(t, partitions(t, db), now, -10, 3)
	for name, want := range map[string]int64{
		dayName(now, -10): 2, // its own row and the 40-day-old one (past every retention)
		dayName(now, -5):  1,
		dayName(now, 0):   1,
		"pmax":            1,
	} {
		if n := mustRowsIn(t, db, name); n != want {
			t.Errorf("%s holds %d rows, want %d", name, n, want)
		}
	}
	if n := countRows(t, db, "samples"); n != 5 {
		t.Fatalf("samples = %d after the migration, want 5", n)
	}
	// The old rows go with their days.
	dropped, err := samples.New(s).DropPartitionsBefore(ctx, time.UnixMilli(dayStart(now, -4)))
	if err != nil || len(dropped) != 6 {
		t.Fatalf("DropPartitionsBefore = %v, %v; want days -10..-5", dropped, err)
	}
	if n := countRows(t, db, "samples"); n != 2 {
		t.Fatalf("samples = %d, want 2 (today and pmax)", n)
	}
	// Down and up again.
	if _, err := p.DownTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if got := partitions(t, db); len(got) != 1 || got[0].name != "" {
		t.Fatalf("after down: %v, want no partitions", got)
	}
}
