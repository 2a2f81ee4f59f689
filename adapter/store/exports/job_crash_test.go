package exports_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/export/csvexport"
	"github.com/pulsemetrics/pulse/adapter/store/exports"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/usecase/export"
)

// A worker killed mid-export leaves its claim to lapse: after the lease
// another worker claims the export, drops the dead one's chunks and writes
// the whole file again.
func TestAKilledWorkersExportIsWrittenAgainFromScratch(t *testing.T) {
	w := newJobWorld(t, sqldbtest.SQLite(t), export.Options{})
	start := sqldbtest.Base
	w.write(t, "m", map[string]string{"host": "a"}, start, time.Second, 50, func(i int) float64 { return float64(i) })
	ctx := sqldbtest.Ctx(t)
	req := export.Request{Name: "m", Start: start.UnixMilli(), End: start.Add(time.Hour).UnixMilli(), Interval: "raw"}
	e, err := w.svc.Create(ctx, w.tenant, req)
	if err != nil {
		t.Fatal(err)
	}
	st := exports.New(w.tg.Store.DB)
	if _, ok, err := st.ClaimExport(ctx, "dead-worker", w.now.UnixMilli(), time.Minute); err != nil || !ok {
		t.Fatalf("claim: %t %v", ok, err)
	}
	if err := st.AppendChunk(ctx, e.ID, "dead-worker", 0, []byte("half a file from the dead worker\r\n"), w.now.Add(time.Minute).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if _, ran, err := w.svc.RunOne(ctx); ran || err != nil { // the claim is live: nothing to run
		t.Fatalf("RunOne during the claim: %t %v", ran, err)
	}
	w.now = w.now.Add(time.Minute + time.Millisecond)
	out, ran, err := w.svc.RunOne(ctx)
	if err != nil || !ran || out.ID != e.ID || out.Status != export.StatusDone || out.Rows != 50 {
		t.Fatalf("RunOne after the lease = %+v %t %v", out, ran, err)
	}
	v, err := w.svc.Get(ctx, w.tenant, e.ID)
	if err != nil || v.Attempts != 2 {
		t.Fatalf("export %+v, %v: want its second attempt", v.Export, err)
	}
	var file bytes.Buffer
	if _, err := w.svc.Copy(ctx, v.Export, &file); err != nil {
		t.Fatal(err)
	}
	text := file.String()
	if _, rows, err := csvexport.Read(&file); err != nil || len(rows) != 50 || strings.Contains(text, "dead worker") {
		t.Fatalf("file of %d rows (%v):\n%s", len(rows), err, text)
	}
}
