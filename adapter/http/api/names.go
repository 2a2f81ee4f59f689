package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/pulsemetrics/pulse/usecase/catalogue"
)

// Cataloguer lists a tenant's metric names with their tag keys and a few
// values per key (usecase/catalogue.Service). Implementations must be safe
// for concurrent use.
type Cataloguer interface {
	Names(ctx context.Context, tenantID int64, prefix string, limit int) (catalogue.Page, error)
}

type namesAnswer struct {
	Names []nameWire `json:"names"`
	More  bool       `json:"more"`
}

type nameWire struct {
	Name string       `json:"name"`
	Tags []tagKeyWire `json:"tags"`
}

type tagKeyWire struct {
	Key        string   `json:"key"`
	Values     []string `json:"values"`
	MoreValues bool     `json:"more_values"`
}

// handleNames serves GET /api/metrics/names?prefix=&limit= for the token's
// tenant.
func (s *server) handleNames(w http.ResponseWriter, r *http.Request) {
	if s.catalogue == nil {
		s.writeError(w, &requestError{status: http.StatusNotImplemented, msg: "metric names are not available on this server"})
		return
	}
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		s.writeError(w, invalidNames("the query string is not valid URL encoding"))
		return
	}
	limit := 0
	if raw := v.Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > catalogue.MaxLimit {
			s.writeError(w, invalidNames("limit must be an integer between 1 and %d", catalogue.MaxLimit))
			return
		}
		limit = n
	}
	page, err := s.catalogue.Names(r.Context(), principalFrom(r.Context()).TenantID, v.Get("prefix"), limit)
	if err != nil {
		s.writeError(w, err)
		return
	}
	ans := namesAnswer{Names: make([]nameWire, len(page.Names)), More: page.More}
	for i, n := range page.Names {
		nw := nameWire{Name: n.Name, Tags: make([]tagKeyWire, len(n.Tags))}
		for j, t := range n.Tags {
			values := t.Values
			if values == nil {
				values = []string{}
			}
			nw.Tags[j] = tagKeyWire{Key: t.Key, Values: values, MoreValues: t.MoreValues}
		}
		ans.Names[i] = nw
	}
	writeJSON(w, http.StatusOK, ans)
}

func invalidNames(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{catalogue.ErrInvalid}, args...)...)
}
