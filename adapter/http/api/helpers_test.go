package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsemetrics/pulse/adapter/http/api"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/outage"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/usecase/ingest"
	"github.com/pulsemetrics/pulse/usecase/query"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// Tokens the fake authenticator knows.
const (
	ingestToken  = "tok-ingest"   // tenant 7, scope ingest
	readToken    = "tok-read"     // tenant 7, scope read
	revokedToken = "tok-revoked"  // revoked
	orphanToken  = "tok-orphan"   // tenant 404 (no such tenant), scope ingest
	brokenToken  = "tok-broken"   // the token lookup fails with an unmarked error (a bug)
	downToken    = "tok-down"     // the token store is down (an outage)
	slowToken    = "tok-slow"     // the token store does not answer until the request's deadline
	adminToken   = "tok-platform" // a platform-admin token
)

const tenantID = 7

var testNow = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

type fakeAuth struct{}

func (fakeAuth) Authenticate(ctx context.Context, raw string, need token.Scope) (tenancy.Principal, error) {
	switch raw {
	case ingestToken, orphanToken:
		if need != token.ScopeIngest {
			return tenancy.Principal{}, token.ErrForbidden
		}
		id := int64(tenantID)
		if raw == orphanToken {
			id = 404
		}
		return tenancy.Principal{TokenID: raw, TenantID: id}, nil
	case readToken:
		if need != token.ScopeRead {
			return tenancy.Principal{}, token.ErrForbidden
		}
		return tenancy.Principal{TokenID: raw, TenantID: tenantID}, nil
	case brokenToken:
		return tenancy.Principal{}, fmt.Errorf("look up token: %w", errSecretDB)
	case adminToken:
		if need != token.ScopePlatform {
			return tenancy.Principal{}, token.ErrForbidden
		}
		return tenancy.Principal{TokenID: raw}, nil
	case downToken:
		return tenancy.Principal{}, fmt.Errorf("look up token: %w", outage.Unavailable("database", errSecretDB))
	case slowToken:
		<-ctx.Done()
		return tenancy.Principal{}, fmt.Errorf("look up token: %w", ctx.Err())
	}
	return tenancy.Principal{}, token.ErrUnauthenticated // unknown and revoked alike
}

var errSecretDB = fmt.Errorf("dial tcp 10.0.0.5:3306: secret-db-password rejected")

// recordingQueue is the ingest Queue: it keeps what was enqueued.
type recordingQueue struct {
	mu      sync.Mutex
	batches []metric.Batch
	err     error
}

func (q *recordingQueue) Enqueue(_ context.Context, b metric.Batch) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.batches = append(q.batches, b)
	return nil
}

func (q *recordingQueue) samples() []metric.Sample {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []metric.Sample
	for _, b := range q.batches {
		out = append(out, b.Samples...)
	}
	return out
}

func (q *recordingQueue) tenants() []int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []int64
	for _, b := range q.batches {
		out = append(out, b.TenantID)
	}
	return out
}

// fakeLimits knows tenant 7 (30 days retention) only.
type fakeLimits struct{}

func (fakeLimits) LimitsFor(_ context.Context, id int64) (metric.Limits, error) {
	if id != tenantID {
		return metric.Limits{}, fmt.Errorf("tenant %d: %w", id, tenant.ErrNotFound)
	}
	return metric.DefaultLimits().WithRetention(30), nil
}

// fakeQuerier records the query and answers a canned page.
type fakeQuerier struct {
	mu    sync.Mutex
	got   []metric.Query
	page  metric.Page
	err   error
	panic bool
}

func (f *fakeQuerier) Run(_ context.Context, q metric.Query) (metric.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.panic {
		panic("querier exploded")
	}
	f.got = append(f.got, q)
	if f.err != nil {
		return metric.Page{}, f.err
	}
	// Validate like the real service would, so ErrInvalid paths are exercised.
	if q.Name == "" {
		return metric.Page{}, fmt.Errorf("%w: name is required", query.ErrInvalid)
	}
	return f.page, nil
}

func (f *fakeQuerier) last() metric.Query {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.got[len(f.got)-1]
}

type env struct {
	h       http.Handler
	queue   *recordingQueue
	querier *fakeQuerier
	reg     *prometheus.Registry
	logs    *testservice.SyncBuffer
}

func newEnv(t testing.TB, mod ...func(*api.Deps)) *env {
	t.Helper()
	e := &env{queue: &recordingQueue{}, querier: &fakeQuerier{}, reg: prometheus.NewRegistry(), logs: &testservice.SyncBuffer{}}
	svc := ingest.NewService(e.queue, fakeLimits{}, func() time.Time { return testNow }, func() string { return "req-1" })
	deps := api.Deps{
		Auth:       fakeAuth{},
		Ingest:     svc,
		Query:      e.querier,
		Logger:     slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer: e.reg,
		Gatherer:   e.reg,
		Now:        func() time.Time { return testNow },
		Limits:     api.Limits{RequestTimeout: 2 * time.Second}, // slowToken waits for it
	}
	for _, m := range mod {
		m(&deps)
	}
	e.h = api.NewRouter(deps)
	return e
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v\n%s", a.status, err, a.body)
	}
	return m
}

// fieldErrors returns the "errors" list of a 422 answer.
func (a answer) fieldErrors(t testing.TB) []metric.FieldError {
	t.Helper()
	var body struct {
		Error  string              `json:"error"`
		Errors []metric.FieldError `json:"errors"`
	}
	if err := json.Unmarshal(a.body, &body); err != nil {
		t.Fatalf("bad error body: %v\n%s", err, a.body)
	}
	return body.Errors
}

func (e *env) do(method, target, tok string, body io.Reader, hdr ...string) answer {
	req := httptest.NewRequest(method, target, body)
	if tok != "" {
		req.Header.Set("X-API-Token", tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return answer{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

func (e *env) post(body string, hdr ...string) answer {
	return e.do(http.MethodPost, "/api/metrics", ingestToken, strings.NewReader(body), hdr...)
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
