package samplestest

import (
	"reflect"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/flush"
)

// testWritten: a write accounts for every sample per tenant, as stored, a
// repeat of a stored (series, ts) or a dedupe_id seen before, so that the
// workers can count what the first-write-wins rule dropped.
func testWritten(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	a, b := sqldbtest.MkTenant(t, s, "written-a"), sqldbtest.MkTenant(t, s, "written-b")
	ms := sqldbtest.Base.UnixMilli()
	first := []metric.Batch{
		batch(a, sample("m", 1, nil, ms, ""), sample("m", 2, nil, ms+10, ""), sample("m", 9, nil, ms, "")), // one repeat in the call
		batch(b, sample("m", 1, nil, ms, "d-1"), sample("m", 2, nil, ms+1, "d-1")),                         // one dedupe in the call
	}
	got, err := s.WriteBatches(sqldbtest.Ctx(t), first)
	if err != nil {
		t.Fatal(err)
	}
	want := flush.Written{a: {Stored: 2, Repeated: 1}, b: {Stored: 1, Deduped: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("first write = %+v, want %+v", got, want)
	}
	again := []metric.Batch{
		batch(a, sample("m", 5, nil, ms+10, ""), sample("m", 6, nil, ms+20, "")), // ms+10 is stored
		batch(b, sample("m", 3, nil, ms+2, "d-1")),                               // d-1 seen in the window
	}
	if got, err = s.WriteBatches(sqldbtest.Ctx(t), again); err != nil {
		t.Fatal(err)
	}
	want = flush.Written{a: {Stored: 1, Repeated: 1}, b: {Deduped: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("second write = %+v, want %+v", got, want)
	}
	if n := sqldbtest.Count(t, tg.DB, "samples"); n != 4 {
		t.Errorf("samples rows = %d, want 4", n)
	}
}
