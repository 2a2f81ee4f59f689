package telemetry_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pulsemetrics/pulse/infrastructure/telemetry"
)

// Two callers of one registry share the series; every finished job counts
// once by status, its rows and its duration.
func TestExportMetrics(t *testing.T) {
	reg := telemetry.NewRegistry("test")
	reg.Exports().Finished("done", 259200, 3*time.Second)
	reg.Exports().Finished("failed", 10, time.Second)
	want := `
# HELP pulse_export_rows_total Rows written by the CSV export jobs (failed ones' too).
# TYPE pulse_export_rows_total counter
pulse_export_rows_total 259210
# HELP pulse_exports_total CSV export jobs finished, by status: done or failed.
# TYPE pulse_exports_total counter
pulse_exports_total{status="done"} 1
pulse_exports_total{status="failed"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "pulse_exports_total", "pulse_export_rows_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "pulse_export_duration_seconds"); n != 1 {
		t.Errorf("%d duration series, want 1", n)
	}
}
