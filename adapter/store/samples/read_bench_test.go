package samples_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/rollup"
	"github.com/pulsemetrics/pulse/domain/tenant"
)

// readFixture writes 30 days of one series every 10 s among 20 series of
// its name (the others: the last day), rolls them up, and returns the
// tenant and the range.
func readFixture(b *testing.B, s *sqldbtest.Stores) (int64, int64, int64) {
	ctx := context.Background()
	end := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	tn, err := tenant.New("readbench", "", 400, end)
	if err != nil {
		b.Fatal(err)
	}
	created, err := s.CreateTenant(ctx, tn)
	if err != nil {
		b.Fatal(err)
	}
	for sr := 0; sr < 20; sr++ {
		from := end.Add(-30 * 24 * time.Hour)
		if sr > 0 {
			from = end.Add(-24 * time.Hour)
		}
		tags := metric.SortedTags(map[string]string{"host": fmt.Sprintf("h-%02d", sr)})
		var batch []metric.Sample
		for ts := from; ts.Before(end); ts = ts.Add(10 * time.Second) {
			batch = append(batch, metric.Rehydrate("read.cpu", float64(ts.Unix()%97), tags, ts.UnixMilli(), ""))
			if len(batch) == 10000 {
				if _, err := s.WriteBatches(ctx, []metric.Batch{{ID: "r", TenantID: created.ID, Samples: batch}}); err != nil {
					b.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		if _, err := s.WriteBatches(ctx, []metric.Batch{{ID: "r", TenantID: created.ID, Samples: batch}}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.AcquireLease(ctx, rollup.LeaseName, "bench", time.Hour); err != nil {
		b.Fatal(err)
	}
	for {
		p, err := s.RollupPending(ctx, "bench", rollup.DefaultSteps, 5000)
		if err != nil {
			b.Fatal(err)
		}
		if p.Pending == 0 {
			break
		}
	}
	return created.ID, end.Add(-30 * 24 * time.Hour).UnixMilli(), end.UnixMilli()
}

// BenchmarkReadMariaDB reads the 30-day series at 5m (8,640 buckets) and one
// day of one series among 20 raw (8,640 samples), one page each.
func BenchmarkReadMariaDB(b *testing.B) {
	s := sqldbtest.MariaDB(b).Store
	tid, start, end := readFixture(b, s)
	ctx := context.Background()
	b.Run("5m-30d", func(b *testing.B) {
		q := metric.Query{TenantID: tid, Name: "read.cpu", Tags: map[string]string{"host": "h-00"}, Start: start, End: end, MaxPoints: 10000}
		for b.Loop() {
			p, err := s.ReadRollups(ctx, q, 300_000)
			if err != nil || len(p.Series[0].Points) != 8640 {
				b.Fatal(err)
			}
		}
	})
	b.Run("coverage-5m-30d", func(b *testing.B) {
		q := metric.Query{TenantID: tid, Name: "read.cpu", Tags: map[string]string{"host": "h-00"}, Start: start, End: end}
		for b.Loop() {
			if _, _, err := s.RollupCoverage(ctx, q, 300_000); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw-1d-of-20", func(b *testing.B) {
		q := metric.Query{TenantID: tid, Name: "read.cpu", Tags: map[string]string{"host": "h-07"}, Start: end - 86_400_000, End: end, MaxPoints: 10000}
		for b.Loop() {
			p, err := s.ReadRaw(ctx, q)
			if err != nil || len(p.Series[0].Points) != 8640 {
				b.Fatal(err)
			}
		}
	})
}
