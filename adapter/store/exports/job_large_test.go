package exports_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/export/csvexport"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/usecase/export"
)

// The job at size: a month of one series, and the rows/s benchmark.

// Thirty days of one series every 10 s (259,200 raw rows) export whole.
func TestThirtyDayRawExport(t *testing.T) {
	w := newJobWorld(t, sqldbtest.SQLite(t), export.Options{})
	start := sqldbtest.Base.Truncate(24 * time.Hour)
	const n = 30 * 24 * 360
	w.write(t, "disk.free", map[string]string{"host": "db-1"}, start, 10*time.Second, n, func(i int) float64 { return float64(i) / 4 })
	began := time.Now()
	out, file := w.export(t, export.Request{Name: "disk.free", Start: start.UnixMilli(), End: start.Add(30 * 24 * time.Hour).UnixMilli(), Interval: "raw"})
	took := time.Since(began)
	if out.Rows != n {
		t.Fatalf("%d rows, want %d", out.Rows, n)
	}
	_, rows, err := csvexport.Read(bytes.NewReader(file))
	if err != nil || len(rows) != n {
		t.Fatalf("read %d rows, %v", len(rows), err)
	}
	if first, last := rows[0].Point, rows[n-1].Point; first.TS != start.UnixMilli() || last.TS != start.Add((n-1)*10*time.Second).UnixMilli() || last.Value != float64(n-1)/4 {
		t.Errorf("first %+v, last %+v", first, last)
	}
	t.Logf("%d rows, %d bytes in %s (%.0f rows/s)", n, len(file), took.Round(time.Millisecond), float64(n)/took.Seconds())
}

// BenchmarkExportRaw times the job alone (claim, pages, CSV, chunks,
// finish) over 100,000 raw rows of one series; rows/s is the figure.
func BenchmarkExportRaw(b *testing.B) {
	w := newJobWorld(b, sqldbtest.SQLite(b), export.Options{})
	start := sqldbtest.Base
	const n = 100_000
	w.write(b, "bench.metric", map[string]string{"host": "a"}, start, time.Second, n, func(i int) float64 { return float64(i) })
	req := export.Request{Name: "bench.metric", Start: start.UnixMilli(), End: start.Add(n * time.Second).UnixMilli(), Interval: "raw"}
	ctx := context.Background()
	var rows int64
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		if _, err := w.svc.Create(ctx, w.tenant, req); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		out, _, err := w.svc.RunOne(ctx)
		if err != nil || out.Status != export.StatusDone {
			b.Fatalf("RunOne = %+v, %v", out, err)
		}
		rows += out.Rows
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
