package samplestest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/rollup"
)

// RunRollups is the contract of the rollup job and the rollup reads
// (RollupPending, ReadRollups, RollupCoverage, AcquireLease); open is as for Run.
func RunRollups(t *testing.T, open func(t *testing.T) sqldbtest.Target) {
	cases := []struct {
		name string
		fn   func(t *testing.T, tg sqldbtest.Target)
	}{
		{"PropertyRollupsEqualNaive", testRollupProperty},
		{"StitchedEachMinuteOnce", testRollupStitch},
		{"Idempotent", testRollupIdempotent},
		{"Pagination", testRollupPagination},
		{"Coverage", testRollupCoverage},
		{"RollupsOutliveRaw", testRollupsOutliveRaw},
		{"Lease", testLease},
		{"PassNeedsTheLease", testPassNeedsTheLease},
		{"DerivedStep", testDerivedStep},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

var rollupSteps = rollup.DefaultSteps

// naive holds the first-written value of each (series, ts): what the store
// keeps (INSERT IGNORE, first write wins).
type naive map[string]map[int64]float64

func (n naive) add(tags string, ts int64, v float64) {
	if n[tags] == nil {
		n[tags] = map[int64]float64{}
	}
	if _, ok := n[tags][ts]; !ok {
		n[tags][ts] = v
	}
}

// buckets aggregates the naive data of [from, to) into step buckets.
func (n naive) buckets(step, from, to int64) map[string]map[int64]rollup.Aggregate {
	out := map[string]map[int64]rollup.Aggregate{}
	for tags, pts := range n {
		for ts, v := range pts {
			b := rollup.BucketStart(ts, step)
			if b < from || b >= to {
				continue
			}
			if out[tags] == nil {
				out[tags] = map[int64]rollup.Aggregate{}
			}
			out[tags][b] = out[tags][b].Add(v)
		}
	}
	return out
}

// readRollupsAll follows the cursor of ReadRollups and returns every
// bucket by series; it fails when a bucket appears twice.
func readRollupsAll(t *testing.T, s *sqldbtest.Stores, q metric.Query, step int64) map[string]map[int64]rollup.Aggregate {
	t.Helper()
	return readPages(t, q, step, func(q metric.Query) (metric.Page, error) { return s.ReadRollups(sqldbtest.Ctx(t), q, step) })
}

// readPages follows the cursor of read and returns every bucket by series;
// it fails when a bucket appears twice, a page is over MaxPoints, a page
// names another interval than step, or a point's value is not its average.
func readPages(t *testing.T, q metric.Query, step int64, read func(metric.Query) (metric.Page, error)) map[string]map[int64]rollup.Aggregate {
	t.Helper()
	out := map[string]map[int64]rollup.Aggregate{}
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("pagination does not end")
		}
		page, err := read(q)
		if err != nil {
			t.Fatalf("read rollups: %v", err)
		}
		if page.Interval != rollup.Name(step) {
			t.Fatalf("page interval %q, want %q", page.Interval, rollup.Name(step))
		}
		n := 0
		for _, sp := range page.Series {
			k := tagKey(sp.Tags)
			if out[k] == nil {
				out[k] = map[int64]rollup.Aggregate{}
			}
			for _, p := range sp.Points {
				if _, dup := out[k][p.TS]; dup {
					t.Fatalf("series %s bucket %d returned twice", k, p.TS)
				}
				if p.Count > 0 && math.Abs(p.Value-p.Sum/float64(p.Count)) > 1e-9*math.Max(1, math.Abs(p.Value)) {
					t.Fatalf("point %+v: value is not the average", p)
				}
				out[k][p.TS] = rollup.Aggregate{Count: p.Count, Sum: p.Sum, Min: p.Min, Max: p.Max}
				n++
			}
		}
		if q.MaxPoints > 0 && n > q.MaxPoints {
			t.Fatalf("page holds %d points, max %d", n, q.MaxPoints)
		}
		if !page.Next.Set {
			return out
		}
		q.Cursor = page.Next
	}
}

func sameBuckets(t *testing.T, what string, got, want map[string]map[int64]rollup.Aggregate) {
	t.Helper()
	for tags, wb := range want {
		for b, w := range wb {
			g, ok := got[tags][b]
			if !ok {
				t.Fatalf("%s: series %q bucket %s missing", what, tags, time.UnixMilli(b).UTC().Format(time.TimeOnly))
			}
			if g.Count != w.Count || g.Min != w.Min || g.Max != w.Max || math.Abs(g.Sum-w.Sum) > 1e-9*math.Max(1, math.Abs(w.Sum)) {
				t.Fatalf("%s: series %q bucket %s = %+v, want %+v", what, tags, time.UnixMilli(b).UTC().Format(time.TimeOnly), g, w)
			}
		}
	}
	for tags, gb := range got {
		for b := range gb {
			if _, ok := want[tags][b]; !ok {
				t.Fatalf("%s: series %q bucket %d should not exist", what, tags, b)
			}
		}
	}
}

func rollupQuery(tenantID int64, name string, max int) metric.Query {
	return metric.Query{TenantID: tenantID, Name: name, Start: sqldbtest.Base.Add(-6 * time.Hour).UnixMilli(), End: sqldbtest.Base.Add(6 * time.Hour).UnixMilli(), MaxPoints: max}
}

func runRollup(t *testing.T, s *sqldbtest.Stores, limit int) rollup.Pass {
	t.Helper()
	var total rollup.Pass
	if ok, err := s.AcquireLease(sqldbtest.Ctx(t), rollup.LeaseName, "storetest", time.Hour); err != nil || !ok {
		t.Fatalf("AcquireLease = %v, %v", ok, err)
	}
	for {
		r, err := s.RollupPending(sqldbtest.Ctx(t), "storetest", rollupSteps, limit)
		if err != nil {
			t.Fatalf("RollupPending: %v", err)
		}
		if r.Pending == 0 {
			return total
		}
		total.Pending += r.Pending
		total.RawRows += r.RawRows
		total.Buckets += r.Buckets
	}
}

// Random samples over three hours, written in rounds with late,
// out-of-order and duplicate ones, the job run between some rounds: after
// every round the stitched reads, and after the job the stored rollups,
// equal a naive aggregation of the raw data at both steps.
func testRollupProperty(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "roll")
	other := sqldbtest.MkTenant(t, s, "other")
	r := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	data := naive{}
	hosts := []string{"a", "b", "c"}
	start := sqldbtest.Base.Add(-3 * time.Hour).UnixMilli()
	for round := 0; round < 8; round++ {
		var samples []metric.Sample
		for i := 0; i < 50+r.IntN(250); i++ {
			h := hosts[r.IntN(len(hosts))]
			ts := start + r.Int64N(3*3600_000)
			if round > 0 && r.IntN(4) == 0 { // an exact duplicate key with another value
				ts = start + int64(r.IntN(20))*60_000
			}
			v := math.Round(r.NormFloat64()*1000) / 8
			samples = append(samples, sample("roll.m", v, map[string]string{"host": h}, ts, ""))
		}
		write(t, s, batch(tid, samples...))
		// The first write of a key wins within a batch too.
		for _, smp := range samples {
			data.add("host="+smp.Tags()[0].Value, smp.TimestampMillis(), smp.Value())
		}
		// The other tenant's same-named samples never show up.
		write(t, s, batch(other, sample("roll.m", 1e9, map[string]string{"host": "a"}, start+r.Int64N(3*3600_000), "")))

		q := rollupQuery(tid, "roll.m", 1+r.IntN(400))
		for _, step := range rollupSteps {
			sameBuckets(t, fmt.Sprintf("round %d before the job, %s", round, rollup.Name(step)),
				readRollupsAll(t, s, q, step), data.buckets(step, q.Start, q.End))
		}
		if round%3 == 2 {
			continue // leave some rounds pending across the next write
		}
		runRollup(t, s, 1+r.IntN(5)) // small batches: many job transactions
		if n, err := s.PendingRollups(sqldbtest.Ctx(t)); err != nil || n != 0 {
			t.Fatalf("PendingRollups after the job = %d, %v", n, err)
		}
		for _, step := range rollupSteps {
			want := data.buckets(step, q.Start, q.End)
			sameBuckets(t, fmt.Sprintf("round %d after the job, %s", round, rollup.Name(step)), readRollupsAll(t, s, q, step), want)
			sameBuckets(t, fmt.Sprintf("round %d stored rows, %s", round, rollup.Name(step)), storedRollups(t, tg, tid, step), want)
		}
	}
}

// storedRollups reads the rollups table itself (through the view).
func storedRollups(t *testing.T, tg sqldbtest.Target, tenantID, step int64) map[string]map[int64]rollup.Aggregate {
	t.Helper()
	rows, err := tg.DB.QueryContext(sqldbtest.Ctx(t), "SELECT s.tags, r.start_ts, r.count, r.sum, r.min, r.max FROM rollups r JOIN series s ON s.id = r.series_id WHERE s.tenant_id = ? AND r.step_ms = ?", tenantID, step)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]map[int64]rollup.Aggregate{}
	for rows.Next() {
		var tags string
		var b int64
		var a rollup.Aggregate
		if err := rows.Scan(&tags, &b, &a.Count, &a.Sum, &a.Min, &a.Max); err != nil {
			t.Fatal(err)
		}
		var host string
		if _, err := fmt.Sscanf(tags, `{"host":%q}`, &host); err != nil {
			t.Fatalf("tags %s: %v", tags, err)
		}
		k := "host=" + host
		if out[k] == nil {
			out[k] = map[int64]rollup.Aggregate{}
		}
		out[k][b] = a
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A query spanning rolled-up and not-yet-rolled-up time returns each
// minute exactly once, with the right count.
func testRollupStitch(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "stitch")
	t0 := sqldbtest.Base.Add(-2 * time.Hour).Truncate(time.Hour).UnixMilli()
	var old, fresh []metric.Sample
	for m := int64(0); m < 60; m++ { // 60 minutes, 6 samples each
		for k := int64(0); k < 6; k++ {
			smp := sample("stitch.m", float64(m), nil, t0+m*60_000+k*10_000, "")
			if m < 40 {
				old = append(old, smp)
			} else {
				fresh = append(fresh, smp)
			}
		}
	}
	write(t, s, batch(tid, old...))
	runRollup(t, s, 1000)
	// Minute 39 gets a late sample after the job: stale, with fresh ones after.
	write(t, s, batch(tid, append(fresh, sample("stitch.m", 39, nil, t0+39*60_000+5_000, ""))...))
	q := metric.Query{TenantID: tid, Name: "stitch.m", Start: t0, End: t0 + 60*60_000, MaxPoints: 7}
	got := readRollupsAll(t, s, q, 60_000)[""]
	if len(got) != 60 {
		t.Fatalf("got %d minutes, want 60", len(got))
	}
	for m := int64(0); m < 60; m++ {
		a, ok := got[t0+m*60_000]
		want := int64(6)
		if m == 39 {
			want = 7
		}
		if !ok || a.Count != want || a.Min != float64(m) || a.Max != float64(m) {
			t.Fatalf("minute %d = %+v (present %v), want count %d of value %d", m, a, ok, want, m)
		}
	}
	five := readRollupsAll(t, s, q, 300_000)[""]
	if len(five) != 12 {
		t.Fatalf("got %d 5-minute buckets, want 12", len(five))
	}
	if a := five[t0+35*60_000]; a.Count != 31 || a.Min != 35 || a.Max != 39 {
		t.Fatalf("bucket 35–40 = %+v, want 31 samples from 35 to 39", a)
	}
}

// Running the job twice changes nothing; writing the same samples again
// (duplicates, ignored) and re-running leaves the same rollups.
func testRollupIdempotent(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "idem")
	var samples []metric.Sample
	for i := int64(0); i < 600; i++ {
		samples = append(samples, sample("idem.m", float64(i%17), map[string]string{"host": "a"}, sqldbtest.Base.UnixMilli()-i*7_000, ""))
	}
	write(t, s, batch(tid, samples...))
	first := runRollup(t, s, 100)
	if first.RawRows != 600 || first.Pending == 0 {
		t.Fatalf("first run = %+v, want 600 raw rows folded", first)
	}
	before := storedRollups(t, tg, tid, 60_000)
	if again := runRollup(t, s, 100); again.Pending != 0 || again.Buckets != 0 {
		t.Fatalf("second run did work: %+v", again)
	}
	write(t, s, batch(tid, samples...))
	runRollup(t, s, 100)
	sameBuckets(t, "after a duplicate write", storedRollups(t, tg, tid, 60_000), before)
	var want int
	for _, step := range rollupSteps {
		want += len(storedRollups(t, tg, tid, step)["host=a"])
	}
	if n := sqldbtest.Count(t, tg.DB, "rollups"); n != int64(want) {
		t.Fatalf("rollups holds %d rows, the steps' buckets are %d", n, want)
	}
}

func testRollupPagination(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "page")
	data := naive{}
	var samples []metric.Sample
	for h := 0; h < 4; h++ {
		for m := int64(0); m < 50; m++ {
			ts := sqldbtest.Base.UnixMilli() - m*60_000
			samples = append(samples, sample("page.m", float64(h*100)+float64(m), map[string]string{"host": fmt.Sprint(h)}, ts, ""))
			data.add(fmt.Sprintf("host=%d", h), ts, float64(h*100)+float64(m))
		}
	}
	write(t, s, batch(tid, samples...))
	runRollup(t, s, 1000)
	q := rollupQuery(tid, "page.m", 0)
	for _, max := range []int{1, 3, 49, 50, 51, 200, 1000} {
		q.MaxPoints = max
		sameBuckets(t, fmt.Sprintf("max_points=%d", max), readRollupsAll(t, s, q, 60_000), data.buckets(60_000, q.Start, q.End))
	}
	q.Tags = map[string]string{"host": "2"}
	want := data.buckets(60_000, q.Start, q.End)
	for _, max := range []int{1, 7, 49, 50, 51, 1000} { // one series: the prepared read
		q.MaxPoints = max
		got := readRollupsAll(t, s, q, 60_000)
		if len(got) != 1 || len(got["host=2"]) != 50 {
			t.Fatalf("tag filter, max_points=%d: got %d series, host=2 has %d buckets", max, len(got), len(got["host=2"]))
		}
		sameBuckets(t, fmt.Sprintf("one series, max_points=%d", max), got, map[string]map[int64]rollup.Aggregate{"host=2": want["host=2"]})
	}
}

func testRollupCoverage(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "cover")
	var samples []metric.Sample
	for i := int64(0); i < 120; i++ { // 20 minutes every 10 s
		samples = append(samples, sample("cover.m", 1, nil, sqldbtest.Base.UnixMilli()+i*10_000, ""))
	}
	write(t, s, batch(tid, samples...))
	q := rollupQuery(tid, "cover.m", 0)
	if b, n, err := s.RollupCoverage(sqldbtest.Ctx(t), q, 300_000); err != nil || b != 0 || n != 0 {
		t.Fatalf("coverage before the job = %d buckets, %d samples, %v", b, n, err)
	}
	runRollup(t, s, 1000)
	if b, n, err := s.RollupCoverage(sqldbtest.Ctx(t), q, 300_000); err != nil || b != 4 || n != 120 {
		t.Fatalf("5m coverage = %d buckets, %d samples, %v; want 4, 120", b, n, err)
	}
	if b, n, err := s.RollupCoverage(sqldbtest.Ctx(t), q, 60_000); err != nil || b != 20 || n != 120 {
		t.Fatalf("1m coverage = %d buckets, %d samples, %v; want 20, 120", b, n, err)
	}
}

// Deleting raw samples (retention) leaves their rollups, and a later job
// run over other data does not touch them.
func testRollupsOutliveRaw(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "outlive")
	write(t, s, batch(tid, sample("out.m", 5, nil, sqldbtest.Base.UnixMilli(), ""), sample("out.m", 7, nil, sqldbtest.Base.UnixMilli()+1000, "")))
	runRollup(t, s, 10)
	if _, err := tg.DB.ExecContext(sqldbtest.Ctx(t), "DELETE FROM samples"); err != nil {
		t.Fatal(err)
	}
	write(t, s, batch(tid, sample("out.m", 1, nil, sqldbtest.Base.UnixMilli()+3600_000, "")))
	runRollup(t, s, 10)
	got := readRollupsAll(t, s, rollupQuery(tid, "out.m", 100), 60_000)[""]
	if a := got[sqldbtest.Base.UnixMilli()]; a.Count != 2 || a.Sum != 12 {
		t.Fatalf("the rolled-up minute after its raw data went = %+v", a)
	}
}

func testLease(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	clk := &clock{now: sqldbtest.Base}
	s.SetClock(clk.Now)
	take := func(holder string, want bool) {
		t.Helper()
		got, err := s.AcquireLease(sqldbtest.Ctx(t), "rollup", holder, time.Minute)
		if err != nil || got != want {
			t.Fatalf("AcquireLease(%s) = %v, %v; want %v", holder, got, err, want)
		}
	}
	take("a", true)
	take("b", false)
	take("a", true) // renewal
	clk.Set(sqldbtest.Base.Add(59 * time.Second))
	take("b", false)
	clk.Set(sqldbtest.Base.Add(2 * time.Minute)) // a's renewal at sqldbtest.Base ran to sqldbtest.Base+1m
	take("b", true)
	take("a", false)
	if err := s.ReleaseLease(sqldbtest.Ctx(t), "rollup", "a"); err != nil { // not a's: no effect
		t.Fatal(err)
	}
	take("a", false)
	if err := s.ReleaseLease(sqldbtest.Ctx(t), "rollup", "b"); err != nil {
		t.Fatal(err)
	}
	take("a", true)
	got, err := s.AcquireLease(sqldbtest.Ctx(t), "retention", "b", time.Minute)
	if err != nil || !got {
		t.Fatalf("another job's lease = %v, %v", got, err)
	}
}

// A pass by a process that does not hold the rollup lease (never had it,
// lost it to another replica, or let it expire) changes nothing.
func testPassNeedsTheLease(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	clk := &clock{now: sqldbtest.Base}
	s.SetClock(clk.Now)
	tid := sqldbtest.MkTenant(t, s, "lease")
	write(t, s, batch(tid, sample("lease.m", 1, nil, sqldbtest.Base.UnixMilli(), "")))
	refused := func(holder, why string) {
		t.Helper()
		if _, err := s.RollupPending(sqldbtest.Ctx(t), holder, rollupSteps, 10); !errors.Is(err, rollup.ErrNotLeaseHolder) {
			t.Fatalf("%s: RollupPending = %v, want ErrNotLeaseHolder", why, err)
		}
		if n := sqldbtest.Count(t, tg.DB, "rollups"); n != 0 {
			t.Fatalf("%s: %d rollup rows written", why, n)
		}
		if n, _ := s.PendingRollups(sqldbtest.Ctx(t)); n != 1 {
			t.Fatalf("%s: %d pending rows left, want 1", why, n)
		}
	}
	refused("a", "no lease at all")
	if ok, err := s.AcquireLease(sqldbtest.Ctx(t), rollup.LeaseName, "b", time.Minute); err != nil || !ok {
		t.Fatal(ok, err)
	}
	refused("a", "another holder")
	clk.Set(sqldbtest.Base.Add(2 * time.Minute))
	refused("b", "an expired lease")
	if ok, err := s.AcquireLease(sqldbtest.Ctx(t), rollup.LeaseName, "a", time.Minute); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if p, err := s.RollupPending(sqldbtest.Ctx(t), "a", rollupSteps, 10); err != nil || p.Pending != 1 {
		t.Fatalf("the holder's pass = %+v, %v", p, err)
	}
}

// readDerivedAll is readRollupsAll for ReadRollupsAs.
func readDerivedAll(t *testing.T, s *sqldbtest.Stores, q metric.Query, base, step int64) map[string]map[int64]rollup.Aggregate {
	t.Helper()
	return readPages(t, q, step, func(q metric.Query) (metric.Page, error) { return s.ReadRollupsAs(sqldbtest.Ctx(t), q, base, step) })
}

// A step derived from the stored 5m buckets (15m, 1h) equals a naive
// aggregation at that step, before the job (stitched from raw), after it,
// and with a late sample pending, through every page size.
func testDerivedStep(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "derived")
	r := rand.New(rand.NewPCG(11, uint64(time.Now().UnixNano())))
	data := naive{}
	var samples []metric.Sample
	start := sqldbtest.Base.Add(-3 * time.Hour).UnixMilli()
	for i := 0; i < 600; i++ {
		h := []string{"a", "b"}[r.IntN(2)]
		ts := start + r.Int64N(3*3600_000)
		v := math.Round(r.NormFloat64()*100) / 4
		samples = append(samples, sample("derived.m", v, map[string]string{"host": h}, ts, ""))
		data.add("host="+h, ts, v)
	}
	write(t, s, batch(tid, samples...))
	check := func(what string) {
		t.Helper()
		for _, step := range []int64{900_000, 3_600_000} {
			for _, max := range []int{1, 2, 5, 13, 1000} {
				q := rollupQuery(tid, "derived.m", max)
				q.Start += 60_000 // not aligned: the first whole group starts later
				from := rollup.BucketStart(q.Start+step-1, step)
				sameBuckets(t, fmt.Sprintf("%s, step %s, max_points %d", what, rollup.Name(step), max),
					readDerivedAll(t, s, q, 300_000, step), data.buckets(step, from, q.End))
			}
		}
	}
	check("before the job")
	runRollup(t, s, 7)
	check("after the job")
	late := sample("derived.m", 1e6, map[string]string{"host": "a"}, start+90*60_000+1, "")
	write(t, s, batch(tid, late))
	data.add("host=a", late.TimestampMillis(), late.Value())
	check("a late sample pending")
	if _, err := s.ReadRollupsAs(sqldbtest.Ctx(t), rollupQuery(tid, "derived.m", 10), 300_000, 400_000); err == nil {
		t.Fatal("a step that is not a multiple of the stored one was accepted")
	}
}
