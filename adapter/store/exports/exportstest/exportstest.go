// Package exportstest is the contract suite of the exports' storage, run
// on SQLite and on MariaDB by adapter/store/exports.
package exportstest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/exports"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/usecase/export"
)

// Run runs the contract cases; open gives each case a migrated, empty
// database.
func Run(t *testing.T, open func(t *testing.T) sqldbtest.Target) {
	cases := []struct {
		name string
		fn   func(t *testing.T, tg sqldbtest.Target, st *exports.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"TenantIsolation", testIsolation},
		{"ClaimOldestOnce", testClaimOrder},
		{"ConcurrentClaimsTakeDifferentExports", testConcurrentClaims},
		{"ReclaimAfterTheLease", testReclaim},
		{"ChunksInOrder", testChunks},
		{"FailedDropsChunks", testFailed},
		{"ReleaseQueuesAgain", testRelease},
		{"Purge", testPurge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := open(t)
			c.fn(t, tg, exports.New(tg.Store.DB))
		})
	}
}

// base is the suite's "now" in Unix ms.
var base = sqldbtest.Base.UnixMilli()

func newExport(tenantID int64, name string) export.Export {
	return export.Export{TenantID: tenantID, Status: export.StatusQueued, CreatedAt: base, Request: export.Request{
		Name: name, Tags: map[string]string{"host": "=cmd|' /C calc'!A0", "dc": "ünï"}, Start: base - 3_600_000, End: base,
		Interval: "5m", Agg: "max", Gzip: true,
	}}
}

func create(t *testing.T, st *exports.Store, e export.Export) export.Export {
	t.Helper()
	got, err := st.CreateExport(sqldbtest.Ctx(t), e)
	if err != nil {
		t.Fatalf("CreateExport: %v", err)
	}
	return got
}

func claim(t *testing.T, st *exports.Store, holder string, now int64) (export.Export, bool) {
	t.Helper()
	e, ok, err := st.ClaimExport(sqldbtest.Ctx(t), holder, now, time.Second)
	if err != nil {
		t.Fatalf("ClaimExport: %v", err)
	}
	return e, ok
}

func get(t *testing.T, st *exports.Store, tenantID, id int64) export.Export {
	t.Helper()
	e, err := st.GetExport(sqldbtest.Ctx(t), tenantID, id)
	if err != nil {
		t.Fatalf("GetExport %d: %v", id, err)
	}
	return e
}

func file(t *testing.T, st *exports.Store, tenantID, id int64) []byte {
	t.Helper()
	var out []byte
	for seq := 0; ; seq++ {
		data, ok, err := st.ReadChunk(sqldbtest.Ctx(t), tenantID, id, seq)
		if err != nil {
			t.Fatalf("ReadChunk %d: %v", seq, err)
		}
		if !ok {
			return out
		}
		out = append(out, data...)
	}
}

func testRoundTrip(t *testing.T, tg sqldbtest.Target, st *exports.Store) {
	tid := sqldbtest.MkTenant(t, tg.Store, "acme")
	want := create(t, st, newExport(tid, "cpu.load"))
	if want.ID <= 0 {
		t.Fatalf("id %d", want.ID)
	}
	if got := get(t, st, tid, want.ID); !reflect.DeepEqual(got, want) {
		t.Errorf("GetExport\n got %+v\nwant %+v", got, want)
	}
	if got, err := st.ExportForLink(sqldbtest.Ctx(t), want.ID); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ExportForLink = %+v, %v", got, err)
	}
	bare := newExport(tid, "m")
	bare.Tags, bare.Gzip = nil, false
	bare = create(t, st, bare)
	if got := get(t, st, tid, bare.ID); !reflect.DeepEqual(got, bare) {
		t.Errorf("without tags\n got %+v\nwant %+v", got, bare)
	}
}

func testIsolation(t *testing.T, tg sqldbtest.Target, st *exports.Store) {
	acme, other := sqldbtest.MkTenant(t, tg.Store, "acme"), sqldbtest.MkTenant(t, tg.Store, "other")
	e := create(t, st, newExport(acme, "cpu.load"))
	if _, err := st.GetExport(sqldbtest.Ctx(t), other, e.ID); !errors.Is(err, export.ErrNotFound) {
		t.Errorf("another tenant's export: %v, want ErrNotFound", err)
	}
	c, _ := claim(t, st, "w1", base)
	if err := st.AppendChunk(sqldbtest.Ctx(t), c.ID, "w1", 0, []byte("secret"), base+1000); err != nil {
		t.Fatal(err)
	}
	if data, ok, err := st.ReadChunk(sqldbtest.Ctx(t), other, e.ID, 0); ok || err != nil || data != nil {
		t.Errorf("another tenant read a chunk: %q %t %v", data, ok, err)
	}
	for name, err := range map[string]error{
		"create": func() error { _, err := st.CreateExport(sqldbtest.Ctx(t), newExport(0, "m")); return err }(),
		"get":    func() error { _, err := st.GetExport(sqldbtest.Ctx(t), 0, e.ID); return err }(),
		"chunk":  func() error { _, _, err := st.ReadChunk(sqldbtest.Ctx(t), 0, e.ID, 0); return err }(),
	} {
		if !errors.Is(err, sqldb.ErrTenantRequired) {
			t.Errorf("%s without a tenant: %v", name, err)
		}
	}
	if _, err := st.ExportForLink(sqldbtest.Ctx(t), e.ID+100); !errors.Is(err, export.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
}
