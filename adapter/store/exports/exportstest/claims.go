package exportstest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/exports"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/usecase/export"
)

// The job's side: claims, chunks, outcomes and the purge.

func testClaimOrder(t *testing.T, tg sqldbtest.Target, st *exports.Store) {
	tid := sqldbtest.MkTenant(t, tg.Store, "acme")
	first, second := create(t, st, newExport(tid, "a")), create(t, st, newExport(tid, "b"))
	got, ok := claim(t, st, "w1", base)
	want := first
	want.Status, want.Attempts, want.StartedAt = export.StatusRunning, 1, base
	if !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("first claim = %+v %t, want %+v", got, ok, want)
	}
	if stored := get(t, st, tid, first.ID); !reflect.DeepEqual(stored, want) {
		t.Errorf("stored after the claim %+v, want %+v", stored, want)
	}
	if got, ok := claim(t, st, "w2", base); !ok || got.ID != second.ID {
		t.Fatalf("second claim = %+v %t, want export %d", got, ok, second.ID)
	}
	if got, ok := claim(t, st, "w3", base+999); ok {
		t.Fatalf("a live claim was taken: %+v", got)
	}
}

func testConcurrentClaims(t *testing.T, tg sqldbtest.Target, st *exports.Store) {
	tid := sqldbtest.MkTenant(t, tg.Store, "acme")
	const n = 12
	for i := range n {
		create(t, st, newExport(tid, fmt.Sprintf("m%d", i)))
	}
	var (
		mu  sync.Mutex
		got = map[int64]string{}
		wg  sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			holder := fmt.Sprintf("w%d", w)
			for {
				e, ok, err := st.ClaimExport(sqldbtest.Ctx(t), holder, base, time.Minute)
				if err != nil {
					t.Errorf("%s: %v", holder, err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				if prev, dup := got[e.ID]; dup {
					t.Errorf("export %d claimed by %s and %s", e.ID, prev, holder)
				}
				got[e.ID] = holder
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(got) != n {
		t.Errorf("%d exports claimed, want %d", len(got), n)
	}
}

func testReclaim(t *testing.T, tg sqldbtest.Target, st *exports.Store) {
	tid := sqldbtest.MkTenant(t, tg.Store, "acme")
	e := create(t, st, newExport(tid, "m"))
	claim(t, st, "w1", base) // until base+1000
	ctx := sqldbtest.Ctx(t)
	if err := st.AppendChunk(ctx, e.ID, "w1", 0, []byte("old"), base+1000); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveProgress(ctx, e.ID, "w1", 5, 0.5, base+1000); err != nil {
		t.Fatal(err)
	}
	got, ok := claim(t, st, "w2", base+1001) // w1 died
	if !ok || got.ID != e.ID || got.Attempts != 2 || got.Rows != 0 || got.Progress != 0 || got.Bytes != 0 {
		t.Fatalf("reclaim = %+v %t", got, ok)
	}
	if stored := get(t, st, tid, e.ID); stored.Rows != 0 || stored.Progress != 0 || stored.Bytes != 0 || stored.Attempts != 2 {
		t.Errorf("stored after the reclaim: %+v", stored)
	}
	if f := file(t, st, tid, e.ID); len(f) != 0 {
		t.Errorf("the dead worker's chunks are still there: %q", f)
	}
	for name, err := range map[string]error{
		"chunk":    st.AppendChunk(ctx, e.ID, "w1", 1, []byte("late"), base+2000),
		"progress": st.SaveProgress(ctx, e.ID, "w1", 9, 0.9, base+2000),
		"finish":   st.FinishExport(ctx, e.ID, "w1", export.StatusDone, 9, "", base+2000),
		"release":  st.ReleaseExport(ctx, e.ID, "w1"),
	} {
		if !errors.Is(err, export.ErrClaimLost) {
			t.Errorf("the old holder's %s: %v, want ErrClaimLost", name, err)
		}
	}
	if f := file(t, st, tid, e.ID); len(f) != 0 {
		t.Errorf("the old holder wrote a chunk: %q", f)
	}
	if err := st.SaveProgress(ctx, e.ID, "w2", 0, 0, base+2001); err != nil {
		t.Errorf("the new holder's unchanged progress: %v", err)
	}
}

func testChunks(t *testing.T, tg sqldbtest.Target, st *exports.Store) {
	tid := sqldbtest.MkTenant(t, tg.Store, "acme")
	e := create(t, st, newExport(tid, "m"))
	claim(t, st, "w1", base)
	ctx := sqldbtest.Ctx(t)
	big := bytes.Repeat([]byte{0, 0xff, '\r', '\n', 'x'}, 1<<20/5) // a 1 MiB chunk of binary bytes
	parts := [][]byte{big, []byte("\x1f\x8b second"), []byte("third")}
	var want []byte
	for i, p := range parts {
		if err := st.AppendChunk(ctx, e.ID, "w1", i, p, base+1000); err != nil {
			t.Fatalf("AppendChunk %d: %v", i, err)
		}
		want = append(want, p...)
	}
	if err := st.AppendChunk(ctx, e.ID, "w1", 1, []byte("again"), base+1000); err == nil {
		t.Error("a chunk number was stored twice")
	}
	if err := st.FinishExport(ctx, e.ID, "w1", export.StatusDone, 42, "", base+500); err != nil {
		t.Fatal(err)
	}
	if got := file(t, st, tid, e.ID); !bytes.Equal(got, want) {
		t.Errorf("file of %d bytes, want %d", len(got), len(want))
	}
	got := get(t, st, tid, e.ID)
	if got.Status != export.StatusDone || got.Rows != 42 || got.Progress != 1 || got.Bytes != int64(len(want)) || got.FinishedAt != base+500 {
		t.Errorf("done export %+v", got)
	}
	if _, ok := claim(t, st, "w2", base+5000); ok {
		t.Error("a done export was claimed")
	}
}

func testFailed(t *testing.T, tg sqldbtest.Target, st *exports.Store) {
	tid := sqldbtest.MkTenant(t, tg.Store, "acme")
	e := create(t, st, newExport(tid, "m"))
	claim(t, st, "w1", base)
	ctx := sqldbtest.Ctx(t)
	if err := st.AppendChunk(ctx, e.ID, "w1", 0, []byte("partial"), base+1000); err != nil {
		t.Fatal(err)
	}
	msg := "the export has more than 1 rows; " + strings.Repeat("é", 2000)
	if err := st.FinishExport(ctx, e.ID, "w1", export.StatusFailed, 3, msg, base+10); err != nil {
		t.Fatal(err)
	}
	got := get(t, st, tid, e.ID)
	if got.Status != export.StatusFailed || got.Rows != 3 || !strings.HasPrefix(msg, got.Error) || len(got.Error) > 1000 || got.Error == "" {
		t.Errorf("failed export %+v", got)
	}
	if f := file(t, st, tid, e.ID); len(f) != 0 {
		t.Errorf("a failed export kept its chunks: %q", f)
	}
}

func testRelease(t *testing.T, tg sqldbtest.Target, st *exports.Store) {
	tid := sqldbtest.MkTenant(t, tg.Store, "acme")
	e := create(t, st, newExport(tid, "m"))
	claim(t, st, "w1", base)
	if err := st.ReleaseExport(sqldbtest.Ctx(t), e.ID, "w1"); err != nil {
		t.Fatal(err)
	}
	if got := get(t, st, tid, e.ID); got.Status != export.StatusQueued || got.Attempts != 0 {
		t.Errorf("released export %+v", got)
	}
	if got, ok := claim(t, st, "w2", base+1); !ok || got.ID != e.ID || got.Attempts != 1 {
		t.Errorf("claim after a release = %+v %t", got, ok)
	}
}

func testPurge(t *testing.T, tg sqldbtest.Target, st *exports.Store) {
	tid := sqldbtest.MkTenant(t, tg.Store, "acme")
	old := newExport(tid, "old")
	old.CreatedAt = base - 25*3_600_000
	o1, o2 := create(t, st, old), create(t, st, old)
	fresh := create(t, st, newExport(tid, "fresh"))
	ctx := sqldbtest.Ctx(t)
	c, _ := claim(t, st, "w1", base)
	if c.ID != o1.ID {
		t.Fatalf("claimed %d, want %d", c.ID, o1.ID)
	}
	for i := range 3 {
		if err := st.AppendChunk(ctx, o1.ID, "w1", i, []byte("x"), base+1000); err != nil {
			t.Fatal(err)
		}
	}
	ex, ch, err := st.PurgeExports(ctx, base-24*3_600_000)
	if err != nil || ex != 2 || ch != 3 {
		t.Fatalf("PurgeExports = %d exports, %d chunks, %v; want 2, 3", ex, ch, err)
	}
	for _, id := range []int64{o1.ID, o2.ID} {
		if _, err := st.GetExport(ctx, tid, id); !errors.Is(err, export.ErrNotFound) {
			t.Errorf("purged export %d: %v", id, err)
		}
	}
	get(t, st, tid, fresh.ID)
	if n := sqldbtest.Count(t, tg.DB, "export_chunks"); n != 0 {
		t.Errorf("%d chunks left", n)
	}
	if err := st.AppendChunk(ctx, o1.ID, "w1", 3, []byte("x"), base+1000); !errors.Is(err, export.ErrClaimLost) {
		t.Errorf("a job writing a purged export: %v, want ErrClaimLost", err)
	}
}
