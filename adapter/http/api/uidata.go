package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// PrincipalFunc resolves who a request acts as by other means than an API
// token (the dashboard's login session). It answers
// token.ErrUnauthenticated (401) or token.ErrForbidden (403) when it cannot.
type PrincipalFunc func(r *http.Request) (tenancy.Principal, error)

// ReadDeps is what NewReadHandlers needs. Query, Catalogue and Principal
// are required.
type ReadDeps struct {
	Query     Querier
	Catalogue Cataloguer
	Principal PrincipalFunc
	Logger    *slog.Logger
	Now       func() time.Time
}

// ReadHandlers are GET /api/metrics/query and GET /api/metrics/names for
// another door: the same parsing, answers and error mapping, with the
// principal from ReadDeps.Principal instead of X-API-Token. The web UI
// mounts them as /ui/api/metrics/{query,names}.
type ReadHandlers struct {
	Query http.Handler
	Names http.Handler
}

// NewReadHandlers builds the read handlers for a session-authenticated
// door.
func NewReadHandlers(d ReadDeps) ReadHandlers {
	s := &server{query: d.Query, catalogue: d.Catalogue, log: d.Logger, now: d.Now}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	withPrincipal := func(next http.HandlerFunc) http.Handler {
		return s.recoverPanics(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := d.Principal(r)
			if err != nil {
				s.writeError(w, err)
				return
			}
			next(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)))
		}))
	}
	return ReadHandlers{Query: withPrincipal(s.handleQuery), Names: withPrincipal(s.handleNames)}
}
