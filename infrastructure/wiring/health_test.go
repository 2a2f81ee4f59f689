package wiring_test

import (
	"context"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
	"github.com/pulsemetrics/pulse/usecase/flush"
)

// With `pulse serve`'s wiring (embedded mode), samples ingested over HTTP
// and one recorder tick leave pulse.ingest.accepted for that tenant in the
// internal tenant, recorded through the ingest path and flushed like any
// sample; Pulse's own samples are not counted as a tenant's, and the
// tenant sees none of the figures.
func TestServeRecordsItsOwnFigures(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg, finish := config.Register(fs, func(string) string { return "" })
	if err := fs.Parse([]string{"--data-dir", t.TempDir(), "--http-addr", "127.0.0.1:0", "--log-level", "error"}); err != nil {
		t.Fatal(err)
	}
	if err := finish(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p, cleanup, err := wiring.AssemblePipeline(ctx, cfg, "all")
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	acme, err := p.Tenancy.CreateTenant(ctx, audit.CLI(), "acme", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := p.Tenancy.CreateToken(ctx, audit.CLI(), "acme", token.Spec{Name: "t", Scopes: []token.Scope{token.ScopeIngest}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.Handler)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/metrics", strings.NewReader(`[{"name":"cpu.load","value":1},{"name":"cpu.load","value":2,"tags":{"host":"b"}}]`))
	req.Header.Set("X-API-Token", tok.Plain)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("ingest: %d %s", resp.StatusCode, body)
	}

	if n, err := p.Health.Tick(ctx); err != nil || n == 0 {
		t.Fatalf("Tick = %d, %v", n, err)
	}
	w := p.Workers[0].(*flush.Worker)
	for {
		n, err := w.FlushOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}

	internal, err := p.Tenancy.InternalTenantID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q := metric.Query{TenantID: internal, Name: "pulse.ingest.accepted", Start: time.Now().Add(-time.Hour).UnixMilli(), End: time.Now().Add(time.Minute).UnixMilli()}
	page, err := p.Query.Run(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Series) != 1 {
		t.Fatalf("pulse.ingest.accepted series = %+v, want one (acme over http)", page.Series)
	}
	tags := page.Series[0].Tags.Map()
	if tags["tenant"] != "acme" || tags["door"] != "http" || tags["role"] != "all" || tags["instance"] == "" {
		t.Errorf("tags = %v", tags)
	}
	if pts := page.Series[0].Points; len(pts) != 1 || pts[0].Value <= 0 {
		t.Errorf("points = %+v, want one positive rate", pts)
	}
	q.Name = "pulse.queue.depth"
	if page, err := p.Query.Run(ctx, q); err != nil || len(page.Series) != 1 {
		t.Errorf("pulse.queue.depth = %+v, %v", page.Series, err)
	}
	q.TenantID, q.Name = acme.ID, "pulse.ingest.accepted"
	if page, err := p.Query.Run(ctx, q); err != nil || len(page.Series) != 0 {
		t.Errorf("the tenant sees figures of the internal tenant: %+v, %v", page.Series, err)
	}
}
