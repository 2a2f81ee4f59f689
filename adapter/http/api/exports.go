package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"
	"github.com/gorilla/mux"

	"github.com/pulsemetrics/pulse/adapter/samplejson"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/export"
)

// Exports is the export use case (usecase/export.Service).
// Implementations must be safe for concurrent use.
type Exports interface {
	Create(ctx context.Context, tenantID int64, req export.Request) (export.Export, error)
	Get(ctx context.Context, tenantID, id int64) (export.View, error)
	// Open is the export a download link names, its signature checked
	// against the export's tenant and the export done.
	Open(ctx context.Context, id int64, exp, sig string) (export.Export, error)
	Copy(ctx context.Context, e export.Export, w io.Writer) (int64, error)
}

// registerExports adds the export routes under prefix ("/api" for
// tokens, "/ui/api" for the dashboard's session), both with scope read.
func (s *server) registerExports(r *mux.Router, prefix string, auth guard) {
	r.Handle(prefix+"/exports", auth(token.ScopeRead, s.handleCreateExport)).Methods(http.MethodPost)
	r.Handle(prefix+"/exports/{id:[0-9]+}", auth(token.ScopeRead, s.handleGetExport)).Methods(http.MethodGet)
}

// registerDownload adds GET /exports/{id}.csv: no token, the signed link
// is the credential. It is outside /api/ (a browser follows it from the
// dashboard) and long-lived (longLived): no request deadline cuts it.
func (s *server) registerDownload(r *mux.Router) {
	r.HandleFunc("/exports/{id:[0-9]+}.csv", s.handleDownload).Methods(http.MethodGet)
}

// ExportDeps is what NewExportHandlers needs; all are required but Logger.
type ExportDeps struct {
	Exports   Exports
	Principal PrincipalFunc
	Logger    *slog.Logger
}

// NewExportHandlers serves the export routes under /ui/api for the
// dashboard's session: the same handlers, answers and error mapping as
// /api, the principal from Principal.
func NewExportHandlers(d ExportDeps) http.Handler {
	s := &server{exports: d.Exports, log: d.Logger, now: time.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s.sessionRouter(d.Principal, s.registerExports)
}

// exportBody is POST /api/exports. start and end are what the query API
// takes (RFC 3339, or Unix seconds or milliseconds), as a string or a
// number; the defaults are the query API's (the last hour).
type exportBody struct {
	Name     string            `json:"name"`
	Tags     map[string]string `json:"tags"`
	Start    json.RawMessage   `json:"start"`
	End      json.RawMessage   `json:"end"`
	Interval string            `json:"interval"`
	Agg      string            `json:"agg"`
	Gzip     bool              `json:"gzip"`
}

// exportAnswer is an export as GET /api/exports/{id} answers it. Times
// are RFC 3339 with milliseconds; the optional fields are absent until
// they apply (error when failed; download_url and expires_at when done).
type exportAnswer struct {
	ID          int64             `json:"id"`
	Status      string            `json:"status"`
	Name        string            `json:"name"`
	Tags        map[string]string `json:"tags"`
	Start       string            `json:"start"`
	End         string            `json:"end"`
	Interval    string            `json:"interval"`
	Agg         string            `json:"agg"`
	Gzip        bool              `json:"gzip"`
	Rows        int64             `json:"rows"`
	Bytes       int64             `json:"bytes"`
	Progress    float64           `json:"progress"`
	Error       string            `json:"error,omitempty"`
	CreatedAt   string            `json:"created_at"`
	StartedAt   *string           `json:"started_at,omitempty"`
	FinishedAt  *string           `json:"finished_at,omitempty"`
	DownloadURL string            `json:"download_url,omitempty"`
	ExpiresAt   *string           `json:"expires_at,omitempty"`
}

func exportAnswerOf(v export.View) exportAnswer {
	tags := v.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	a := exportAnswer{ID: v.ID, Status: v.Status, Name: v.Name, Tags: tags, Start: exportTime(v.Start), End: exportTime(v.End),
		Interval: v.Interval, Agg: v.Agg, Gzip: v.Gzip, Rows: v.Rows, Bytes: v.Bytes, Progress: v.Progress,
		CreatedAt: exportTime(v.CreatedAt), StartedAt: msTime(v.StartedAt), FinishedAt: msTime(v.FinishedAt), ExpiresAt: msTime(v.ExpiresAt)}
	if v.Status == export.StatusFailed {
		a.Error = v.Error
	}
	if v.DownloadQuery != "" {
		a.DownloadURL = fmt.Sprintf("/exports/%d.csv?%s", v.ID, v.DownloadQuery)
	}
	return a
}

// exportTime is a time that is always set, as answered.
func exportTime(ms int64) string { return time.UnixMilli(ms).UTC().Format(rfc3339ms) }

// timeField reads an optional start or end: absent or null is def.
func timeField(raw json.RawMessage, name string, def time.Time) (time.Time, error) {
	text := strings.TrimSpace(string(raw))
	if text == "" || text == "null" {
		return def, nil
	}
	if strings.HasPrefix(text, `"`) {
		if err := json.Unmarshal(raw, &text); err != nil {
			return def, invalidQuery("%s must be a string or a number", name)
		}
	}
	t, msg := samplejson.ParseTimeParam(text)
	if msg != "" {
		return def, invalidQuery("%s %s", name, msg)
	}
	return t, nil
}

func (s *server) handleCreateExport(w http.ResponseWriter, r *http.Request) {
	var body exportBody
	if err := decodeBody(w, r, &body); err != nil {
		s.writeError(w, err)
		return
	}
	end, err := timeField(body.End, "end", s.now())
	if err != nil {
		s.writeError(w, err)
		return
	}
	start, err := timeField(body.Start, "start", end.Add(-defaultRange))
	if err != nil {
		s.writeError(w, err)
		return
	}
	req := export.Request{Name: body.Name, Tags: body.Tags, Start: start.UnixMilli(), End: end.UnixMilli(),
		Interval: body.Interval, Agg: body.Agg, Gzip: body.Gzip}
	e, err := s.exports.Create(r.Context(), principalFrom(r.Context()).TenantID, req)
	if err != nil {
		s.writeError(w, err)
		return
	}
	w.Header().Set("Location", r.URL.Path+"/"+strconv.FormatInt(e.ID, 10))
	writeJSON(w, http.StatusAccepted, map[string]any{"id": e.ID, "status": e.Status})
}

func (s *server) handleGetExport(w http.ResponseWriter, r *http.Request) {
	v, err := s.exports.Get(r.Context(), principalFrom(r.Context()).TenantID, ruleID(r))
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, exportAnswerOf(v))
}

// handleDownload streams a done export's file. The lookup is bounded by
// the request timeout; each chunk's write by writeGrace, so a reader that
// stalls is dropped while a slow one may take as long as it needs.
func (s *server) handleDownload(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ctx, cancel := context.WithTimeout(r.Context(), s.limits.RequestTimeout)
	e, err := s.exports.Open(ctx, ruleID(r), q.Get("exp"), q.Get("sig"))
	cancel()
	if err != nil {
		s.writeError(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	if e.Gzip {
		h.Set("Content-Type", "application/gzip")
	}
	h.Set("Content-Disposition", `attachment; filename="`+exportFilename(e)+`"`)
	h.Set("Content-Length", strconv.FormatInt(e.Bytes, 10))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if n, err := s.exports.Copy(r.Context(), e, &deadlineWriter{w: w, rc: http.NewResponseController(w)}); err != nil {
		// The answer has begun: the connection closes short of its
		// Content-Length, which the client sees as a broken download.
		s.log.Warn("export download cut short", "export", e.ID, "bytes", n, "of", e.Bytes, "err", err)
	}
}

// exportFilename is "<name>-<start>.csv" (".csv.gz" when gzipped), start
// as 20261125T100000Z; characters a file name should not hold become "_".
func exportFilename(e export.Export) string {
	name := strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') {
			return r
		}
		return '_'
	}, e.Name)
	ext := ".csv"
	if e.Gzip {
		ext = ".csv.gz"
	}
	return name + "-" + time.UnixMilli(e.Start).UTC().Format("20060102T150405Z") + ext
}

// deadlineWriter gives each write writeGrace to reach the client.
type deadlineWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	_ = d.rc.SetWriteDeadline(time.Now().Add(writeGrace))
	return d.w.Write(p)
}
