package export_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/outage"
	"github.com/pulsemetrics/pulse/usecase/export"
)

var (
	hostA = metric.Tags{{Key: "host", Value: "a"}}
	hostB = metric.Tags{{Key: "dc", Value: "x"}, {Key: "host", Value: "b"}}
)

func claimed(interval string) export.Export {
	r := request()
	r.Tags, r.Interval, r.Agg = nil, interval, "avg"
	return export.Export{ID: 42, TenantID: tenant, Request: r, Status: export.StatusRunning, Attempts: 1}
}

func pts(ts ...int64) []metric.Point {
	out := make([]metric.Point, len(ts))
	for i, t := range ts {
		out[i] = metric.Point{TS: t, Value: float64(t) / 1000, Min: 1, Max: 2, Count: 1}
	}
	return out
}

// chunks collects what AppendChunk stored, in order.
type chunks struct{ data bytes.Buffer }

func (c *chunks) expect(f *fixture, id int64) {
	seq := 0
	f.store.EXPECT().AppendChunk(gomock.Any(), id, "w1", gomock.Any(), gomock.Any(), now.Add(time.Minute).UnixMilli()).
		DoAndReturn(func(_ context.Context, _ int64, _ string, s int, data []byte, _ int64) error {
			if s != seq {
				panic("chunk out of order")
			}
			seq++
			c.data.Write(data)
			return nil
		}).AnyTimes()
}

type observed struct {
	status string
	rows   int64
}

func (o *observed) Finished(status string, rows int64, _ time.Duration) { *o = observed{status, rows} }

func TestRunOneWritesEveryPageThenFinishes(t *testing.T) {
	var obs observed
	f := newFixture(t, export.Options{PageRows: 3, ChunkBytes: 16, Observer: &obs})
	e := claimed("raw")
	f.store.EXPECT().ClaimExport(gomock.Any(), "w1", now.UnixMilli(), time.Minute).Return(e, true, nil)
	q := metric.Query{TenantID: tenant, Name: "cpu.load", Start: 1000, End: 61_000, Interval: "raw", Agg: "avg", MaxPoints: 3}
	f.series.EXPECT().SeriesTags(gomock.Any(), q).Return([]metric.Tags{hostA, hostB}, nil)
	next := metric.Cursor{SeriesID: 2, TS: 1000, Set: true}
	q2 := q
	q2.Cursor = next
	gomock.InOrder(
		f.querier.EXPECT().Run(gomock.Any(), q).Return(metric.Page{Interval: "raw", Series: []metric.SeriesPoints{
			{Tags: hostA, Points: pts(1000, 31_000)}, {Tags: hostB, Points: pts(1000)}}, Next: next}, nil),
		// Series a is done and b is read to its first millisecond: about 1/2.
		f.store.EXPECT().SaveProgress(gomock.Any(), int64(42), "w1", int64(3), (1+1.0/60_000)/2, now.Add(time.Minute).UnixMilli()).Return(nil),
		f.querier.EXPECT().Run(gomock.Any(), q2).Return(metric.Page{Interval: "raw", Series: []metric.SeriesPoints{{Tags: hostB, Points: pts(2000)}}}, nil),
		f.store.EXPECT().FinishExport(gomock.Any(), int64(42), "w1", export.StatusDone, int64(4), "", now.UnixMilli()).Return(nil),
	)
	var got chunks
	got.expect(f, 42)
	out, ran, err := f.svc.RunOne(context.Background())
	if err != nil || !ran || out.Status != export.StatusDone || out.Rows != 4 {
		t.Fatalf("RunOne = %+v %t %v", out, ran, err)
	}
	want := "keys=dc,host rollup=false\n" +
		"cpu.load map[host:a] 1000 1\ncpu.load map[host:a] 31000 31\ncpu.load map[dc:x host:b] 1000 1\ncpu.load map[dc:x host:b] 2000 2\n"
	if got.data.String() != want {
		t.Errorf("file\n%s\nwant\n%s", got.data.String(), want)
	}
	if out.Bytes != int64(len(want)) {
		t.Errorf("bytes = %d, want %d", out.Bytes, len(want))
	}
	if obs != (observed{export.StatusDone, 4}) {
		t.Errorf("observed %+v", obs)
	}
}

func TestRunOneAutoReadsPagesOfTheHardMaximumAndWritesRollupColumns(t *testing.T) {
	f := newFixture(t, export.Options{})
	e := claimed("auto")
	e.Gzip = true
	f.store.EXPECT().ClaimExport(gomock.Any(), "w1", gomock.Any(), gomock.Any()).Return(e, true, nil)
	f.series.EXPECT().SeriesTags(gomock.Any(), gomock.Any()).Return([]metric.Tags{hostA}, nil)
	f.querier.EXPECT().Run(gomock.Any(), gomock.Any()).DoAndReturn(func(_ context.Context, q metric.Query) (metric.Page, error) {
		if q.MaxPoints != export.AutoPageRows || q.Interval != "auto" {
			t.Errorf("auto page query %+v", q)
		}
		return metric.Page{Interval: "5m", Series: []metric.SeriesPoints{{Tags: hostA, Points: pts(0)}}}, nil
	})
	f.store.EXPECT().FinishExport(gomock.Any(), int64(42), "w1", export.StatusDone, int64(1), "", gomock.Any()).Return(nil)
	var got chunks
	got.expect(f, 42)
	if _, _, err := f.svc.RunOne(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !f.enc.cols.Rollup || !f.enc.gzip || !strings.HasPrefix(got.data.String(), "keys=host rollup=true\n") {
		t.Errorf("columns %+v gzip %t, file %q", f.enc.cols, f.enc.gzip, got.data.String())
	}
}

func TestRunOneWithNothingQueued(t *testing.T) {
	f := newFixture(t, export.Options{})
	f.store.EXPECT().ClaimExport(gomock.Any(), "w1", gomock.Any(), gomock.Any()).Return(export.Export{}, false, nil)
	if _, ran, err := f.svc.RunOne(context.Background()); ran || err != nil {
		t.Fatalf("ran %t, err %v", ran, err)
	}
}

// failJob runs one export whose reading is set up by setup and answers
// the message it was failed with.
func failJob(t *testing.T, opts export.Options, e export.Export, setup func(f *fixture)) string {
	t.Helper()
	f := newFixture(t, opts)
	f.store.EXPECT().ClaimExport(gomock.Any(), "w1", gomock.Any(), gomock.Any()).Return(e, true, nil)
	setup(f)
	var msg string
	f.store.EXPECT().FinishExport(gomock.Any(), int64(42), "w1", export.StatusFailed, gomock.Any(), gomock.Any(), gomock.Any()).
		DoAndReturn(func(_ context.Context, _ int64, _, _ string, _ int64, m string, _ int64) error { msg = m; return nil })
	out, ran, err := f.svc.RunOne(context.Background())
	if err != nil || !ran || out.Status != export.StatusFailed {
		t.Fatalf("RunOne = %+v %t %v", out, ran, err)
	}
	return msg
}

func TestRunOneFailsWithAMessageTheTenantCanRead(t *testing.T) {
	page := func(interval string, ts ...int64) metric.Page {
		return metric.Page{Interval: interval, Series: []metric.SeriesPoints{{Tags: hostA, Points: pts(ts...)}}, Next: metric.Cursor{SeriesID: 1, TS: 9, Set: true}}
	}
	cases := []struct {
		name  string
		opts  export.Options
		setup func(f *fixture)
		want  string
	}{
		{"database down", export.Options{}, func(f *fixture) {
			f.series.EXPECT().SeriesTags(gomock.Any(), gomock.Any()).Return([]metric.Tags{hostA}, nil)
			f.querier.EXPECT().Run(gomock.Any(), gomock.Any()).Return(metric.Page{}, outage.Unavailable("database", errors.New("dial tcp 10.0.0.5:3306: refused")))
		}, "the database was unavailable during the export; create it again"},
		{"internal error", export.Options{}, func(f *fixture) {
			f.series.EXPECT().SeriesTags(gomock.Any(), gomock.Any()).Return([]metric.Tags{hostA}, nil)
			f.querier.EXPECT().Run(gomock.Any(), gomock.Any()).Return(metric.Page{}, errors.New("secret detail"))
		}, "internal error during the export (logged); create it again"},
		{"too many rows", export.Options{MaxRows: 1}, func(f *fixture) {
			f.series.EXPECT().SeriesTags(gomock.Any(), gomock.Any()).Return([]metric.Tags{hostA}, nil)
			f.querier.EXPECT().Run(gomock.Any(), gomock.Any()).Return(page("raw", 1, 2), nil)
			f.store.EXPECT().AppendChunk(gomock.Any(), int64(42), "w1", gomock.Any(), gomock.Any(), gomock.Any()).Return(nil).AnyTimes()
		}, "the export has more than 1 rows; narrow the range or the tags, or use a rollup interval"},
		{"a new tag key", export.Options{}, func(f *fixture) {
			f.series.EXPECT().SeriesTags(gomock.Any(), gomock.Any()).Return([]metric.Tags{hostA}, nil)
			f.querier.EXPECT().Run(gomock.Any(), gomock.Any()).Return(metric.Page{Interval: "raw", Series: []metric.SeriesPoints{{Tags: hostB, Points: pts(1)}}}, nil)
		}, `a series with the new tag key "dc" appeared while exporting; create the export again`},
		{"resolution changed", export.Options{}, func(f *fixture) {
			f.series.EXPECT().SeriesTags(gomock.Any(), gomock.Any()).Return([]metric.Tags{hostA}, nil)
			gomock.InOrder(
				f.querier.EXPECT().Run(gomock.Any(), gomock.Any()).Return(page("raw", 1), nil),
				f.store.EXPECT().SaveProgress(gomock.Any(), int64(42), "w1", int64(1), gomock.Any(), gomock.Any()).Return(nil),
				f.querier.EXPECT().Run(gomock.Any(), gomock.Any()).Return(page("1m", 60_000), nil),
			)
		}, "the resolution changed from raw to 1m while exporting (the rollups moved on); create the export again"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := failJob(t, c.opts, claimed("raw"), c.setup); got != c.want {
				t.Errorf("message %q, want %q", got, c.want)
			}
		})
	}
}

func TestRunOneGivesUpOnAnExportItsWorkersNeverFinished(t *testing.T) {
	e := claimed("raw")
	e.Attempts = export.DefaultMaxAttempts + 1
	msg := failJob(t, export.Options{}, e, func(*fixture) {}) // no read at all
	if want := "the export was started 3 times and never finished (its worker stopped each time)"; msg != want {
		t.Errorf("message %q, want %q", msg, want)
	}
}

func TestRunOneStopsQuietlyWhenAnotherWorkerTookTheClaim(t *testing.T) {
	f := newFixture(t, export.Options{ChunkBytes: 4})
	f.store.EXPECT().ClaimExport(gomock.Any(), "w1", gomock.Any(), gomock.Any()).Return(claimed("raw"), true, nil)
	f.series.EXPECT().SeriesTags(gomock.Any(), gomock.Any()).Return([]metric.Tags{hostA}, nil)
	f.querier.EXPECT().Run(gomock.Any(), gomock.Any()).Return(metric.Page{Interval: "raw"}, nil).AnyTimes()
	f.store.EXPECT().AppendChunk(gomock.Any(), int64(42), "w1", 0, gomock.Any(), gomock.Any()).Return(export.ErrClaimLost)
	// Neither FinishExport nor ReleaseExport.
	out, ran, err := f.svc.RunOne(context.Background())
	if err != nil || !ran || out.Status != "" {
		t.Fatalf("RunOne = %+v %t %v", out, ran, err)
	}
}

func TestRunOneQueuesItsExportAgainWhenStopped(t *testing.T) {
	f := newFixture(t, export.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	f.store.EXPECT().ClaimExport(gomock.Any(), "w1", gomock.Any(), gomock.Any()).Return(claimed("raw"), true, nil)
	f.series.EXPECT().SeriesTags(gomock.Any(), gomock.Any()).Return([]metric.Tags{hostA}, nil)
	f.querier.EXPECT().Run(gomock.Any(), gomock.Any()).DoAndReturn(func(ctx context.Context, _ metric.Query) (metric.Page, error) {
		cancel()
		return metric.Page{}, outage.Unavailable("database", ctx.Err())
	})
	f.store.EXPECT().ReleaseExport(gomock.Any(), int64(42), "w1").Return(nil)
	if _, ran, err := f.svc.RunOne(ctx); err != nil || !ran {
		t.Fatalf("ran %t, err %v", ran, err)
	}
}
