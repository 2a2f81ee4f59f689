package exports_test

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/export/csvexport"
	"github.com/pulsemetrics/pulse/adapter/export/exportlink"
	"github.com/pulsemetrics/pulse/adapter/store/exports"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/rollup"
	"github.com/pulsemetrics/pulse/usecase/export"
	"github.com/pulsemetrics/pulse/usecase/query"
)

// The export job end to end on SQLite: the real samples store, the real
// query use case, the real exports store, CSV and links.

type jobWorld struct {
	tg     sqldbtest.Target
	tenant int64
	query  *query.Service
	svc    *export.Service
	now    time.Time
}

func newJobWorld(t testing.TB, tg sqldbtest.Target, opts export.Options) *jobWorld {
	w := &jobWorld{tg: tg, tenant: sqldbtest.MkTenant(t, tg.Store, "acme"), query: query.NewService(tg.Store.Samples, nil),
		now: sqldbtest.Base.Add(40 * 24 * time.Hour)}
	signer, err := exportlink.NewSigner([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	if opts.Holder == "" {
		opts.Holder = "test-worker"
	}
	w.svc = export.New(exports.New(tg.Store.DB), w.query, tg.Store.Samples, csvexport.Encoder{}, signer, func() time.Time { return w.now }, opts)
	return w
}

// write stores samples of name with tags at ts from start every step,
// value(i) each.
func (w *jobWorld) write(t testing.TB, name string, tags map[string]string, start time.Time, step time.Duration, n int, value func(i int) float64) {
	t.Helper()
	const perBatch = 10_000
	for from := 0; from < n; from += perBatch {
		var smp []metric.Sample
		for i := from; i < min(from+perBatch, n); i++ {
			smp = append(smp, metric.Rehydrate(name, value(i), metric.SortedTags(tags), start.Add(time.Duration(i)*step).UnixMilli(), ""))
		}
		b := metric.Batch{ID: fmt.Sprintf("b-%s-%d", name, from), TenantID: w.tenant, AcceptedAt: start, Samples: smp}
		if _, err := w.tg.Store.WriteBatches(sqldbtest.Ctx(t), []metric.Batch{b}); err != nil {
			t.Fatalf("WriteBatches: %v", err)
		}
	}
}

// rollUp folds what was written into the stored rollups.
func (w *jobWorld) rollUp(t testing.TB) {
	t.Helper()
	s := w.tg.Store
	if ok, err := s.AcquireLease(sqldbtest.Ctx(t), rollup.LeaseName, "test", time.Hour); err != nil || !ok {
		t.Fatalf("AcquireLease = %v, %v", ok, err)
	}
	for {
		p, err := s.RollupPending(sqldbtest.Ctx(t), "test", rollup.DefaultSteps, 1000)
		if err != nil {
			t.Fatalf("RollupPending: %v", err)
		}
		if p.Pending == 0 {
			return
		}
	}
}

// export creates req, runs it and answers its file, as downloaded through
// its link.
func (w *jobWorld) export(t testing.TB, req export.Request) (export.Outcome, []byte) {
	t.Helper()
	ctx := sqldbtest.Ctx(t)
	e, err := w.svc.Create(ctx, w.tenant, req)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	out, ran, err := w.svc.RunOne(ctx)
	if err != nil || !ran || out.ID != e.ID {
		t.Fatalf("RunOne = %+v %t %v", out, ran, err)
	}
	v, err := w.svc.Get(ctx, w.tenant, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != export.StatusDone {
		t.Fatalf("export %s: %s", v.Status, v.Error)
	}
	if v.Rows != out.Rows || v.Progress != 1 || v.Bytes != out.Bytes {
		t.Errorf("stored %+v, outcome %+v", v.Export, out)
	}
	link, err := url.ParseQuery(v.DownloadQuery)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := w.svc.Open(ctx, e.ID, link.Get("exp"), link.Get("sig"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	var file bytes.Buffer
	if _, err := w.svc.Copy(ctx, opened, &file); err != nil {
		t.Fatalf("Copy: %v", err)
	}
	return out, file.Bytes()
}

// reference is every row the query API answers for req, following its
// cursor (with its own page size), as csvexport.Read gives rows back.
func (w *jobWorld) reference(t testing.TB, req export.Request, maxPoints int) (string, []csvexport.Row) {
	t.Helper()
	q := metric.Query{TenantID: w.tenant, Name: req.Name, Tags: req.Tags, Start: req.Start, End: req.End, Interval: req.Interval, Agg: req.Agg, MaxPoints: maxPoints}
	var (
		rows     []csvexport.Row
		interval string
	)
	for {
		page, err := w.query.Run(sqldbtest.Ctx(t), q)
		if err != nil {
			t.Fatalf("query: %v", err)
		}
		interval = page.Interval
		for _, sp := range page.Series {
			for _, p := range sp.Points {
				r := csvexport.Row{Name: req.Name, Tags: sp.Tags.Map(), Point: csvexport.Point{TS: p.TS, Value: p.Value}}
				if page.Interval != "raw" {
					r.Point.Min, r.Point.Max, r.Point.Count = p.Min, p.Max, p.Count
				}
				rows = append(rows, r)
			}
		}
		if !page.Next.Set {
			return interval, rows
		}
		q.Cursor = page.Next
	}
}

// The CSV of a range holds, row for row, what the query API answers for
// the same range and resolution: raw, 5m, 1h and auto (some buckets
// stored by the rollup job, later ones stitched from raw samples), plain
// and gzipped, over pages and chunks far smaller than the data; on SQLite
// and on MariaDB.
func TestExportEqualsTheQueryAPI(t *testing.T) {
	sqldbtest.Both(t, func(t *testing.T, open func(*testing.T) sqldbtest.Target) { testExportEqualsTheQueryAPI(t, open(t)) })
}

func testExportEqualsTheQueryAPI(t *testing.T, tg sqldbtest.Target) {
	const pageRows = 40
	w := newJobWorld(t, tg, export.Options{PageRows: pageRows, ChunkBytes: 4096})
	start := sqldbtest.Base.Truncate(time.Hour)
	rng := rand.New(rand.NewPCG(1, 2))
	noisy := func(int) float64 { return math.Round(rng.NormFloat64()*1e6) / 1e3 }
	w.write(t, "cpu.load", map[string]string{"host": "a"}, start, 10*time.Second, 1500, noisy)
	w.write(t, "cpu.load", map[string]string{"host": "b", "dc": "eu, west"}, start.Add(3*time.Second), 7*time.Second, 900, noisy)
	w.write(t, "cpu.load", map[string]string{"host": "=cmd|' /C calc'!A0", "rack": `r"1"`}, start, time.Minute, 200, noisy)
	w.write(t, "other.metric", map[string]string{"host": "a"}, start, 10*time.Second, 100, noisy)
	w.rollUp(t)
	w.write(t, "cpu.load", map[string]string{"host": "a"}, start.Add(1500*10*time.Second), 10*time.Second, 300, noisy) // not rolled up yet

	base := export.Request{Name: "cpu.load", Start: start.Add(90 * time.Second).UnixMilli(), End: start.Add(4*time.Hour + 50*time.Minute + 17*time.Second).UnixMilli()}
	all := []string{"dc", "host", "rack"}
	cases := []struct {
		name     string
		interval string // asked
		answered string // what the query answers
		agg      string
		tags     map[string]string
		gzip     bool
		keys     []string
	}{
		{"raw", "raw", "raw", "", nil, false, all},
		{"raw gzipped, one host", "raw", "raw", "", map[string]string{"host": "b"}, true, []string{"dc", "host"}},
		{"5m max", "5m", "5m", "max", nil, false, all},
		{"5m avg gzipped", "5m", "5m", "", nil, true, all},
		{"1h count", "1h", "1h", "count", nil, false, all},
		{"auto", "auto", "raw", "sum", nil, false, all},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := base
			req.Interval, req.Agg, req.Tags, req.Gzip = c.interval, c.agg, c.tags, c.gzip
			out, file := w.export(t, req)
			if c.gzip {
				zr, err := gzip.NewReader(bytes.NewReader(file))
				if err != nil {
					t.Fatalf("not gzip: %v", err)
				}
				if file, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			cols, rows, err := csvexport.Read(bytes.NewReader(file))
			if err != nil {
				t.Fatalf("read the CSV: %v", err)
			}
			refPage := 1000 // the reference's own page size
			if c.interval == "auto" {
				refPage = export.AutoPageRows // auto picks by the page's size
			}
			interval, want := w.reference(t, req, refPage)
			if interval != c.answered {
				t.Fatalf("the query answered %s", interval)
			}
			if wantCols := (csvexport.Columns{TagKeys: c.keys, Rollup: c.answered != "raw"}); !reflect.DeepEqual(cols, wantCols) {
				t.Errorf("columns %+v, want %+v", cols, wantCols)
			}
			if len(want) < 2*pageRows && c.interval != "1h" && c.interval != "auto" { // auto reads pages of 100,000
				t.Fatalf("only %d rows: the export would not page", len(want))
			}
			if len(rows) != len(want) || out.Rows != int64(len(want)) {
				t.Fatalf("%d rows (outcome %d), want %d", len(rows), out.Rows, len(want))
			}
			for i := range want {
				if !reflect.DeepEqual(rows[i], want[i]) {
					t.Fatalf("row %d: %+v, want %+v", i+1, rows[i], want[i])
				}
			}
		})
	}
}

// A tag value a spreadsheet would run as a formula is written as text
// (an apostrophe first), and reads back as it was stored.
func TestFormulaLikeTagValueIsInert(t *testing.T) {
	w := newJobWorld(t, sqldbtest.SQLite(t), export.Options{})
	start := sqldbtest.Base
	formula := "=cmd|' /C calc'!A0"
	w.write(t, "cpu.load", map[string]string{"host": formula, "note": "+1", "who": "@SUM(A1)"}, start, time.Second, 3,
		func(i int) float64 { return float64(-i) })
	_, file := w.export(t, export.Request{Name: "cpu.load", Start: start.UnixMilli(), End: start.Add(time.Minute).UnixMilli(), Interval: "raw"})
	records, err := csv.NewReader(bytes.NewReader(file)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(records[0], ","); got != "timestamp,unix_ms,name,host,note,who,value" {
		t.Fatalf("header %s", got)
	}
	for _, rec := range records[1:] {
		if rec[3] != "'"+formula || rec[4] != "'+1" || rec[5] != "'@SUM(A1)" {
			t.Errorf("cells %q: want each prefixed with an apostrophe", rec[3:6])
		}
		for _, cell := range rec[2:6] {
			if strings.ContainsAny(cell[:1], "=+-@") {
				t.Errorf("cell %q starts like a formula", cell)
			}
		}
	}
	if rec := records[2]; rec[6] != "-1" { // a negative number is a number, not text
		t.Errorf("value %q, want -1", rec[6])
	}
	_, rows, err := csvexport.Read(bytes.NewReader(file))
	if err != nil || rows[0].Tags["host"] != formula {
		t.Errorf("read back %+v, %v", rows, err)
	}
}
