package export

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
)

// Defaults of Options.
const (
	DefaultLease       = time.Minute
	DefaultPageRows    = 10_000
	DefaultChunkBytes  = 1 << 20
	DefaultMaxRows     = 5_000_000
	DefaultMaxAttempts = 3
	DefaultTTL         = 24 * time.Hour
	DefaultLinkTTL     = time.Hour
	// AutoPageRows is the page size of interval auto: the query API's
	// hard maximum (query.HardMaxPoints), so auto picks the finest
	// resolution whose points fit 100,000 rows, as the query API does with
	// max_points=100000.
	AutoPageRows = 100_000
)

// Options tune the use case; zero fields take the defaults.
type Options struct {
	// Holder names this process in claims (unique per process).
	Holder string
	// Lease is how long a claim lasts unrenewed: a dead worker's export
	// is claimed again after it.
	Lease time.Duration
	// PageRows is the points of one page read (raw and rollup steps).
	PageRows int
	// ChunkBytes is the size of a stored chunk of the file.
	ChunkBytes int
	// MaxRows fails an export that would hold more rows.
	MaxRows int64
	// MaxAttempts fails an export claimed that many times without
	// finishing (its worker died each time).
	MaxAttempts int
	// TTL is the age at which Purge deletes an export.
	TTL time.Duration
	// LinkTTL is how long a download link is valid.
	LinkTTL  time.Duration
	Observer Observer
	Logger   *slog.Logger
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.PageRows, DefaultPageRows)
	def(&o.ChunkBytes, DefaultChunkBytes)
	def(&o.MaxAttempts, DefaultMaxAttempts)
	defDur(&o.Lease, DefaultLease)
	defDur(&o.TTL, DefaultTTL)
	defDur(&o.LinkTTL, DefaultLinkTTL)
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.Holder == "" {
		o.Holder = "export-worker"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Service is the export use case. It is safe for concurrent use.
type Service struct {
	store   Store
	querier Querier
	series  Series
	enc     Encoder
	links   Links
	now     Clock
	opts    Options
	log     *slog.Logger
}

// New returns the use case.
func New(st Store, q Querier, series Series, enc Encoder, links Links, clock Clock, opts Options) *Service {
	if clock == nil {
		clock = time.Now
	}
	opts = opts.withDefaults()
	return &Service{store: st, querier: q, series: series, enc: enc, links: links, now: clock, opts: opts, log: opts.Logger}
}

// SetObserver sets who is told of finished jobs; call it before Run.
func (s *Service) SetObserver(o Observer) { s.opts.Observer = o }

// Create validates req as the query API validates a query and queues it
// for the tenant. An empty interval is auto, an empty aggregate avg.
func (s *Service) Create(ctx context.Context, tenantID int64, req Request) (Export, error) {
	if req.Interval == "" {
		req.Interval = IntervalAuto
	}
	if req.Agg == "" {
		req.Agg = "avg"
	}
	for k := range req.Tags {
		if k == "" {
			return Export{}, fmt.Errorf("%w: a tag filter needs a key", ErrInvalid)
		}
	}
	if err := s.querier.Validate(s.pageQuery(tenantID, req)); err != nil {
		return Export{}, err
	}
	e, err := s.store.CreateExport(ctx, Export{TenantID: tenantID, Request: req, Status: StatusQueued, CreatedAt: s.now().UnixMilli()})
	if err != nil {
		return Export{}, fmt.Errorf("create export tenant=%d: %w", tenantID, err)
	}
	return e, nil
}

// pageQuery is the query of req's first page.
func (s *Service) pageQuery(tenantID int64, req Request) metric.Query {
	rows := s.opts.PageRows
	if req.Interval == IntervalAuto {
		rows = AutoPageRows
	}
	return metric.Query{TenantID: tenantID, Name: req.Name, Tags: req.Tags, Start: req.Start, End: req.End,
		Interval: req.Interval, Agg: req.Agg, MaxPoints: rows}
}

// Get is the tenant's export, with a fresh download link when done.
func (s *Service) Get(ctx context.Context, tenantID, id int64) (View, error) {
	e, err := s.store.GetExport(ctx, tenantID, id)
	if err != nil {
		return View{}, fmt.Errorf("export tenant=%d id=%d: %w", tenantID, id, err)
	}
	v := View{Export: e}
	if e.Status == StatusDone {
		expires := s.now().Add(s.opts.LinkTTL).Truncate(time.Second) // a link's expiry has whole seconds
		v.DownloadQuery, v.ExpiresAt = s.links.Query(e.ID, e.TenantID, expires), expires.UnixMilli()
	}
	return v, nil
}

// Open is the export a download link names, once its signature (exp,
// sig) holds for the export's tenant and the export is done.
func (s *Service) Open(ctx context.Context, id int64, exp, sig string) (Export, error) {
	e, err := s.store.ExportForLink(ctx, id)
	if err != nil {
		return Export{}, fmt.Errorf("export id=%d: %w", id, err)
	}
	if err := s.links.Check(e.ID, e.TenantID, exp, sig, s.now()); err != nil {
		return Export{}, fmt.Errorf("%w: %w", ErrLinkRefused, err)
	}
	if e.Status != StatusDone {
		return Export{}, fmt.Errorf("export id=%d is %s: %w", id, e.Status, ErrNotReady)
	}
	return e, nil
}

// Copy writes e's file to w, chunk by chunk (one chunk in memory at a
// time), and answers the bytes written. A file shorter than e.Bytes (its
// export purged meanwhile) is an error: the answer must not look whole.
func (s *Service) Copy(ctx context.Context, e Export, w io.Writer) (int64, error) {
	var n int64
	for seq := 0; ; seq++ {
		data, ok, err := s.store.ReadChunk(ctx, e.TenantID, e.ID, seq)
		if err != nil {
			return n, fmt.Errorf("export id=%d chunk %d: %w", e.ID, seq, err)
		}
		if !ok {
			break
		}
		m, err := w.Write(data)
		n += int64(m)
		if err != nil {
			return n, fmt.Errorf("export id=%d: write chunk %d: %w", e.ID, seq, err)
		}
	}
	if n != e.Bytes {
		return n, fmt.Errorf("export id=%d: %d of %d bytes stored (purged while downloading?)", e.ID, n, e.Bytes)
	}
	return n, nil
}

// Purged is what one Purge deleted.
type Purged struct{ Exports, Chunks int64 }

// Purge deletes the exports older than Options.TTL, with their files.
func (s *Service) Purge(ctx context.Context) (Purged, error) {
	cutoff := s.now().Add(-s.opts.TTL).UnixMilli()
	ex, ch, err := s.store.PurgeExports(ctx, cutoff)
	if err != nil {
		return Purged{ex, ch}, fmt.Errorf("purge exports before %d: %w", cutoff, err)
	}
	return Purged{ex, ch}, nil
}
