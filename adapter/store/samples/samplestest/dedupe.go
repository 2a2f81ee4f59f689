package samplestest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// RunDedupe runs the contract cases of the dedupe window and of
// PurgeExpired; open is as for Run.
func RunDedupe(t *testing.T, open func(t *testing.T) sqldbtest.Target) {
	cases := []struct {
		name string
		fn   func(t *testing.T, tg sqldbtest.Target, clk *clock)
	}{
		{"WithinWindowStoredOnce", testDedupeWindow},
		{"CustomWindow", testDedupeCustomWindow},
		{"ConcurrentReuseOfExpiredID", testDedupeConcurrentReuse},
		{"PurgeRemovesOnlyExpired", testPurge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := open(t)
			clk := &clock{now: sqldbtest.Base}
			tg.Store.SetClock(clk.Now)
			c.fn(t, tg, clk)
		})
	}
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// writeDedupe writes one sample with dedupe id d at ts and returns the
// number of stored samples.
func writeDedupe(t *testing.T, tg sqldbtest.Target, tenantID int64, d string, ts int64) int64 {
	t.Helper()
	write(t, tg.Store, batch(tenantID, sample("m", float64(ts), nil, ts, d)))
	return sqldbtest.Count(t, tg.DB, "samples")
}

func testDedupeWindow(t *testing.T, tg sqldbtest.Target, clk *clock) {
	a := sqldbtest.MkTenant(t, tg.Store, "acme")
	ms := sqldbtest.Base.UnixMilli()
	steps := []struct {
		at   time.Duration // after sqldbtest.Base
		want int64         // samples stored afterwards
	}{
		{0, 1},
		{time.Hour, 1},
		{24*time.Hour - time.Millisecond, 1}, // last instant of the window
		{24 * time.Hour, 2},                  // the window has passed: stored again, window renewed
		{25 * time.Hour, 2},                  // within the renewed window
		{48*time.Hour - time.Millisecond, 2}, // still within it
		{48 * time.Hour, 3},                  // past the renewed window
	}
	for i, st := range steps {
		clk.Set(sqldbtest.Base.Add(st.at))
		if n := writeDedupe(t, tg, a, "req-1", ms+int64(i)); n != st.want {
			t.Fatalf("at sqldbtest.Base+%s: samples = %d, want %d", st.at, n, st.want)
		}
	}
	var created int64
	if err := tg.DB.QueryRowContext(sqldbtest.Ctx(t), "SELECT created_at FROM sample_dedupe WHERE dedupe_id = 'req-1'").Scan(&created); err != nil {
		t.Fatal(err)
	}
	if want := sqldbtest.Base.Add(48 * time.Hour).UnixMilli(); created != want {
		t.Fatalf("created_at = %d, want %d (renewed on reuse)", created, want)
	}
}

func testDedupeCustomWindow(t *testing.T, tg sqldbtest.Target, clk *clock) {
	tg.Store.SetDedupeWindow(time.Minute)
	a := sqldbtest.MkTenant(t, tg.Store, "acme")
	ms := sqldbtest.Base.UnixMilli()
	writeDedupe(t, tg, a, "req-1", ms)
	clk.Set(sqldbtest.Base.Add(59 * time.Second))
	if n := writeDedupe(t, tg, a, "req-1", ms+1); n != 1 {
		t.Fatalf("within a 1 min window: samples = %d, want 1", n)
	}
	clk.Set(sqldbtest.Base.Add(time.Minute))
	if n := writeDedupe(t, tg, a, "req-1", ms+2); n != 2 {
		t.Fatalf("after a 1 min window: samples = %d, want 2", n)
	}
}

func testDedupeConcurrentReuse(t *testing.T, tg sqldbtest.Target, clk *clock) {
	a := sqldbtest.MkTenant(t, tg.Store, "acme")
	ms := sqldbtest.Base.UnixMilli()
	writeDedupe(t, tg, a, "req-1", ms)
	clk.Set(sqldbtest.Base.Add(25 * time.Hour))
	const writers = 8
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = tg.Store.WriteBatches(sqldbtest.Ctx(t), []metric.Batch{batch(a, sample("m", 1, nil, ms+1+int64(i), "req-1"))})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if n := sqldbtest.Count(t, tg.DB, "samples"); n != 2 {
		t.Fatalf("samples = %d, want 2 (the expired id reused once)", n)
	}
}

func testPurge(t *testing.T, tg sqldbtest.Target, clk *clock) {
	s := tg.Store
	a := sqldbtest.MkTenant(t, s, "acme")
	ms := sqldbtest.Base.UnixMilli()
	// More expired dedupe rows than one purge statement deletes.
	const old = 12001
	var sb strings.Builder
	for i := range old {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, "(%d, 'old-%d', %d)", a, i, ms)
	}
	if _, err := tg.DB.ExecContext(sqldbtest.Ctx(t), "INSERT INTO sample_dedupe (tenant_id, dedupe_id, created_at) VALUES "+sb.String()); err != nil {
		t.Fatal(err)
	}
	clk.Set(sqldbtest.Base.Add(23 * time.Hour))
	writeDedupe(t, tg, a, "young", ms)
	clk.Set(sqldbtest.Base)
	var st ingest.IdempotencyStore = s
	for _, k := range []struct {
		key string
		ttl time.Duration
	}{{"expired", time.Hour}, {"live", 48 * time.Hour}} {
		if _, found, err := st.Reserve(sqldbtest.Ctx(t), a, k.key, ingest.IdempotencyRecord{RequestID: k.key}, k.ttl); err != nil || found {
			t.Fatalf("Reserve %s: found=%v, %v", k.key, found, err)
		}
	}
	n, err := s.PurgeExpired(sqldbtest.Ctx(t), sqldbtest.Base.Add(24*time.Hour))
	if err != nil {
		t.Fatalf("PurgeExpired: %v", err)
	}
	if n != old+1 {
		t.Fatalf("purged %d rows, want %d", n, old+1)
	}
	if n := sqldbtest.Count(t, tg.DB, "sample_dedupe WHERE dedupe_id = 'young'"); n != 1 || sqldbtest.Count(t, tg.DB, "sample_dedupe") != 1 {
		t.Fatalf("sample_dedupe keeps %d rows, want only the young one", sqldbtest.Count(t, tg.DB, "sample_dedupe"))
	}
	if n := sqldbtest.Count(t, tg.DB, "idempotency_keys WHERE idem_key = 'live'"); n != 1 || sqldbtest.Count(t, tg.DB, "idempotency_keys") != 1 {
		t.Fatalf("idempotency_keys keeps %d rows, want only the live one", sqldbtest.Count(t, tg.DB, "idempotency_keys"))
	}
	if n := sqldbtest.Count(t, tg.DB, "samples"); n != 1 {
		t.Fatalf("samples = %d: purge must not touch them", n)
	}
	// Nothing more to purge.
	if n, err := s.PurgeExpired(sqldbtest.Ctx(t), sqldbtest.Base.Add(24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("second PurgeExpired = %d, %v; want 0", n, err)
	}
}
