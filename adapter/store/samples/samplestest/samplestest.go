// Package samplestest is the contract suite of adapter/store/samples (the
// ports flush.Store, query.Reader, catalogue, retention, rollupjob and
// ingest.SeriesGate). Run it against every dialect so SQLite and MariaDB
// behave the same.
package samplestest

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/metric"
)

// Run runs every contract case; open must return a fresh, migrated, empty
// store for each call and clean it up when t ends.
func Run(t *testing.T, open func(t *testing.T) sqldbtest.Target) {
	cases := []struct {
		name string
		fn   func(t *testing.T, tg sqldbtest.Target)
	}{
		{"RoundTrip", testRoundTrip},
		{"TimeRange", testTimeRange},
		{"WriteTwiceStoresOnce", testWriteTwice},
		{"DedupeID", testDedupe},
		{"TenantIsolation", testIsolation},
		{"TagFilters", testTagFilters},
		{"Pagination", testPagination},
		{"ConcurrentWriters", testConcurrent},
		{"FailuresAreReported", testFailures},
		{"WrittenCounts", testWritten},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.fn(t, open(t))
		})
	}
}

func sample(name string, v float64, tags map[string]string, ts int64, dedupe string) metric.Sample {
	return metric.Rehydrate(name, v, metric.SortedTags(tags), ts, dedupe)
}

func batch(tenantID int64, samples ...metric.Sample) metric.Batch {
	return metric.Batch{ID: fmt.Sprintf("b-%d-%d", tenantID, len(samples)), TenantID: tenantID, AcceptedAt: sqldbtest.Base.Add(time.Second), Samples: samples}
}

func write(t *testing.T, s *sqldbtest.Stores, batches ...metric.Batch) {
	t.Helper()
	if _, err := s.WriteBatches(sqldbtest.Ctx(t), batches); err != nil {
		t.Fatalf("WriteBatches: %v", err)
	}
}

// readAll follows the cursor to the end and returns every point by series.
func readAll(t *testing.T, s *sqldbtest.Stores, q metric.Query) (map[string][]metric.Point, int) {
	t.Helper()
	out := map[string][]metric.Point{}
	pages := 0
	for {
		page, err := s.ReadRaw(sqldbtest.Ctx(t), q)
		if err != nil {
			t.Fatalf("ReadRaw: %v", err)
		}
		pages++
		n := 0
		for _, sp := range page.Series {
			if len(sp.Points) == 0 {
				t.Fatalf("page holds a series without points: %v", sp.Tags)
			}
			k := tagKey(sp.Tags)
			out[k] = append(out[k], sp.Points...)
			n += len(sp.Points)
		}
		if q.MaxPoints > 0 && n > q.MaxPoints {
			t.Fatalf("page holds %d points, max %d", n, q.MaxPoints)
		}
		if !page.Next.Set {
			return out, pages
		}
		if pages > 10000 {
			t.Fatal("pagination does not end")
		}
		q.Cursor = page.Next
	}
}

func tagKey(tags metric.Tags) string {
	parts := make([]string, len(tags))
	for i, tg := range tags {
		parts[i] = tg.Key + "=" + tg.Value
	}
	return strings.Join(parts, ",")
}

func query(tenantID int64, name string, tags map[string]string) metric.Query {
	return metric.Query{TenantID: tenantID, Name: name, Start: sqldbtest.Base.UnixMilli() - 3600_000, End: sqldbtest.Base.UnixMilli() + 3600_000, Tags: tags, MaxPoints: 1000, Interval: "raw"}
}

func testRoundTrip(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "acme")
	ms := sqldbtest.Base.UnixMilli()
	values := []float64{0.42, -1.5, 0, 1e21, -3.25e-300, 123456.789012345, math.MaxFloat64, 7}
	var samples []metric.Sample
	for i, v := range values {
		samples = append(samples, sample("cpu.load", v, map[string]string{"host": "a", "dc": "eu-1"}, ms+int64(i)*1000+123, ""))
	}
	samples = append(samples, sample("cpu.load", 99, nil, ms+5, ""))
	samples = append(samples, sample("mem.used", 1, map[string]string{"host": "a"}, ms, ""))
	write(t, s, batch(tid, samples...))

	got, pages := readAll(t, s, query(tid, "cpu.load", nil))
	if pages != 1 || len(got) != 2 {
		t.Fatalf("got %d series in %d pages: %v", len(got), pages, got)
	}
	pts := got["dc=eu-1,host=a"]
	if len(pts) != len(values) {
		t.Fatalf("series dc=eu-1,host=a has %d points, want %d", len(pts), len(values))
	}
	for i, p := range pts {
		want := metric.Point{TS: ms + int64(i)*1000 + 123, Value: values[i], Min: values[i], Max: values[i], Count: 1, Sum: values[i]}
		if p != want {
			t.Errorf("point %d = %+v, want %+v", i, p, want)
		}
	}
	if p := got[""]; len(p) != 1 || p[0].Value != 99 || p[0].TS != ms+5 {
		t.Errorf("untagged series = %+v", p)
	}
	// The flat view carries the mission's columns.
	var (
		tenantID    int64
		name, tags  string
		value       float64
		ts, ingestd string
	)
	err := tg.DB.QueryRowContext(sqldbtest.Ctx(t), "SELECT tenant_id, name, value, tags, ts, ingested_at FROM metrics WHERE name = 'mem.used'").
		Scan(&tenantID, &name, &value, &tags, &ts, &ingestd)
	if err != nil {
		t.Fatalf("metrics view: %v", err)
	}
	if tenantID != tid || name != "mem.used" || value != 1 || strings.ReplaceAll(tags, " ", "") != `{"host":"a"}` ||
		!strings.HasPrefix(ts, "2026-11-25") || !strings.Contains(ts, "10:00:00.000") || !strings.Contains(ingestd, "10:00:01.000") {
		t.Fatalf("metrics view row = %d %q %v %q %q %q", tenantID, name, value, tags, ts, ingestd)
	}
}

func testTimeRange(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "acme")
	ms := sqldbtest.Base.UnixMilli()
	for i := int64(0); i < 10; i++ {
		write(t, s, batch(tid, sample("m", float64(i), nil, ms+i, "")))
	}
	q := query(tid, "m", nil)
	q.Start, q.End = ms+3, ms+7
	got, _ := readAll(t, s, q)
	pts := got[""]
	if len(pts) != 4 || pts[0].TS != ms+3 || pts[3].TS != ms+6 {
		t.Fatalf("[start,end) = %+v", pts)
	}
	q.Name = "unknown"
	if got, _ := readAll(t, s, q); len(got) != 0 {
		t.Fatalf("unknown name: %v", got)
	}
}

func testWriteTwice(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "acme")
	ms := sqldbtest.Base.UnixMilli()
	var batches []metric.Batch
	for b := 0; b < 5; b++ {
		var samples []metric.Sample
		for i := 0; i < 100; i++ {
			samples = append(samples, sample("req.count", float64(i), map[string]string{"host": fmt.Sprint("h", i%7)}, ms+int64(b*1000+i), ""))
		}
		batches = append(batches, batch(tid, samples...))
	}
	write(t, s, batches...)
	if n := sqldbtest.Count(t, tg.DB, "samples"); n != 500 {
		t.Fatalf("samples after first write = %d, want 500", n)
	}
	write(t, s, batches...)
	write(t, s, batches[2])
	if n, v := sqldbtest.Count(t, tg.DB, "samples"), sqldbtest.Count(t, tg.DB, "metrics"); n != 500 || v != 500 {
		t.Fatalf("after rewrite: samples=%d metrics=%d, want 500", n, v)
	}
	if n := sqldbtest.Count(t, tg.DB, "series"); n != 7 {
		t.Fatalf("series = %d, want 7", n)
	}
	// First write wins for the same series and ts.
	write(t, s, batch(tid, sample("req.count", -1, map[string]string{"host": "h0"}, ms, "")))
	got, _ := readAll(t, s, query(tid, "req.count", map[string]string{"host": "h0"}))
	if p := got["host=h0"]; len(p) == 0 || p[0].TS != ms || p[0].Value != 0 {
		t.Fatalf("first point = %+v, want value 0 (first write wins)", p)
	}
}

func testDedupe(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	a, b := sqldbtest.MkTenant(t, s, "acme"), sqldbtest.MkTenant(t, s, "globex")
	ms := sqldbtest.Base.UnixMilli()
	tags := map[string]string{"host": "a"}
	// Within one call: two samples (different ts) with the same id, in two batches.
	write(t, s,
		batch(a, sample("m", 1, tags, ms, "req-1"), sample("m", 2, tags, ms+1, "req-1"), sample("m", 3, tags, ms+2, "")),
		batch(a, sample("m", 4, tags, ms+3, "req-1"), sample("m", 5, tags, ms+4, "req-2")))
	if n := sqldbtest.Count(t, tg.DB, "samples"); n != 3 {
		t.Fatalf("samples after first call = %d, want 3 (req-1 once, req-2, no id)", n)
	}
	// Across calls: the same ids store nothing new; another tenant's same id does.
	write(t, s, batch(a, sample("m", 6, tags, ms+10, "req-1"), sample("m", 7, tags, ms+11, "req-2"), sample("m", 8, tags, ms+12, "req-3")))
	write(t, s, batch(b, sample("m", 9, tags, ms+20, "req-1")))
	if n := sqldbtest.Count(t, tg.DB, "samples"); n != 5 {
		t.Fatalf("samples = %d, want 5", n)
	}
	if n := sqldbtest.Count(t, tg.DB, "metrics"); n != 5 {
		t.Fatalf("metrics view = %d, want 5", n)
	}
	got, _ := readAll(t, s, query(a, "m", nil))
	var vals []float64
	for _, p := range got["host=a"] {
		vals = append(vals, p.Value)
	}
	if fmt.Sprint(vals) != "[1 3 5 8]" {
		t.Fatalf("tenant a values = %v, want [1 3 5 8]", vals)
	}
}

func testIsolation(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	a, b := sqldbtest.MkTenant(t, s, "acme"), sqldbtest.MkTenant(t, s, "globex")
	ms := sqldbtest.Base.UnixMilli()
	tags := map[string]string{"host": "shared"}
	write(t, s, batch(a, sample("cpu", 1, tags, ms, ""), sample("cpu", 2, tags, ms+1, ""), sample("secret.a", 1, nil, ms, "")))
	write(t, s, batch(b, sample("cpu", 100, tags, ms+1, "")))
	gotB, _ := readAll(t, s, query(b, "cpu", tags))
	if p := gotB["host=shared"]; len(gotB) != 1 || len(p) != 1 || p[0].Value != 100 {
		t.Fatalf("tenant b sees %v", gotB)
	}
	if got, _ := readAll(t, s, query(b, "secret.a", nil)); len(got) != 0 {
		t.Fatalf("tenant b sees tenant a's metric: %v", got)
	}
	gotA, _ := readAll(t, s, query(a, "cpu", nil))
	if p := gotA["host=shared"]; len(p) != 2 || p[1].Value != 2 {
		t.Fatalf("tenant a sees %v", gotA)
	}
	if got, _ := readAll(t, s, query(a+b+100, "cpu", nil)); len(got) != 0 {
		t.Fatalf("unknown tenant sees %v", got)
	}
	if n := sqldbtest.Count(t, tg.DB, "series"); n != 3 {
		t.Fatalf("series = %d, want 3 (same name+tags is one series per tenant)", n)
	}
}

func testTagFilters(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "acme")
	ms := sqldbtest.Base.UnixMilli()
	write(t, s, batch(tid,
		sample("cpu", 1, map[string]string{"host": "a", "region": "eu"}, ms, ""),
		sample("cpu", 2, map[string]string{"host": "b", "region": "eu"}, ms, ""),
		sample("cpu", 3, map[string]string{"host": "c", "region": "us"}, ms, ""),
		sample("cpu", 4, map[string]string{"host": "d"}, ms, "")))
	for _, c := range []struct {
		filter map[string]string
		want   []string
	}{
		{nil, []string{"host=a,region=eu", "host=b,region=eu", "host=c,region=us", "host=d"}},
		{map[string]string{"region": "eu"}, []string{"host=a,region=eu", "host=b,region=eu"}},
		{map[string]string{"region": "eu", "host": "b"}, []string{"host=b,region=eu"}},
		{map[string]string{"host": "d"}, []string{"host=d"}},
		{map[string]string{"host": "z"}, nil},
		{map[string]string{"rack": "1"}, nil},
		{map[string]string{"region": ""}, nil},
	} {
		got, _ := readAll(t, s, query(tid, "cpu", c.filter))
		var keys []string
		for k := range got {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if fmt.Sprint(keys) != fmt.Sprint(c.want) {
			t.Errorf("filter %v: series %v, want %v", c.filter, keys, c.want)
		}
	}
	// TagIn: a tag with one of several values (a group of alert rules).
	for _, c := range []struct {
		tags map[string]string
		in   map[string][]string
		want []string
	}{
		{nil, map[string][]string{"host": {"a", "c"}}, []string{"host=a,region=eu", "host=c,region=us"}},
		{map[string]string{"region": "eu"}, map[string][]string{"host": {"a", "c"}}, []string{"host=a,region=eu"}},
		{nil, map[string][]string{"region": {"eu"}, "host": {"b", "d"}}, []string{"host=b,region=eu"}},
		{nil, map[string][]string{"host": {}}, nil},
		{nil, map[string][]string{"rack": {"1"}}, nil},
	} {
		q := query(tid, "cpu", c.tags)
		q.TagIn = c.in
		got, _ := readAll(t, s, q)
		var keys []string
		for k := range got {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if fmt.Sprint(keys) != fmt.Sprint(c.want) {
			t.Errorf("tags %v, in %v: series %v, want %v", c.tags, c.in, keys, c.want)
		}
	}
}

func testPagination(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "acme")
	ms := sqldbtest.Base.UnixMilli()
	var samples []metric.Sample
	for h := 0; h < 3; h++ {
		for i := 0; i < 50; i++ {
			samples = append(samples, sample("disk", float64(h*1000+i), map[string]string{"host": fmt.Sprint("h", h)}, ms+int64(i)*10, ""))
		}
	}
	write(t, s, batch(tid, samples...))
	for _, max := range []int{1, 7, 50, 149, 150, 151} {
		q := query(tid, "disk", nil)
		q.MaxPoints = max
		got, pages := readAll(t, s, q)
		total := 0
		for k, pts := range got {
			seen := map[int64]bool{}
			for i, p := range pts {
				if seen[p.TS] {
					t.Fatalf("max=%d: %s ts %d twice", max, k, p.TS)
				}
				seen[p.TS] = true
				if i > 0 && p.TS <= pts[i-1].TS {
					t.Fatalf("max=%d: %s out of order", max, k)
				}
			}
			total += len(pts)
		}
		if total != 150 || len(got) != 3 {
			t.Fatalf("max=%d: %d points in %d series, want 150 in 3", max, total, len(got))
		}
		if wantPages := (150 + max - 1) / max; pages < wantPages || pages > wantPages+1 {
			t.Fatalf("max=%d: %d pages, want %d", max, pages, wantPages)
		}
		// One series (the prepared single-series read) pages the same way.
		q.Tags = map[string]string{"host": "h1"}
		one, _ := readAll(t, s, q)
		pts := one["host=h1"]
		if len(one) != 1 || len(pts) != 50 {
			t.Fatalf("max=%d, one series: %d series, %d points", max, len(one), len(pts))
		}
		for i, p := range pts {
			if p.TS != ms+int64(i)*10 || p.Value != float64(1000+i) || p.Count != 1 || p.Min != p.Value || p.Max != p.Value || p.Sum != p.Value {
				t.Fatalf("max=%d, one series: point %d = %+v", max, i, p)
			}
		}
	}
}

func testConcurrent(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	a, b := sqldbtest.MkTenant(t, s, "acme"), sqldbtest.MkTenant(t, s, "globex")
	ms := sqldbtest.Base.UnixMilli()
	// 2 tenants x 40 series x 50 points, 1/5 of them with a dedupe id.
	var all []metric.Batch
	for _, tid := range []int64{a, b} {
		for i := 0; i < 20; i++ {
			var samples []metric.Sample
			for j := 0; j < 100; j++ {
				n := i*100 + j
				d := ""
				if n%5 == 0 {
					d = fmt.Sprint("d", n)
				}
				samples = append(samples, sample("conc", float64(n), map[string]string{"s": fmt.Sprint(n % 40)}, ms+int64(n/40), d))
			}
			all = append(all, batch(tid, samples...))
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			// Each writer writes every batch, in its own order and grouping.
			for r := 0; r < len(all); r += 5 {
				var group []metric.Batch
				for k := 0; k < 5; k++ {
					group = append(group, all[(r+k+w*7)%len(all)])
				}
				if _, err := s.WriteBatches(context.Background(), group); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent WriteBatches: %v", err)
	}
	if n := sqldbtest.Count(t, tg.DB, "samples"); n != 4000 {
		t.Fatalf("samples = %d, want 4000", n)
	}
	if n := sqldbtest.Count(t, tg.DB, "series"); n != 80 {
		t.Fatalf("series = %d, want 80", n)
	}
	if n := sqldbtest.Count(t, tg.DB, "sample_dedupe"); n != 800 {
		t.Fatalf("dedupe rows = %d, want 800", n)
	}
}

func testFailures(t *testing.T, tg sqldbtest.Target) {
	s := tg.Store
	tid := sqldbtest.MkTenant(t, s, "acme")
	b := batch(tid, sample("m", 1, map[string]string{"host": "a"}, sqldbtest.Base.UnixMilli(), "x"))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.WriteBatches(cancelled, []metric.Batch{b}); err == nil {
		t.Fatal("WriteBatches with a cancelled context returned nil")
	}
	if n := sqldbtest.Count(t, tg.DB, "samples"); n != 0 {
		t.Fatalf("samples after a failed write = %d, want 0", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteBatches(context.Background(), []metric.Batch{b}); err == nil {
		t.Fatal("WriteBatches on a closed store returned nil")
	}
	if _, err := s.ReadRaw(context.Background(), query(tid, "m", nil)); err == nil {
		t.Fatal("ReadRaw on a closed store returned nil")
	}
	if err := s.Ping(context.Background()); err == nil {
		t.Fatal("Ping on a closed store returned nil")
	}
}
