package features_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The isolation matrix's export data: per tenant one export of its metric,
// run to done, and its download link.

// isoExport is a seeded, done export and the query of its signed link.
type isoExport struct {
	id        int64
	linkQuery string // "?exp=…&sig=…"
}

// isoExportBody asks for tn's metric around the seeded time.
func (w *isoWorld) isoExportBody(tn *isoTenant) []byte {
	return fmt.Appendf(nil, `{"name":%q,"start":%q,"end":%q,"interval":"raw"}`, tn.metric,
		w.seededAt.Add(-time.Hour).Format(time.RFC3339), w.seededAt.Add(time.Hour).Format(time.RFC3339))
}

// isoSeedExport creates tn's export with its read token, runs it and
// keeps its download link.
func isoSeedExport(t *testing.T, w *isoWorld, tn *isoTenant) {
	t.Helper()
	ans, err := w.srv.do(http.MethodPost, "/api/exports", tn.tokens["read"].plain, w.isoExportBody(tn))
	var queued struct {
		ID int64 `json:"id"`
	}
	if err != nil || ans.status != http.StatusAccepted || json.Unmarshal(ans.body, &queued) != nil {
		t.Fatalf("create %s's export: %v\n%s", tn.label, err, ans.text())
	}
	if out, ran, err := w.srv.exports.RunOne(context.Background()); err != nil || !ran || out.ID != queued.ID || out.Rows != 1 {
		t.Fatalf("run %s's export: %+v %t %v", tn.label, out, ran, err)
	}
	ans, err = w.srv.do(http.MethodGet, fmt.Sprintf("/api/exports/%d", queued.ID), tn.tokens["read"].plain, nil)
	var status struct {
		DownloadURL string `json:"download_url"`
	}
	if err != nil || ans.status != http.StatusOK || json.Unmarshal(ans.body, &status) != nil || !strings.Contains(status.DownloadURL, "?") {
		t.Fatalf("%s's export: %v\n%s", tn.label, err, ans.text())
	}
	tn.export = isoExport{id: queued.ID, linkQuery: status.DownloadURL[strings.Index(status.DownloadURL, "?"):]}
}

// isoExportRoutes are the export routes' rows. The download takes no
// token (its signed link is the credential): aimed at the target's export
// with the other tenant's link, it is refused to everyone.
var isoExportRoutes = []isoRoute{
	{
		method: http.MethodPost, path: "/api/exports", access: accessTenant, scope: "read", wrong: "ingest",
		own: http.StatusAccepted, other: http.StatusAccepted, // the other tenant queues an export of its own data
		url: fixed("/api/exports"), body: func(w *isoWorld, tn *isoTenant) []byte { return w.isoExportBody(tn) },
	},
	{
		method: http.MethodGet, path: "/api/exports/{id}", access: accessTenant, scope: "read", wrong: "ingest",
		own: http.StatusOK, other: http.StatusNotFound,
		url:   func(_ *isoWorld, tn *isoTenant) string { return fmt.Sprintf("/api/exports/%d", tn.export.id) },
		shows: func(_ *isoWorld, tn *isoTenant) []string { return []string{tn.metric, `"download_url":"/exports/`} },
	},
	{
		method: http.MethodGet, path: "/exports/{id}.csv", access: accessPublic, ok: http.StatusForbidden,
		url: func(w *isoWorld, tn *isoTenant) string {
			other := w.a
			if tn == w.a {
				other = w.b
			}
			return fmt.Sprintf("/exports/%d.csv%s", tn.export.id, other.export.linkQuery)
		},
	},
}
