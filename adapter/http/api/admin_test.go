package api_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsemetrics/pulse/adapter/http/api"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/usecase/ingest"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// memStore is an in-memory implementation of the tenancy ports.
type memStore struct {
	mu      sync.Mutex
	tenants []tenant.Tenant
	tokens  map[string]token.Token
	audit   []audit.Entry
}

func (m *memStore) CreateTenant(_ context.Context, t tenant.Tenant) (tenant.Tenant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, have := range m.tenants {
		if have.Slug == t.Slug {
			return tenant.Tenant{}, tenant.ErrDuplicate
		}
	}
	t.ID = int64(len(m.tenants) + 1)
	m.tenants = append(m.tenants, t)
	return t, nil
}

func (m *memStore) find(match func(tenant.Tenant) bool) (tenant.Tenant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.tenants {
		if match(t) {
			return t, nil
		}
	}
	return tenant.Tenant{}, tenant.ErrNotFound
}

func (m *memStore) TenantBySlug(_ context.Context, slug string) (tenant.Tenant, error) {
	return m.find(func(t tenant.Tenant) bool { return t.Slug == slug })
}

func (m *memStore) TenantByID(_ context.Context, id int64) (tenant.Tenant, error) {
	return m.find(func(t tenant.Tenant) bool { return t.ID == id })
}

func (m *memStore) ListTenants(ctx context.Context) ([]tenant.Tenant, error) {
	return m.ListTenantsAfter(ctx, 0, 1<<30)
}

func (m *memStore) ListTenantsAfter(_ context.Context, after int64, limit int) ([]tenant.Tenant, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []tenant.Tenant
	for _, t := range m.tenants {
		if t.ID > after && len(out) < limit {
			out = append(out, t)
		}
	}
	return out, nil
}

func (m *memStore) UpdateTenant(_ context.Context, t tenant.Tenant) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.tenants {
		if m.tenants[i].ID == t.ID {
			m.tenants[i].RetentionDays, m.tenants[i].Disabled = t.RetentionDays, t.Disabled
			return nil
		}
	}
	return tenant.ErrNotFound
}

func (m *memStore) CreateToken(_ context.Context, t token.Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens[t.ID] = t
	return nil
}

func (m *memStore) TokenByID(_ context.Context, id string) (token.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[id]
	if !ok {
		return token.Token{}, token.ErrNotFound
	}
	return t, nil
}

func (m *memStore) RevokeToken(ctx context.Context, id string, at time.Time) error {
	t, err := m.TokenByID(ctx, id)
	if err != nil {
		return err
	}
	return m.RevokeTenantToken(ctx, t.TenantID, id, at)
}

func (m *memStore) RevokeTenantToken(_ context.Context, tenantID int64, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[id]
	if !ok || t.TenantID != tenantID {
		return token.ErrNotFound
	}
	if t.RevokedAt == nil {
		t.RevokedAt = &at
	}
	m.tokens[id] = t
	return nil
}

func (m *memStore) TouchToken(context.Context, string, time.Time) error { return nil }

func (m *memStore) ListTokens(_ context.Context, tenantID int64, after string, limit int) ([]token.Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []token.Token
	for _, t := range m.tokens {
		if t.TenantID == tenantID && t.ID > after {
			out = append(out, t) // with its hash: the use case must drop it
		}
	}
	slices.SortFunc(out, func(a, b token.Token) int { return strings.Compare(a.ID, b.ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (m *memStore) Record(_ context.Context, e audit.Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.audit = append(m.audit, e)
	return nil
}

func (m *memStore) entries(action audit.Action) []audit.Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []audit.Entry
	for _, e := range m.audit {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// adminEnv is a router over the real tenancy and ingest use cases on a
// memStore, with tenants acme and other, and one token per role.
type adminEnv struct {
	*env
	store                                       *memStore
	svc                                         *tenancy.Service
	platform, acmeAdmin, acmeIngest, otherAdmin token.Issued
	acme, other                                 tenant.Tenant
}

func newAdminEnv(t *testing.T, mod ...func(*api.Deps)) *adminEnv {
	t.Helper()
	a := &adminEnv{store: &memStore{tokens: map[string]token.Token{}}}
	a.svc = tenancy.NewService(a.store, a.store, a.store, rand.Reader, func() time.Time { return testNow }, metric.DefaultLimits()).
		WithDefaultQuota(600000)
	ctx := context.Background()
	cli := audit.CLI()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	a.acme, err = a.svc.CreateTenant(ctx, cli, "acme", "", 0)
	must(err)
	a.other, err = a.svc.CreateTenant(ctx, cli, "other", "", 0)
	must(err)
	a.platform, err = a.svc.CreatePlatformToken(ctx, cli, "ops")
	must(err)
	a.acmeAdmin, err = a.svc.CreateToken(ctx, cli, "acme", token.Spec{Name: "admin", Scopes: []token.Scope{token.ScopeAdmin}})
	must(err)
	a.acmeIngest, err = a.svc.CreateToken(ctx, cli, "acme", token.Spec{Name: "agent", Scopes: []token.Scope{token.ScopeIngest, token.ScopeRead}, RateLimit: 600})
	must(err)
	a.otherAdmin, err = a.svc.CreateToken(ctx, cli, "other", token.Spec{Name: "admin", Scopes: []token.Scope{token.ScopeAdmin}})
	must(err)

	e := &env{queue: &recordingQueue{}, querier: &fakeQuerier{}, reg: prometheus.NewRegistry(), logs: &testservice.SyncBuffer{}}
	deps := api.Deps{
		Auth: a.svc, Admin: a.svc,
		Ingest:     ingest.NewService(e.queue, a.svc, func() time.Time { return testNow }, func() string { return "req-1" }),
		Query:      e.querier,
		Logger:     slog.New(slog.NewTextHandler(e.logs, nil)),
		Registerer: e.reg, Gatherer: e.reg,
		Now: func() time.Time { return testNow },
	}
	for _, m := range mod {
		m(&deps)
	}
	e.h = api.NewRouter(deps)
	a.env = e
	return a
}

func (a *adminEnv) call(t *testing.T, method, target string, tok token.Issued, body string, hdr ...string) answer {
	t.Helper()
	return a.do(method, target, tok.Plain, strings.NewReader(body), hdr...)
}

const oneSample = `{"name":"cpu","value":1,"ts":"2026-11-25T09:59:00Z"}`

func TestAdminRoutesAccess(t *testing.T) {
	a := newAdminEnv(t)
	none := token.Issued{}
	tests := []struct {
		name, method, target string
		tok                  token.Issued
		body                 string
		want                 int
	}{
		{"no token on the platform API", http.MethodGet, "/api/admin/tenants", none, "", http.StatusUnauthorized},
		{"platform token lists tenants", http.MethodGet, "/api/admin/tenants", a.platform, "", http.StatusOK},
		{"tenant admin token on the platform API", http.MethodGet, "/api/admin/tenants", a.acmeAdmin, "", http.StatusForbidden},
		{"tenant admin token creates a tenant", http.MethodPost, "/api/admin/tenants", a.acmeAdmin, `{"slug":"evil"}`, http.StatusForbidden},
		{"ingest token on the platform API", http.MethodPatch, "/api/admin/tenants/acme", a.acmeIngest, `{"disabled":true}`, http.StatusForbidden},
		{"platform token cannot ingest", http.MethodPost, "/api/metrics", a.platform, oneSample, http.StatusForbidden},
		{"platform token cannot query", http.MethodGet, "/api/metrics/query?name=cpu", a.platform, "", http.StatusForbidden},
		{"platform token on /api/tokens", http.MethodGet, "/api/tokens", a.platform, "", http.StatusForbidden},
		{"ingest token on /api/tokens", http.MethodGet, "/api/tokens", a.acmeIngest, "", http.StatusForbidden},
		{"ingest token creates a token", http.MethodPost, "/api/tokens", a.acmeIngest, `{"scopes":["admin"]}`, http.StatusForbidden},
		{"no token on /api/tokens", http.MethodGet, "/api/tokens", none, "", http.StatusUnauthorized},
		{"tenant admin lists its tokens", http.MethodGet, "/api/tokens", a.acmeAdmin, "", http.StatusOK},
		{"ingest token ingests", http.MethodPost, "/api/metrics", a.acmeIngest, oneSample, http.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := a.call(t, tt.method, tt.target, tt.tok, tt.body)
			if got.status != tt.want {
				t.Fatalf("%s %s = %d, want %d: %s", tt.method, tt.target, got.status, tt.want, got.body)
			}
		})
	}
	if n := len(a.store.entries(audit.CrossTenantDenied)); n != 3 {
		t.Errorf("%d cross-tenant denials audited, want 3 (tenant tokens on /api/admin/*)", n)
	}
}

func TestAdminTenantsCRUD(t *testing.T) {
	a := newAdminEnv(t)
	got := a.call(t, http.MethodPost, "/api/admin/tenants", a.platform, `{"slug":"new-co","name":"New Co","retention_days":7}`, "X-Forwarded-For", "198.51.100.9")
	if got.status != http.StatusCreated {
		t.Fatalf("create = %d %s", got.status, got.body)
	}
	m := got.json(t)
	if m["slug"] != "new-co" || m["name"] != "New Co" || m["retention_days"] != 7.0 || m["disabled"] != false || m["id"] != 3.0 {
		t.Errorf("created = %v", m)
	}
	created := a.store.entries(audit.TenantCreate)
	last := created[len(created)-1]
	if last.Actor != a.platform.Token.ID || last.TenantID != 3 || last.RemoteAddr != "192.0.2.1:1234" {
		t.Errorf("audit = %+v (X-Forwarded-For must be ignored without TrustProxy)", last)
	}
	for _, bad := range []struct {
		body string
		want int
	}{
		{`{"slug":"new-co"}`, http.StatusConflict},
		{`{"slug":"Bad Slug"}`, http.StatusUnprocessableEntity},
		{`{"slug":"ok-co","retention_days":99999}`, http.StatusUnprocessableEntity},
		{`{"slug":"ok-co","extra":1}`, http.StatusUnprocessableEntity},
		{`not json`, http.StatusUnprocessableEntity},
		{`{"slug":"a1"}{"slug":"b2"}`, http.StatusUnprocessableEntity},
	} {
		if got := a.call(t, http.MethodPost, "/api/admin/tenants", a.platform, bad.body); got.status != bad.want || got.json(t)["error"] == "" {
			t.Errorf("create %s = %d %s, want %d", bad.body, got.status, got.body, bad.want)
		}
	}

	// Pagination: 3 tenants, pages of 2.
	page1 := a.call(t, http.MethodGet, "/api/admin/tenants?limit=2", a.platform, "")
	var p1 struct {
		Tenants    []map[string]any `json:"tenants"`
		NextCursor string           `json:"next_cursor"`
	}
	if err := json.Unmarshal(page1.body, &p1); err != nil || len(p1.Tenants) != 2 || p1.NextCursor != "2" {
		t.Fatalf("page 1 = %s", page1.body)
	}
	page2 := a.call(t, http.MethodGet, "/api/admin/tenants?limit=2&cursor="+p1.NextCursor, a.platform, "")
	if err := json.Unmarshal(page2.body, &p1); err != nil || len(p1.Tenants) != 1 || p1.NextCursor != "" || p1.Tenants[0]["slug"] != "new-co" {
		t.Fatalf("page 2 = %s", page2.body)
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "cursor=abc", "cursor=-1"} {
		if got := a.call(t, http.MethodGet, "/api/admin/tenants?"+q, a.platform, ""); got.status != http.StatusUnprocessableEntity {
			t.Errorf("?%s = %d, want 422", q, got.status)
		}
	}

	// Update.
	upd := a.call(t, http.MethodPatch, "/api/admin/tenants/new-co", a.platform, `{"retention_days":14,"disabled":true}`)
	if m := upd.json(t); upd.status != http.StatusOK || m["retention_days"] != 14.0 || m["disabled"] != true {
		t.Fatalf("update = %d %s", upd.status, upd.body)
	}
	for _, bad := range []struct {
		target, body string
		want         int
	}{
		{"/api/admin/tenants/nope", `{"disabled":true}`, http.StatusNotFound},
		{"/api/admin/tenants/new-co", `{}`, http.StatusUnprocessableEntity},
		{"/api/admin/tenants/new-co", `{"retention_days":0}`, http.StatusUnprocessableEntity},
		{"/api/admin/tenants/new-co", `{"disabled":"yes"}`, http.StatusUnprocessableEntity},
	} {
		if got := a.call(t, http.MethodPatch, bad.target, a.platform, bad.body); got.status != bad.want {
			t.Errorf("PATCH %s %s = %d %s, want %d", bad.target, bad.body, got.status, got.body, bad.want)
		}
	}
	if n := len(a.store.entries(audit.TenantUpdate)); n != 1 {
		t.Errorf("%d tenant updates audited, want 1", n)
	}
}

func TestDisabledTenantIsRefusedEverywhere(t *testing.T) {
	a := newAdminEnv(t)
	if got := a.call(t, http.MethodPatch, "/api/admin/tenants/acme", a.platform, `{"disabled":true}`); got.status != http.StatusOK {
		t.Fatalf("disable = %d %s", got.status, got.body)
	}
	for _, c := range []struct {
		method, target string
		tok            token.Issued
		body           string
	}{
		{http.MethodPost, "/api/metrics", a.acmeIngest, oneSample},
		{http.MethodGet, "/api/metrics/query?name=cpu", a.acmeIngest, ""},
		{http.MethodGet, "/api/tokens", a.acmeAdmin, ""},
		{http.MethodGet, "/api/admin/tenants", a.acmeAdmin, ""},
	} {
		got := a.call(t, c.method, c.target, c.tok, c.body)
		if got.status != http.StatusForbidden || got.json(t)["error"] != "tenant is disabled" {
			t.Errorf("%s %s = %d %s, want 403 tenant is disabled", c.method, c.target, got.status, got.body)
		}
	}
	if len(a.queue.samples()) != 0 {
		t.Error("a disabled tenant's samples were enqueued")
	}
	// The other tenant is unaffected; enabling restores access at once.
	if got := a.call(t, http.MethodGet, "/api/tokens", a.otherAdmin, ""); got.status != http.StatusOK {
		t.Errorf("other tenant = %d", got.status)
	}
	a.call(t, http.MethodPatch, "/api/admin/tenants/acme", a.platform, `{"disabled":false}`)
	if got := a.call(t, http.MethodPost, "/api/metrics", a.acmeIngest, oneSample); got.status != http.StatusAccepted {
		t.Errorf("after enable: %d %s", got.status, got.body)
	}
}

func TestTenantTokens(t *testing.T) {
	a := newAdminEnv(t)
	created := a.call(t, http.MethodPost, "/api/tokens", a.acmeAdmin, `{"name":"ci","scopes":["ingest"],"rate_limit":1200}`)
	if created.status != http.StatusCreated || created.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("create = %d %s", created.status, created.body)
	}
	var c struct {
		ID, Token, Name string
		Scopes          []string
		RateLimit       int64 `json:"rate_limit"`
	}
	if err := json.Unmarshal(created.body, &c); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.Token, "pulse_"+c.ID+"_") || c.Name != "ci" || !slices.Equal(c.Scopes, []string{"ingest"}) || c.RateLimit != 1200 {
		t.Errorf("created = %+v", c)
	}
	if stored, _ := a.store.TokenByID(context.Background(), c.ID); stored.TenantID != a.acme.ID || stored.RateLimit != 1200 {
		t.Errorf("stored = %+v", stored)
	}
	// The new token works for what it was given.
	if got := a.do(http.MethodPost, "/api/metrics", c.Token, strings.NewReader(oneSample)); got.status != http.StatusAccepted {
		t.Errorf("new token ingest = %d %s", got.status, got.body)
	}
	// A tenant admin may lower a token's quota, not lift it above the
	// platform's (600,000 here), and absurd values are refused.
	for _, bad := range []string{`{"scopes":[]}`, `{"scopes":["root"]}`, `{"scopes":["platform"]}`, `{"rate_limit":-5}`, `{"name":"` + strings.Repeat("n", 201) + `"}`, `{"tenant_id":2}`,
		`{"scopes":["ingest"],"rate_limit":600001}`, `{"scopes":["ingest"],"rate_limit":9223372036854775807}`, `{"scopes":["ingest"],"rate_limit":1e30}`} {
		if got := a.call(t, http.MethodPost, "/api/tokens", a.acmeAdmin, bad); got.status != http.StatusUnprocessableEntity {
			t.Errorf("create %s = %d %s, want 422", bad, got.status, got.body)
		}
	}

	// acme's list: its 3 tokens, never another tenant's, never a secret or hash.
	list := a.call(t, http.MethodGet, "/api/tokens?limit=2", a.acmeAdmin, "")
	var l struct {
		Tokens     []map[string]any `json:"tokens"`
		NextCursor string           `json:"next_cursor"`
	}
	if err := json.Unmarshal(list.body, &l); err != nil || list.status != http.StatusOK || len(l.Tokens) != 2 || l.NextCursor == "" {
		t.Fatalf("list = %d %s", list.status, list.body)
	}
	ids := []string{l.Tokens[0]["id"].(string), l.Tokens[1]["id"].(string)}
	list2 := a.call(t, http.MethodGet, "/api/tokens?limit=2&cursor="+l.NextCursor, a.acmeAdmin, "")
	if err := json.Unmarshal(list2.body, &l); err != nil || len(l.Tokens) != 1 || l.NextCursor != "" {
		t.Fatalf("list page 2 = %s", list2.body)
	}
	ids = append(ids, l.Tokens[0]["id"].(string))
	want := []string{a.acmeAdmin.Token.ID, a.acmeIngest.Token.ID, c.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("listed %v, want %v", ids, want)
	}
	for _, body := range [][]byte{list.body, list2.body} {
		for _, secret := range []string{a.acmeAdmin.Plain, a.acmeIngest.Plain, c.Token, a.acmeAdmin.Plain[17:49]} {
			if strings.Contains(string(body), secret) {
				t.Errorf("list holds a secret: %s", body)
			}
		}
		if strings.Contains(string(body), "hash") || strings.Contains(string(body), a.otherAdmin.Token.ID) {
			t.Errorf("list holds a hash or another tenant's token: %s", body)
		}
	}
	if got := a.call(t, http.MethodGet, "/api/tokens?cursor=DROP%20TABLE", a.acmeAdmin, ""); got.status != http.StatusUnprocessableEntity {
		t.Errorf("bad cursor = %d", got.status)
	}

	// Revoke its own token: 204, then refused.
	if got := a.call(t, http.MethodDelete, "/api/tokens/pulse_"+c.ID, a.acmeAdmin, ""); got.status != http.StatusNoContent || len(got.body) != 0 {
		t.Fatalf("revoke = %d %s", got.status, got.body)
	}
	if got := a.do(http.MethodPost, "/api/metrics", c.Token, strings.NewReader(oneSample)); got.status != http.StatusUnauthorized {
		t.Errorf("revoked token ingest = %d", got.status)
	}
	if n := len(a.store.entries(audit.TokenRevoke)); n != 1 {
		t.Errorf("%d revocations audited", n)
	}
}

func TestTenantAdminCannotReachAnotherTenantsTokens(t *testing.T) {
	a := newAdminEnv(t, func(d *api.Deps) { d.TrustProxy = true })
	theirs := a.otherAdmin.Token.ID
	unknown := a.call(t, http.MethodDelete, "/api/tokens/zzzzzzzzzz", a.acmeAdmin, "")
	got := a.call(t, http.MethodDelete, "/api/tokens/"+theirs, a.acmeAdmin, "", "X-Forwarded-For", "10.9.9.9, 203.0.113.50")
	if got.status != http.StatusNotFound || unknown.status != http.StatusNotFound || string(got.body) != string(unknown.body) {
		t.Fatalf("another tenant's token = %d %s; unknown = %d %s; want the same 404", got.status, got.body, unknown.status, unknown.body)
	}
	if tk, _ := a.store.TokenByID(context.Background(), theirs); tk.RevokedAt != nil {
		t.Fatal("another tenant's token was revoked")
	}
	if got := a.call(t, http.MethodGet, "/api/tokens", a.otherAdmin, ""); got.status != http.StatusOK {
		t.Errorf("victim's token no longer works: %d", got.status)
	}
	denied := a.store.entries(audit.CrossTenantDenied)
	if len(denied) != 1 {
		t.Fatalf("cross-tenant audit = %+v, want one entry", denied)
	}
	want := audit.Entry{At: testNow, Actor: a.acmeAdmin.Token.ID, TenantID: a.acme.ID, Action: audit.CrossTenantDenied,
		Target: "token:" + theirs, RemoteAddr: "203.0.113.50", Detail: denied[0].Detail}
	if denied[0] != want {
		t.Errorf("audit = %+v\nwant %+v", denied[0], want)
	}
	// The list is bound to the caller's tenant: no parameter selects another.
	list := a.call(t, http.MethodGet, fmt.Sprintf("/api/tokens?tenant=%d&tenant_id=%d", a.other.ID, a.other.ID), a.acmeAdmin, "")
	if list.status != http.StatusOK || strings.Contains(string(list.body), theirs) {
		t.Errorf("list = %d %s", list.status, list.body)
	}
}

func TestAdminRoutesAbsentWithoutAdmin(t *testing.T) {
	e := newEnv(t)
	if got := e.do(http.MethodGet, "/api/tokens", readToken, nil); got.status != http.StatusNotFound {
		t.Errorf("without Deps.Admin: %d", got.status)
	}
}
