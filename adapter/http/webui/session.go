package webui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/pulsemetrics/pulse/adapter/http/inertia"
	"github.com/pulsemetrics/pulse/domain/account"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/accounts"
	"github.com/pulsemetrics/pulse/usecase/dashboards"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// Cookie names (docs/dashboard.md).
const (
	sessionCookie    = "pulse_session"
	preSessionCookie = "pulse_presession"
	xsrfCookie       = "XSRF-TOKEN"
	xsrfHeader       = "X-XSRF-TOKEN"
	flashCookie      = "pulse_flash"
)

type ctxKey int

const visitKey ctxKey = iota

// visit is what the session middleware learned about a request.
type visit struct {
	sessionID string // the valid session's id ("" when logged out)
	current   accounts.Current
	recheck   func(ctx context.Context) error // the session looked up again
}

func visitFrom(ctx context.Context) *visit {
	v, _ := ctx.Value(visitKey).(*visit)
	if v == nil {
		return &visit{}
	}
	return v
}

func (v *visit) loggedIn() bool { return v.sessionID != "" }

func (v *visit) actor() dashboards.Actor {
	a := dashboards.Actor{Role: v.current.User.Role}
	if v.current.Tenant != nil {
		a.TenantID = v.current.Tenant.ID
	}
	return a
}

// withSession resolves the session cookie. An ended or unknown session is
// a logged-out visit (its cookie is cleared); a storage failure is 500.
func (u *ui) withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := &visit{}
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			cur, err := u.accounts.Session(r.Context(), c.Value)
			switch {
			case err == nil:
				v.sessionID, v.current = c.Value, cur
				v.recheck = func(ctx context.Context) error {
					_, err := u.accounts.Session(ctx, c.Value)
					return err
				}
			case errors.Is(err, account.ErrNoSession), errors.Is(err, tenant.ErrDisabled):
				clearCookie(w, r, sessionCookie, true)
			default:
				u.internal(w, r, fmt.Errorf("resolve session: %w", err))
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), visitKey, v)))
	})
}

// authed sends a logged-out visitor to the login page.
func (u *ui) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !visitFrom(r.Context()).loggedIn() {
			if r.Method == http.MethodGet {
				u.inertia.Redirect(w, r, "/login")
				return
			}
			writeJSONError(w, http.StatusUnauthorized, account.ErrNoSession.Error())
			return
		}
		h(w, r)
	}
}

// tenantPage is authed for pages of tenant data: a user bound to no tenant
// (a super-admin) gets 403.
func (u *ui) tenantPage(h http.HandlerFunc) http.HandlerFunc {
	return u.authed(func(w http.ResponseWriter, r *http.Request) {
		if visitFrom(r.Context()).current.Tenant == nil {
			writeJSONError(w, http.StatusForbidden, "this page shows a tenant's data: your user belongs to no tenant")
			return
		}
		h(w, r)
	})
}

// dataRoute guards the data routes (charts, alerts): 401 JSON when logged
// out, 501 when the server has no handler for them.
func (u *ui) dataRoute(h http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !visitFrom(r.Context()).loggedIn() {
			writeJSONError(w, http.StatusUnauthorized, account.ErrNoSession.Error())
			return
		}
		if h == nil {
			writeJSONError(w, http.StatusNotImplemented, "this data is not available on this server")
			return
		}
		h.ServeHTTP(w, r)
	}
}

// RecheckFrom tells, for a request that passed through the session
// middleware, whether its session still holds (the live stream asks every
// few seconds): account.ErrNoSession or a disabled tenant is
// token.ErrUnauthenticated, so a logout ends the stream.
func RecheckFrom(r *http.Request) func(ctx context.Context) error {
	v := visitFrom(r.Context())
	return func(ctx context.Context) error {
		if v.recheck == nil {
			return token.ErrUnauthenticated
		}
		err := v.recheck(ctx)
		if errors.Is(err, account.ErrNoSession) || errors.Is(err, tenant.ErrDisabled) {
			return fmt.Errorf("%w: %w", token.ErrUnauthenticated, err)
		}
		return err
	}
}

// PrincipalFrom is the principal of a request that passed through the web
// UI's session middleware, for the data handlers: the session user's
// tenant, with the scopes of the user's role (a viewer reads: read; an
// admin also changes: read and admin), so a handler that checks
// token.ScopeAdmin for a change refuses a viewer as it refuses a read-only
// token. Logged out is token.ErrUnauthenticated (401); a user bound to no
// tenant is token.ErrForbidden (403).
func PrincipalFrom(r *http.Request) (tenancy.Principal, error) {
	v := visitFrom(r.Context())
	if !v.loggedIn() {
		return tenancy.Principal{}, token.ErrUnauthenticated
	}
	if v.current.Tenant == nil {
		return tenancy.Principal{}, token.ErrForbidden
	}
	return tenancy.Principal{
		TokenID:    fmt.Sprintf("user:%d", v.current.User.ID),
		TenantID:   v.current.Tenant.ID,
		TenantSlug: v.current.Tenant.Slug,
		Scopes:     roleScopes(v.current.User.Role),
	}, nil
}

// roleScopes are the token scopes a session user's role stands for.
func roleScopes(role account.Role) []token.Scope {
	if role == account.RoleAdmin {
		return []token.Scope{token.ScopeRead, token.ScopeAdmin}
	}
	return []token.Scope{token.ScopeRead}
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, id string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil, MaxAge: int(account.AbsoluteTimeout.Seconds())})
}

func clearCookie(w http.ResponseWriter, r *http.Request, name string, httpOnly bool) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: httpOnly,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
}

// clientAddr is the caller's address: the connection's peer, or with
// TrustProxy the last X-Forwarded-For entry (added by the trusted proxy).
func (u *ui) clientAddr(r *http.Request) string {
	if u.trust {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			if last := strings.TrimSpace(parts[len(parts)-1]); last != "" {
				return last
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// sharedProps are the props of every page (docs/dashboard.md SharedProps);
// flash and errors are added by the Inertia renderer.
func (u *ui) sharedProps(r *http.Request) (inertia.Props, error) {
	v := visitFrom(r.Context())
	if !v.loggedIn() {
		return inertia.Props{"auth": map[string]any{"user": nil}, "alerts_firing": 0, "can_see_health": false}, nil
	}
	usr := v.current.User
	var ten any
	if t := v.current.Tenant; t != nil {
		ten = map[string]any{"slug": t.Slug, "name": t.Name}
	}
	return inertia.Props{"auth": map[string]any{"user": map[string]any{
		"id": usr.ID, "email": usr.Email, "role": string(usr.Role), "super_admin": usr.SuperAdmin, "tenant": ten,
	}}, "alerts_firing": u.firingCount(r, v), "can_see_health": healthScopeOf(v).ok}, nil
}
