package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"
	"github.com/gorilla/mux"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// Admin is the tenancy use case as the admin API drives it
// (usecase/tenancy.Service). Every change is audited by the implementation
// with the given actor. Implementations must be safe for concurrent use.
type Admin interface {
	CreateTenant(ctx context.Context, actor audit.Actor, slug, name string, retentionDays int) (tenant.Tenant, error)
	ListTenantsAfter(ctx context.Context, afterID int64, limit int) ([]tenant.Tenant, error)
	UpdateTenant(ctx context.Context, actor audit.Actor, slug string, retentionDays *int, disabled *bool) (tenant.Tenant, error)
	CreateTenantToken(ctx context.Context, actor audit.Actor, tenantID int64, spec token.Spec) (token.Issued, error)
	// ListTokens never returns hashes.
	ListTokens(ctx context.Context, tenantID int64, afterID string, limit int) ([]token.Token, error)
	// RevokeTenantToken answers token.ErrNotFound for another tenant's token.
	RevokeTenantToken(ctx context.Context, actor audit.Actor, tenantID int64, id string) error
}

// Page sizes of the admin lists (?limit=).
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
	// maxAdminBody caps an admin request body.
	maxAdminBody = 64 << 10
)

// registerAdmin adds the platform API (/api/admin/*: platform tokens only)
// and the tenant token API (/api/tokens: a tenant token with scope admin,
// acting on its own tenant only).
func (s *server) registerAdmin(r *mux.Router) {
	platform := func(h http.HandlerFunc) http.Handler { return s.withRemote(s.requireScope(token.ScopePlatform, h)) }
	tenantAdmin := func(h http.HandlerFunc) http.Handler { return s.withRemote(s.requireScope(token.ScopeAdmin, h)) }
	r.Handle("/api/admin/tenants", platform(s.handleListTenants)).Methods(http.MethodGet)
	r.Handle("/api/admin/tenants", platform(s.handleCreateTenant)).Methods(http.MethodPost)
	r.Handle("/api/admin/tenants/{slug}", platform(s.handleUpdateTenant)).Methods(http.MethodPatch)
	r.Handle("/api/tokens", tenantAdmin(s.handleListTokens)).Methods(http.MethodGet)
	r.Handle("/api/tokens", tenantAdmin(s.handleCreateToken)).Methods(http.MethodPost)
	r.Handle("/api/tokens/{id}", tenantAdmin(s.handleRevokeToken)).Methods(http.MethodDelete)
}

// withRemote hands the client address to the use case (audit of refused
// attempts made during authentication).
func (s *server) withRemote(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(tenancy.WithRemoteAddr(r.Context(), s.remoteAddr(r))))
	})
}

// remoteAddr is the connection's peer, or with TrustProxy the last
// X-Forwarded-For entry (the one the trusted proxy appended).
func (s *server) remoteAddr(r *http.Request) string {
	if s.trust {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if last := strings.TrimSpace(parts[len(parts)-1]); last != "" {
				return last
			}
		}
	}
	return r.RemoteAddr
}

func (s *server) actor(r *http.Request) (tenancy.Principal, audit.Actor) {
	p := principalFrom(r.Context())
	return p, audit.Actor{ID: p.TokenID, TenantID: p.TenantID, RemoteAddr: s.remoteAddr(r)}
}

// decodeBody reads a JSON object into v, refusing unknown fields.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdminBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &requestError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("request body exceeds %d bytes", maxAdminBody)}
	}
	if err != nil {
		return &requestError{status: http.StatusBadRequest, msg: "could not read the request body"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &requestError{status: http.StatusUnprocessableEntity, msg: "body must be a JSON object with the documented fields: " + jsonProblem(err)}
	}
	if dec.More() {
		return &requestError{status: http.StatusUnprocessableEntity, msg: "body must hold one JSON object"}
	}
	return nil
}

// jsonProblem describes a decoding error without echoing much input.
func jsonProblem(err error) string {
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}

// pageParams reads ?limit= (default 100, 1..1000) and ?cursor=.
func pageParams(r *http.Request) (limit int, cursor string, err error) {
	q := r.URL.Query()
	limit = DefaultPageSize
	if v := q.Get("limit"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > MaxPageSize {
			return 0, "", &requestError{status: http.StatusUnprocessableEntity, msg: fmt.Sprintf("limit must be an integer between 1 and %d", MaxPageSize)}
		}
		limit = n
	}
	return limit, q.Get("cursor"), nil
}

var errBadCursor = &requestError{status: http.StatusUnprocessableEntity, msg: "cursor is not one this API returned"}

type tenantJSON struct {
	ID            int64     `json:"id"`
	Slug          string    `json:"slug"`
	Name          string    `json:"name"`
	RetentionDays int       `json:"retention_days"`
	Disabled      bool      `json:"disabled"`
	CreatedAt     time.Time `json:"created_at"`
}

func tenantOut(t tenant.Tenant) tenantJSON {
	return tenantJSON{ID: t.ID, Slug: t.Slug, Name: t.Name, RetentionDays: t.RetentionDays, Disabled: t.Disabled, CreatedAt: t.CreatedAt.UTC()}
}

func (s *server) handleListTenants(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := pageParams(r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	var after int64
	if cursor != "" {
		if after, err = strconv.ParseInt(cursor, 10, 64); err != nil || after < 0 {
			s.writeError(w, errBadCursor)
			return
		}
	}
	ts, err := s.admin.ListTenantsAfter(r.Context(), after, limit+1)
	if err != nil {
		s.writeError(w, err)
		return
	}
	out := struct {
		Tenants    []tenantJSON `json:"tenants"`
		NextCursor string       `json:"next_cursor"`
	}{Tenants: []tenantJSON{}}
	if len(ts) > limit {
		ts = ts[:limit]
		out.NextCursor = strconv.FormatInt(ts[limit-1].ID, 10)
	}
	for _, t := range ts {
		out.Tenants = append(out.Tenants, tenantOut(t))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) handleCreateTenant(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Slug          string `json:"slug"`
		Name          string `json:"name"`
		RetentionDays int    `json:"retention_days"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		s.writeError(w, err)
		return
	}
	_, actor := s.actor(r)
	t, err := s.admin.CreateTenant(r.Context(), actor, in.Slug, in.Name, in.RetentionDays)
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, tenantOut(t))
}

func (s *server) handleUpdateTenant(w http.ResponseWriter, r *http.Request) {
	var in struct {
		RetentionDays *int  `json:"retention_days"`
		Disabled      *bool `json:"disabled"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		s.writeError(w, err)
		return
	}
	_, actor := s.actor(r)
	t, err := s.admin.UpdateTenant(r.Context(), actor, mux.Vars(r)["slug"], in.RetentionDays, in.Disabled)
	if err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, tenantOut(t))
}

type tokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Scopes     []string   `json:"scopes"`
	RateLimit  int64      `json:"rate_limit"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func scopeStrings(sc []token.Scope) []string {
	out := make([]string, len(sc))
	for i, v := range sc {
		out[i] = string(v)
	}
	return out
}

func (s *server) handleListTokens(w http.ResponseWriter, r *http.Request) {
	limit, cursor, err := pageParams(r)
	if err != nil {
		s.writeError(w, err)
		return
	}
	if cursor != "" && !token.ValidID(cursor) {
		s.writeError(w, errBadCursor)
		return
	}
	p := principalFrom(r.Context())
	ts, err := s.admin.ListTokens(r.Context(), p.TenantID, cursor, limit+1)
	if err != nil {
		s.writeError(w, err)
		return
	}
	out := struct {
		Tokens     []tokenJSON `json:"tokens"`
		NextCursor string      `json:"next_cursor"`
	}{Tokens: []tokenJSON{}}
	if len(ts) > limit {
		ts = ts[:limit]
		out.NextCursor = ts[limit-1].ID
	}
	for _, t := range ts {
		out.Tokens = append(out.Tokens, tokenJSON{ID: t.ID, Name: t.Name, Scopes: scopeStrings(t.Scopes), RateLimit: t.RateLimit,
			CreatedAt: t.CreatedAt.UTC(), LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name      string   `json:"name"`
		Scopes    []string `json:"scopes"`
		RateLimit int64    `json:"rate_limit"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		s.writeError(w, err)
		return
	}
	spec := token.Spec{Name: in.Name, RateLimit: in.RateLimit, Scopes: []token.Scope{token.ScopeIngest, token.ScopeRead}}
	if in.Scopes != nil { // absent: the CLI's default
		spec.Scopes = make([]token.Scope, len(in.Scopes))
		for i, sc := range in.Scopes {
			spec.Scopes[i] = token.Scope(sc)
		}
	}
	p, actor := s.actor(r)
	iss, err := s.admin.CreateTenantToken(r.Context(), actor, p.TenantID, spec)
	if err != nil {
		s.writeError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, struct {
		ID        string   `json:"id"`
		Token     string   `json:"token"`
		Name      string   `json:"name"`
		Scopes    []string `json:"scopes"`
		RateLimit int64    `json:"rate_limit"`
	}{iss.Token.ID, iss.Plain, iss.Token.Name, scopeStrings(iss.Token.Scopes), iss.Token.RateLimit})
}

func (s *server) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	p, actor := s.actor(r)
	if err := s.admin.RevokeTenantToken(r.Context(), actor, p.TenantID, mux.Vars(r)["id"]); err != nil {
		s.writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
