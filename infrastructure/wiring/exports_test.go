package wiring_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
)

// An export through `pulse serve`'s router, as assembled: queued with a
// read token, run by the job, followed to done, downloaded with its signed
// link and no token; a forged or expired link, another tenant's export id
// under this link, and another tenant's status call are refused.
func TestExportThroughTheAssembledRouter(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg, finish := config.Register(fs, func(string) string { return "" })
	if err := fs.Parse([]string{"--data-dir", t.TempDir(), "--http-addr", "127.0.0.1:0", "--log-level", "error"}); err != nil {
		t.Fatal(err)
	}
	if err := finish(); err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	base := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	clock.Store(base.UnixMilli())
	now := func() time.Time { return time.UnixMilli(clock.Load()) }
	ctx := context.Background()
	p, cleanup, err := wiring.AssemblePipelineWithClock(ctx, cfg, "all", now)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	tokens := map[string]string{}
	for _, slug := range []string{"acme", "other"} {
		tn, err := p.Tenancy.CreateTenant(ctx, audit.CLI(), slug, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := p.Tenancy.CreateToken(ctx, audit.CLI(), slug, token.Spec{Name: "t", Scopes: []token.Scope{token.ScopeRead}})
		if err != nil {
			t.Fatal(err)
		}
		tokens[slug] = tok.Plain
		var smp []metric.Sample
		for i := range 30 {
			smp = append(smp, metric.Rehydrate("cpu.load", float64(i), metric.SortedTags(map[string]string{"host": slug}), base.Add(-time.Duration(i+1)*time.Minute).UnixMilli(), ""))
		}
		if _, err := p.Samples.WriteBatches(ctx, []metric.Batch{{ID: slug, TenantID: tn.ID, AcceptedAt: base, Samples: smp}}); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(p.Handler)
	defer srv.Close()
	do := func(method, path, tok, body string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if tok != "" {
			req.Header.Set("X-API-Token", tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	// create queues an export of the tenant's last hour and runs it.
	create := func(slug string) (id int64, downloadURL string) {
		t.Helper()
		code, _, body := do(http.MethodPost, "/api/exports", tokens[slug], `{"name":"cpu.load","interval":"raw"}`)
		var queued struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal([]byte(body), &queued); code != http.StatusAccepted || err != nil || queued.Status != "queued" {
			t.Fatalf("POST /api/exports: %d %s", code, body)
		}
		if out, ran, err := p.Exports.RunOne(ctx); err != nil || !ran || out.Rows != 30 {
			t.Fatalf("RunOne = %+v %t %v", out, ran, err)
		}
		code, _, body = do(http.MethodGet, fmt.Sprintf("/api/exports/%d", queued.ID), tokens[slug], "")
		var status struct {
			Status      string `json:"status"`
			Rows        int64  `json:"rows"`
			DownloadURL string `json:"download_url"`
		}
		if err := json.Unmarshal([]byte(body), &status); code != http.StatusOK || err != nil || status.Status != "done" || status.Rows != 30 {
			t.Fatalf("GET /api/exports/%d: %d %s", queued.ID, code, body)
		}
		return queued.ID, status.DownloadURL
	}
	acmeID, acmeURL := create("acme")
	otherID, _ := create("other")

	code, hdr, body := do(http.MethodGet, acmeURL, "", "")
	if code != http.StatusOK || hdr.Get("Content-Type") != "text/csv; charset=utf-8" || hdr.Get("Cache-Control") != "no-store" ||
		!strings.HasPrefix(body, "timestamp,unix_ms,name,host,value\r\n") || strings.Count(body, "\r\n") != 31 || strings.Contains(body, "other") {
		t.Fatalf("download: %d %v\n%s", code, hdr, body)
	}
	if code, _, _ := do(http.MethodGet, fmt.Sprintf("/api/exports/%d", acmeID), tokens["other"], ""); code != http.StatusNotFound {
		t.Errorf("another tenant's status call: %d, want 404", code)
	}
	query := acmeURL[strings.Index(acmeURL, "?"):]
	for name, c := range map[string]struct {
		path string
		want int
	}{
		"forged":                         {strings.Replace(acmeURL, "sig=", "sig=x", 1), http.StatusForbidden},
		"another tenant's id, this link": {fmt.Sprintf("/exports/%d.csv%s", otherID, query), http.StatusForbidden},
		"an unknown id":                  {fmt.Sprintf("/exports/%d.csv%s", otherID+100, query), http.StatusNotFound},
	} {
		if code, _, body := do(http.MethodGet, c.path, "", ""); code != c.want || strings.Contains(body, "timestamp") {
			t.Errorf("%s: %d %s, want %d", name, code, body, c.want)
		}
	}
	clock.Add((time.Hour + time.Second).Milliseconds())
	if code, _, body := do(http.MethodGet, acmeURL, "", ""); code != http.StatusForbidden || !strings.Contains(body, "expired") {
		t.Errorf("expired: %d %s, want 403", code, body)
	}
}
