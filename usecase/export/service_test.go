package export_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/usecase/export"
)

var now = time.Date(2026, 12, 3, 10, 0, 0, 500_000_000, time.UTC)

const tenant = 7

type fixture struct {
	store   *MockStore
	querier *MockQuerier
	series  *MockSeries
	links   *MockLinks
	enc     *lineEncoder
	svc     *export.Service
}

func newFixture(t *testing.T, opts export.Options) *fixture {
	ctrl := gomock.NewController(t)
	f := &fixture{store: NewMockStore(ctrl), querier: NewMockQuerier(ctrl), series: NewMockSeries(ctrl), links: NewMockLinks(ctrl), enc: &lineEncoder{}}
	if opts.Holder == "" {
		opts.Holder = "w1"
	}
	f.svc = export.New(f.store, f.querier, f.series, f.enc, f.links, func() time.Time { return now }, opts)
	return f
}

func request() export.Request {
	return export.Request{Name: "cpu.load", Tags: map[string]string{"host": "a"}, Start: 1000, End: 61_000}
}

func TestCreateNormalisesValidatesAndQueues(t *testing.T) {
	f := newFixture(t, export.Options{})
	want := request()
	want.Interval, want.Agg = "auto", "avg"
	f.querier.EXPECT().Validate(metric.Query{TenantID: tenant, Name: "cpu.load", Tags: want.Tags, Start: 1000, End: 61_000,
		Interval: "auto", Agg: "avg", MaxPoints: export.AutoPageRows}).Return(nil)
	f.store.EXPECT().CreateExport(gomock.Any(), export.Export{TenantID: tenant, Request: want, Status: export.StatusQueued, CreatedAt: now.UnixMilli()}).
		DoAndReturn(func(_ context.Context, e export.Export) (export.Export, error) { e.ID = 42; return e, nil })
	e, err := f.svc.Create(context.Background(), tenant, request())
	if err != nil || e.ID != 42 || e.Status != export.StatusQueued {
		t.Fatalf("Create = %+v, %v", e, err)
	}
}

func TestCreateRefusesWhatTheQueryRefuses(t *testing.T) {
	f := newFixture(t, export.Options{})
	invalid := errors.New("invalid query: end must be after start")
	f.querier.EXPECT().Validate(gomock.Any()).Return(invalid) // and no CreateExport
	if _, err := f.svc.Create(context.Background(), tenant, request()); !errors.Is(err, invalid) {
		t.Fatalf("err = %v, want the query's", err)
	}
	req := request()
	req.Tags = map[string]string{"": "x"}
	if _, err := f.svc.Create(context.Background(), tenant, req); !errors.Is(err, export.ErrInvalid) {
		t.Fatalf("empty tag key: err = %v, want ErrInvalid", err)
	}
}

func TestGetSignsAFreshLinkOnlyWhenDone(t *testing.T) {
	f := newFixture(t, export.Options{})
	done := export.Export{ID: 5, TenantID: tenant, Status: export.StatusDone}
	f.store.EXPECT().GetExport(gomock.Any(), int64(tenant), int64(5)).Return(done, nil)
	expires := now.Add(time.Hour).Truncate(time.Second)
	f.links.EXPECT().Query(int64(5), int64(tenant), expires).Return("exp=1&sig=x")
	v, err := f.svc.Get(context.Background(), tenant, 5)
	if err != nil || v.DownloadQuery != "exp=1&sig=x" || v.ExpiresAt != expires.UnixMilli() {
		t.Fatalf("Get(done) = %+v, %v", v, err)
	}
	f.store.EXPECT().GetExport(gomock.Any(), int64(tenant), int64(6)).Return(export.Export{ID: 6, TenantID: tenant, Status: export.StatusRunning}, nil)
	if v, err := f.svc.Get(context.Background(), tenant, 6); err != nil || v.DownloadQuery != "" || v.ExpiresAt != 0 {
		t.Fatalf("Get(running) = %+v, %v: want no link", v, err)
	}
	f.store.EXPECT().GetExport(gomock.Any(), int64(tenant), int64(7)).Return(export.Export{}, export.ErrNotFound)
	if _, err := f.svc.Get(context.Background(), tenant, 7); !errors.Is(err, export.ErrNotFound) {
		t.Fatalf("Get(another tenant's) err = %v", err)
	}
}

func TestOpenChecksTheLinkAgainstTheExportsTenantThenItsStatus(t *testing.T) {
	forged := errors.New("export link: the signature does not match")
	cases := []struct {
		name   string
		status string
		check  error
		want   error
	}{
		{"done", export.StatusDone, nil, nil},
		{"forged", export.StatusDone, forged, export.ErrLinkRefused},
		{"forged before the status", export.StatusRunning, forged, export.ErrLinkRefused},
		{"not done", export.StatusRunning, nil, export.ErrNotReady},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, export.Options{})
			f.store.EXPECT().ExportForLink(gomock.Any(), int64(9)).Return(export.Export{ID: 9, TenantID: 3, Status: c.status}, nil)
			f.links.EXPECT().Check(int64(9), int64(3), "e", "s", now).Return(c.check)
			_, err := f.svc.Open(context.Background(), 9, "e", "s")
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if c.check != nil && !errors.Is(err, c.check) {
				t.Errorf("err = %v does not carry the link's reason", err)
			}
		})
	}
	f := newFixture(t, export.Options{})
	f.store.EXPECT().ExportForLink(gomock.Any(), int64(10)).Return(export.Export{}, export.ErrNotFound) // no Check
	if _, err := f.svc.Open(context.Background(), 10, "e", "s"); !errors.Is(err, export.ErrNotFound) {
		t.Fatalf("unknown id: err = %v", err)
	}
}

func TestCopyStreamsTheChunksInOrderAndRefusesAShortFile(t *testing.T) {
	f := newFixture(t, export.Options{})
	e := export.Export{ID: 4, TenantID: tenant, Bytes: 6}
	gomock.InOrder(
		f.store.EXPECT().ReadChunk(gomock.Any(), int64(tenant), int64(4), 0).Return([]byte("abc"), true, nil),
		f.store.EXPECT().ReadChunk(gomock.Any(), int64(tenant), int64(4), 1).Return([]byte("def"), true, nil),
		f.store.EXPECT().ReadChunk(gomock.Any(), int64(tenant), int64(4), 2).Return(nil, false, nil),
	)
	var b bytes.Buffer
	if n, err := f.svc.Copy(context.Background(), e, &b); err != nil || n != 6 || b.String() != "abcdef" {
		t.Fatalf("Copy = %d %q %v", n, b.String(), err)
	}
	e.Bytes = 7
	f.store.EXPECT().ReadChunk(gomock.Any(), int64(tenant), int64(4), 0).Return([]byte("abc"), true, nil)
	f.store.EXPECT().ReadChunk(gomock.Any(), int64(tenant), int64(4), 1).Return(nil, false, nil)
	if _, err := f.svc.Copy(context.Background(), e, &bytes.Buffer{}); err == nil {
		t.Fatal("a file shorter than recorded was copied without an error")
	}
}

func TestPurgeDeletesWhatIsOlderThanTheTTL(t *testing.T) {
	f := newFixture(t, export.Options{TTL: 2 * time.Hour})
	f.store.EXPECT().PurgeExports(gomock.Any(), now.Add(-2*time.Hour).UnixMilli()).Return(int64(3), int64(12), nil)
	if p, err := f.svc.Purge(context.Background()); err != nil || p != (export.Purged{Exports: 3, Chunks: 12}) {
		t.Fatalf("Purge = %+v, %v", p, err)
	}
}

// lineEncoder writes a header line and one "name tags ts value" line per
// point: enough to see what the job wrote and in which order.
type lineEncoder struct {
	cols  export.Columns
	gzip  bool
	fail  error
	close error
}

func (e *lineEncoder) Open(w io.Writer, cols export.Columns, gzip bool) (export.RowWriter, error) {
	e.cols, e.gzip = cols, gzip
	if _, err := fmt.Fprintf(w, "keys=%s rollup=%t\n", strings.Join(cols.TagKeys, ","), cols.Rollup); err != nil {
		return nil, err
	}
	return &lineWriter{w: w, enc: e}, nil
}

type lineWriter struct {
	w   io.Writer
	enc *lineEncoder
}

func (l *lineWriter) Write(name string, tags metric.Tags, points []metric.Point) error {
	if l.enc.fail != nil {
		return l.enc.fail
	}
	for _, p := range points {
		if _, err := fmt.Fprintf(l.w, "%s %v %d %g\n", name, tags.Map(), p.TS, p.Value); err != nil {
			return err
		}
	}
	return nil
}

func (l *lineWriter) Close() error { return l.enc.close }
