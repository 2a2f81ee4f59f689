package samplestest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/usecase/retention"
)

// RunRetention runs the contract cases of retention (DeleteSamplesBefore,
// DeleteRollupsBefore, and the retention use case on the real store); open
// is as for Run. The partitions themselves are MariaDB's own test.
func RunRetention(t *testing.T, open func(t *testing.T) sqldbtest.Target) {
	cases := []struct {
		name string
		fn   func(t *testing.T, tg sqldbtest.Target)
	}{
		{"DeletesOnlyTheTenantsOldRows", testRetentionSamples},
		{"ManySeriesInPages", testRetentionManySeries},
		{"Rollups", testRetentionRollups},
		{"MissingTenantRefused", testRetentionNoTenant},
		{"CancelledContext", testRetentionCancelled},
		{"ServiceRun", testRetentionRun},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

// tenantRows counts tenantID's samples matching cond (on p.ts).
func tenantRows(t *testing.T, tg sqldbtest.Target, tenantID int64, cond string) int64 {
	t.Helper()
	return sqldbtest.Count(t, tg.DB, fmt.Sprintf("samples p JOIN series s ON s.id = p.series_id WHERE s.tenant_id = %d AND %s", tenantID, cond))
}

// tenantRollups counts tenantID's rollups matching cond.
func tenantRollups(t *testing.T, tg sqldbtest.Target, tenantID int64, cond string) int64 {
	t.Helper()
	return sqldbtest.Count(t, tg.DB, fmt.Sprintf("rollups r JOIN series s ON s.id = r.series_id WHERE s.tenant_id = %d AND %s", tenantID, cond))
}

// writeSeries writes, for each of n series of metric name, one sample at
// every ts.
func writeSeries(t *testing.T, s *sqldbtest.Stores, tenantID int64, name string, n int, ts ...int64) {
	t.Helper()
	var samples []metric.Sample
	for i := range n {
		for _, at := range ts {
			samples = append(samples, sample(name, float64(at), map[string]string{"s": fmt.Sprint(i)}, at, ""))
		}
	}
	for start := 0; start < len(samples); start += 5000 {
		write(t, s, batch(tenantID, samples[start:min(start+5000, len(samples))]...))
	}
}

// insertRollups adds, for every series of tenantID, one rollup row per step
// and start.
func insertRollups(t *testing.T, tg sqldbtest.Target, tenantID int64, steps []int64, starts ...int64) {
	t.Helper()
	rows, err := tg.DB.QueryContext(sqldbtest.Ctx(t), "SELECT id FROM series WHERE tenant_id = ?", tenantID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		for _, step := range steps {
			for _, st := range starts {
				if _, err := tg.DB.ExecContext(sqldbtest.Ctx(t), "INSERT INTO rollups (series_id, step_ms, start_ts, count, sum, min, max) VALUES (?, ?, ?, 1, 1, 1, 1)", id, step, st); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func minutes(n int) int64 { return sqldbtest.Base.Add(time.Duration(n) * time.Minute).UnixMilli() }

func testRetentionSamples(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	a, b := sqldbtest.MkTenant(t, s, "acme"), sqldbtest.MkTenant(t, s, "globex")
	var ts []int64
	for i := range 40 {
		ts = append(ts, minutes(i))
	}
	writeSeries(t, s, a, "cpu", 3, ts...)
	writeSeries(t, s, b, "cpu", 3, ts...)
	cutoff := minutes(20)
	// A chunk smaller than the rows: several statements per page of series.
	n, err := s.DeleteSamplesBefore(sqldbtest.Ctx(t), a, cutoff, 7)
	if err != nil || n != 60 {
		t.Fatalf("DeleteSamplesBefore(acme, chunk 7) = %d, %v; want 60", n, err)
	}
	old := fmt.Sprintf("p.ts < %d", cutoff)
	if got := tenantRows(t, tg, a, old); got != 0 {
		t.Errorf("acme keeps %d rows older than the cutoff", got)
	}
	if got := tenantRows(t, tg, a, fmt.Sprintf("p.ts >= %d", cutoff)); got != 60 {
		t.Errorf("acme keeps %d newer rows, want 60", got)
	}
	if got := tenantRows(t, tg, b, "1 = 1"); got != 120 {
		t.Errorf("globex keeps %d rows, want all 120", got)
	}
	if n, err := s.DeleteSamplesBefore(sqldbtest.Ctx(t), a, cutoff, 7); err != nil || n != 0 {
		t.Errorf("second DeleteSamplesBefore = %d, %v; want 0", n, err)
	}
	// Chunk of one row; the cutoff itself is kept (ts < cutoff only).
	if n, err := s.DeleteSamplesBefore(sqldbtest.Ctx(t), b, minutes(2), 1); err != nil || n != 6 {
		t.Errorf("DeleteSamplesBefore(globex, chunk 1) = %d, %v; want 6", n, err)
	}
	if got := tenantRows(t, tg, b, fmt.Sprintf("p.ts = %d", minutes(2))); got != 3 {
		t.Errorf("globex rows at the cutoff = %d, want 3", got)
	}
	// Reads see the change.
	page, err := s.ReadRaw(sqldbtest.Ctx(t), metric.Query{TenantID: a, Name: "cpu", Start: minutes(0), End: minutes(40), MaxPoints: 1000, Interval: "raw"})
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range page.Series {
		if len(sp.Points) != 20 || sp.Points[0].TS != cutoff {
			t.Errorf("acme series %v reads %d points from %d, want 20 from %d", sp.Tags, len(sp.Points), sp.Points[0].TS, cutoff)
		}
	}
}

func testRetentionManySeries(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	a, b := sqldbtest.MkTenant(t, s, "acme"), sqldbtest.MkTenant(t, s, "globex")
	const many = 2345 // more than one page of series ids
	writeSeries(t, s, a, "m", many, minutes(-60), minutes(0))
	writeSeries(t, s, b, "m", 10, minutes(-60), minutes(0))
	n, err := s.DeleteSamplesBefore(sqldbtest.Ctx(t), a, minutes(-30), 700)
	if err != nil || n != many {
		t.Fatalf("DeleteSamplesBefore = %d, %v; want %d", n, err, many)
	}
	if got := tenantRows(t, tg, a, "1 = 1"); got != many {
		t.Errorf("acme keeps %d rows, want %d", got, many)
	}
	if got := tenantRows(t, tg, b, "1 = 1"); got != 20 {
		t.Errorf("globex keeps %d rows, want 20", got)
	}
}

func testRetentionRollups(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	a, b := sqldbtest.MkTenant(t, s, "acme"), sqldbtest.MkTenant(t, s, "globex")
	writeSeries(t, s, a, "m", 2, minutes(0))
	writeSeries(t, s, b, "m", 2, minutes(0))
	steps := []int64{60_000, 300_000}
	var starts []int64
	for k := range 10 {
		starts = append(starts, minutes(-60*k))
	}
	insertRollups(t, tg, a, steps, starts...)
	insertRollups(t, tg, b, steps, starts...)
	cutoff := minutes(-270) // k = 5..9 are older
	n, err := s.DeleteRollupsBefore(sqldbtest.Ctx(t), a, 60_000, cutoff, 3)
	if err != nil || n != 10 {
		t.Fatalf("DeleteRollupsBefore = %d, %v; want 10 (2 series x 5 buckets)", n, err)
	}
	if got := tenantRollups(t, tg, a, fmt.Sprintf("r.step_ms = 60000 AND r.start_ts < %d", cutoff)); got != 0 {
		t.Errorf("acme keeps %d old 1m rollups", got)
	}
	if got := tenantRollups(t, tg, a, "r.step_ms = 60000"); got != 10 {
		t.Errorf("acme keeps %d 1m rollups, want 10", got)
	}
	if got := tenantRollups(t, tg, a, "r.step_ms = 300000"); got != 20 {
		t.Errorf("acme keeps %d 5m rollups, want all 20 (another step)", got)
	}
	if got := tenantRollups(t, tg, b, "1 = 1"); got != 40 {
		t.Errorf("globex keeps %d rollups, want all 40", got)
	}
	if got := sqldbtest.Count(t, tg.DB, "samples"); got != 4 {
		t.Errorf("samples = %d: deleting rollups must not touch them", got)
	}
	if _, err := s.DeleteRollupsBefore(sqldbtest.Ctx(t), a, 0, cutoff, 3); err == nil {
		t.Error("DeleteRollupsBefore with step 0 returned nil")
	}
}

func testRetentionNoTenant(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	a := sqldbtest.MkTenant(t, s, "acme")
	writeSeries(t, s, a, "m", 3, minutes(-60), minutes(0))
	insertRollups(t, tg, a, []int64{60_000}, minutes(-60))
	for _, id := range []int64{0, -1} {
		if n, err := s.DeleteSamplesBefore(sqldbtest.Ctx(t), id, minutes(60), 10); !errors.Is(err, sqldb.ErrTenantRequired) || n != 0 {
			t.Errorf("DeleteSamplesBefore(tenant %d) = %d, %v; want sqldb.ErrTenantRequired", id, n, err)
		}
		if n, err := s.DeleteRollupsBefore(sqldbtest.Ctx(t), id, 60_000, minutes(60), 10); !errors.Is(err, sqldb.ErrTenantRequired) || n != 0 {
			t.Errorf("DeleteRollupsBefore(tenant %d) = %d, %v; want sqldb.ErrTenantRequired", id, n, err)
		}
	}
	// A tenant that does not exist has no rows: nothing is deleted.
	if n, err := s.DeleteSamplesBefore(sqldbtest.Ctx(t), a+1000, minutes(60), 10); err != nil || n != 0 {
		t.Errorf("DeleteSamplesBefore(unknown tenant) = %d, %v", n, err)
	}
	if got, r := sqldbtest.Count(t, tg.DB, "samples"), sqldbtest.Count(t, tg.DB, "rollups"); got != 6 || r != 3 {
		t.Errorf("after refused calls: samples %d (want 6), rollups %d (want 3)", got, r)
	}
}

func testRetentionCancelled(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	a := sqldbtest.MkTenant(t, s, "acme")
	writeSeries(t, s, a, "m", 3, minutes(-60))
	c, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.DeleteSamplesBefore(c, a, minutes(0), 10); err == nil {
		t.Error("DeleteSamplesBefore with a cancelled context returned nil")
	}
	if _, err := s.DeleteRollupsBefore(c, a, 60_000, minutes(0), 10); err == nil {
		t.Error("DeleteRollupsBefore with a cancelled context returned nil")
	}
	if got := sqldbtest.Count(t, tg.DB, "samples"); got != 3 {
		t.Errorf("samples = %d, want 3", got)
	}
}

// testRetentionRun runs the use case on the real store, as of a day 60
// days from now, so that on MariaDB the old rows sit in daily partitions
// created for them (the migration creates partitions from today on).
func testRetentionRun(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	today := time.Now().UTC()
	now := today.Add(60 * 24 * time.Hour)
	if _, err := s.EnsurePartitions(sqldbtest.Ctx(t), today, 70); err != nil {
		t.Fatal(err)
	}
	mk := func(slug string, days int) int64 {
		tn, err := tenant.New(slug, "", days, sqldbtest.Base)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.CreateTenant(sqldbtest.Ctx(t), tn)
		if err != nil {
			t.Fatal(err)
		}
		return got.ID
	}
	a, b := mk("short", 10), mk("long", 40)
	daysAgo := func(d int) int64 { return now.Add(-time.Duration(d) * 24 * time.Hour).UnixMilli() }
	for _, id := range []int64{a, b} {
		writeSeries(t, s, id, "m", 3, daysAgo(50), daysAgo(20), daysAgo(5), daysAgo(0))
		insertRollups(t, tg, id, []int64{60_000}, daysAgo(100), daysAgo(50))
		insertRollups(t, tg, id, []int64{300_000}, daysAgo(500), daysAgo(100))
	}
	svc, err := retention.New(s, retention.Options{Chunk: 2}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := svc.Run(sqldbtest.Ctx(t), now)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, c := range []struct {
		tenant int64
		kept   []int
	}{{a, []int{5, 0}}, {b, []int{20, 5, 0}}} {
		for _, d := range []int{50, 20, 5, 0} {
			want := int64(0)
			for _, k := range c.kept {
				if k == d {
					want = 3
				}
			}
			if got := tenantRows(t, tg, c.tenant, fmt.Sprintf("p.ts = %d", daysAgo(d))); got != want {
				t.Errorf("tenant %d: %d rows of %d days ago, want %d", c.tenant, got, d, want)
			}
		}
		// Rollups: 1m kept 90 days, 5m 400 days (both longer than the raw retention).
		for _, r := range []struct {
			step int64
			days int
			want int64
		}{{60_000, 100, 0}, {60_000, 50, 3}, {300_000, 500, 0}, {300_000, 100, 3}} {
			if got := tenantRollups(t, tg, c.tenant, fmt.Sprintf("r.step_ms = %d AND r.start_ts = %d", r.step, daysAgo(r.days))); got != r.want {
				t.Errorf("tenant %d: %d %d ms rollups of %d days ago, want %d", c.tenant, got, r.step, r.days, r.want)
			}
		}
	}
	if rep.RollupsDeleted != 12 {
		t.Errorf("rollups deleted = %d, want 12", rep.RollupsDeleted)
	}
	if s.Partitioned() {
		// The 50-day-old rows went with their partitions; the short tenant's
		// 20-day-old rows were deleted row by row.
		if len(rep.PartitionsDropped) == 0 || rep.RawDeleted != 3 {
			t.Errorf("partitioned: dropped %v, raw deleted %d (want 3)", rep.PartitionsDropped, rep.RawDeleted)
		}
	} else if rep.PartitionsDropped != nil || rep.RawDeleted != 9 {
		t.Errorf("unpartitioned: dropped %v, raw deleted %d (want 9)", rep.PartitionsDropped, rep.RawDeleted)
	}
	// A second run finds nothing more.
	rep, err = svc.Run(sqldbtest.Ctx(t), now)
	if err != nil || rep.RawDeleted != 0 || rep.RollupsDeleted != 0 || len(rep.PartitionsDropped) != 0 || len(rep.PartitionsCreated) != 0 {
		t.Errorf("second Run = %+v, %v; want nothing done", rep, err)
	}
}
