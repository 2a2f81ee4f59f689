package inertia

import (
	"net/http"
	"net/url"
)

// Redirect answers with 303 See Other to target. Inertia requires 303
// after PUT, PATCH and DELETE (a 302 would repeat the method); for GET and
// POST it is what browsers do with 302 anyway, so 303 is used throughout.
func (i *Renderer) Redirect(w http.ResponseWriter, r *http.Request, target string) {
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// Back redirects (303) to the page the request came from when the Referer
// is a path of this same site, else to fallback.
func (i *Renderer) Back(w http.ResponseWriter, r *http.Request, fallback string) {
	i.Redirect(w, r, sameSitePath(r, fallback))
}

// Location sends the browser to target with a full page load: 409 +
// X-Inertia-Location for an Inertia request, else a 303 redirect.
func (i *Renderer) Location(w http.ResponseWriter, r *http.Request, target string) {
	if IsInertia(r) {
		w.Header().Set(HeaderLocation, target)
		w.WriteHeader(http.StatusConflict)
		return
	}
	i.Redirect(w, r, target)
}

// sameSitePath returns the Referer's path and query if it points at the
// request's own host, else fallback (never an open redirect).
func sameSitePath(r *http.Request, fallback string) string {
	ref := r.Referer()
	if ref == "" {
		return fallback
	}
	u, err := url.Parse(ref)
	if err != nil || u.Host != r.Host || u.Path == "" || u.Path[0] != '/' || (len(u.Path) > 1 && u.Path[1] == '/') {
		return fallback
	}
	if u.RawQuery != "" {
		return u.Path + "?" + u.RawQuery
	}
	return u.Path
}
