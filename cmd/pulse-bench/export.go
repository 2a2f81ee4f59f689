package main

import (
	"context"
	"fmt"
	"time"

	"github.com/pulsemetrics/pulse/infrastructure/wiring"
	"github.com/pulsemetrics/pulse/usecase/export"
)

// timeExports runs exports of the rollup benchmark's long series through
// the export job (pages through the query use case, CSV, chunks into the
// database) and prints rows/s: raw over the whole range (259,200 rows for
// 30 days at 10 s), then 5m buckets.
func timeExports(ctx context.Context, p *wiring.Pipeline, tenantID int64, start, end time.Time) error {
	for _, c := range []struct {
		label, interval string
		gzip            bool
	}{
		{"(u) export, 30 days raw of one series", "raw", false},
		{"    export, the same gzipped", "raw", true},
		{"    export, 30 days at 5m", "5m", false},
	} {
		e, err := p.Exports.Create(ctx, tenantID, export.Request{Name: "bench.cpu", Tags: map[string]string{"host": "h-00"},
			Start: start.UnixMilli(), End: end.UnixMilli(), Interval: c.interval, Agg: "avg", Gzip: c.gzip})
		if err != nil {
			return fmt.Errorf("%s: create: %w", c.label, err)
		}
		out, ran, err := p.Exports.RunOne(ctx)
		switch {
		case err != nil:
			return fmt.Errorf("%s: %w", c.label, err)
		case !ran || out.ID != e.ID || out.Status != export.StatusDone:
			return fmt.Errorf("%s: the job ran %v, export %d ended %q", c.label, ran, out.ID, out.Status)
		}
		fmt.Printf("%-56s %8.0f rows/s (%d rows, %.1f MB, %s)\n", c.label, float64(out.Rows)/out.Took.Seconds(), out.Rows,
			float64(out.Bytes)/1e6, out.Took.Round(time.Millisecond))
	}
	return nil
}
