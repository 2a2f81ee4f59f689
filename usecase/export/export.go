// Package export is the CSV export use case: a tenant asks for one
// metric's points over a range (POST /api/exports), a worker claims the
// export, reads its points page by page through the query use case and
// writes them as a file stored in chunks in the database, and the tenant
// downloads the file through a signed link that expires (any API replica
// serves it). The scheduler purges exports older than a TTL (a day).
//
// A claim is a lease: the worker renews it with every page and chunk, and
// an export whose worker died is claimed again once the lease has passed
// and written from scratch (its chunks deleted in the claim). Every write
// of a job names its holder, so a worker that lost its claim writes
// nothing more.
package export

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/pulsemetrics/pulse/domain/metric"
)

//go:generate go tool mockgen -destination=mock_ports_test.go -package=export_test . Store,Querier,Series,Encoder,RowWriter,Links

// Statuses of an export.
const (
	StatusQueued  = "queued"
	StatusRunning = "running"
	StatusDone    = "done"
	StatusFailed  = "failed"
)

// Interval names an export may ask for besides the kept rollup steps.
const (
	IntervalAuto = "auto"
	IntervalRaw  = "raw"
)

var (
	// ErrNotFound is an export that does not exist, or is another
	// tenant's, or was purged (404).
	ErrNotFound = errors.New("export not found")
	// ErrNotReady is a download of an export that is not done (409).
	ErrNotReady = errors.New("export is not done")
	// ErrLinkRefused wraps why a download link does not open: forged or
	// expired (403).
	ErrLinkRefused = errors.New("download link refused")
	// ErrInvalid is wrapped by an export request the query rules accept
	// but an export does not (422).
	ErrInvalid = errors.New("invalid export")
	// ErrClaimLost is a job's write after another worker claimed its
	// export (or it was purged): the job stops without a trace.
	ErrClaimLost = errors.New("export claim lost")
)

// Clock is the time (the use case never calls time.Now).
type Clock func() time.Time

// Request is what a tenant asks to export: the points of Name whose
// series carry every Tags pair, in [Start, End) (Unix ms), at Interval
// (auto, raw or a kept rollup step), each point's value the aggregate Agg.
type Request struct {
	Name       string
	Tags       map[string]string
	Start, End int64
	Interval   string
	Agg        string
	Gzip       bool
}

// Export is one export as stored. Times are Unix ms, 0 when not yet.
type Export struct {
	ID       int64
	TenantID int64
	Request
	Status     string
	Rows       int64
	Progress   float64 // 0..1
	Error      string  // why it failed, for the tenant to read
	Bytes      int64   // of its file
	Attempts   int     // claims so far
	CreatedAt  int64
	StartedAt  int64
	FinishedAt int64
}

// View is an export as its tenant sees it: when done, a freshly signed
// download link (DownloadQuery is "exp=…&sig=…") valid until ExpiresAt.
type View struct {
	Export
	DownloadQuery string
	ExpiresAt     int64
}

// Store keeps exports and their files. Every method on one tenant's data
// takes the tenant; ExportForLink alone reads by id, for a download whose
// signed link names the tenant. The job's writes (AppendChunk,
// SaveProgress, Finish, Release) apply only while holder holds the
// running export's claim, else they answer ErrClaimLost.
type Store interface {
	CreateExport(ctx context.Context, e Export) (Export, error)
	// GetExport answers ErrNotFound for another tenant's id.
	GetExport(ctx context.Context, tenantID, id int64) (Export, error)
	ExportForLink(ctx context.Context, id int64) (Export, error)
	// ClaimExport claims the oldest queued export, or a running one whose
	// claim ended before now, for holder until now+lease: running, its
	// attempts counted, its progress and chunks reset. ok is false when
	// there is none.
	ClaimExport(ctx context.Context, holder string, now int64, lease time.Duration) (e Export, ok bool, err error)
	// AppendChunk stores chunk seq of the file and renews the claim.
	AppendChunk(ctx context.Context, id int64, holder string, seq int, data []byte, until int64) error
	// SaveProgress records rows and progress and renews the claim.
	SaveProgress(ctx context.Context, id int64, holder string, rows int64, progress float64, until int64) error
	// FinishExport ends the claim as done (progress 1) or failed (its
	// chunks deleted, errMsg kept).
	FinishExport(ctx context.Context, id int64, holder, status string, rows int64, errMsg string, at int64) error
	// ReleaseExport puts a claimed export back in the queue, its claim
	// not counted (a worker shutting down).
	ReleaseExport(ctx context.Context, id int64, holder string) error
	// ReadChunk reads chunk seq of the tenant's export; ok is false past
	// the last.
	ReadChunk(ctx context.Context, tenantID, id int64, seq int) (data []byte, ok bool, err error)
	// PurgeExports deletes the exports created before cutoff, their
	// chunks first.
	PurgeExports(ctx context.Context, cutoff int64) (exports, chunks int64, err error)
}

// Querier answers the export's pages (usecase/query.Service): the same
// validation and points as the query API.
type Querier interface {
	Validate(q metric.Query) error
	Run(ctx context.Context, q metric.Query) (metric.Page, error)
}

// Series lists the tag sets of the series a query reads (its name, tag
// filters and tenant): the file's tag columns.
type Series interface {
	SeriesTags(ctx context.Context, q metric.Query) ([]metric.Tags, error)
}

// Columns are a file's columns beside the fixed ones: the tag keys, and
// whether points are rollup buckets (min, max and count too).
type Columns struct {
	TagKeys []string
	Rollup  bool
}

// Encoder is the file format (adapter/export/csvexport): it writes the
// header to w on Open, gzipped when asked.
type Encoder interface {
	Open(w io.Writer, cols Columns, gzip bool) (RowWriter, error)
}

// RowWriter writes a file's rows.
type RowWriter interface {
	// Write writes the points of one series, a row each.
	Write(name string, tags metric.Tags, points []metric.Point) error
	// Close writes what is buffered and ends the file (the gzip stream).
	Close() error
}

// Links signs and checks download links (adapter/export/exportlink).
type Links interface {
	Query(id, tenantID int64, expires time.Time) string
	Check(id, tenantID int64, exp, sig string, now time.Time) error
}

// Observer is told of every finished job (metrics).
type Observer interface {
	Finished(status string, rows int64, took time.Duration)
}
