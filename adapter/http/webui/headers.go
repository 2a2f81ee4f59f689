package webui

import (
	"net/http"
	"net/url"
)

// securityHeaders sets the headers of every web UI answer: a CSP allowing
// only this origin (plus the Vite dev server and its HMR socket in dev
// mode), no framing, no MIME sniffing, no referrer across origins.
func securityHeaders(devURL string, next http.Handler) http.Handler {
	csp := contentSecurityPolicy(devURL)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

func contentSecurityPolicy(devURL string) string {
	script, connect, style := "'self'", "'self'", "'self' 'unsafe-inline'"
	if u, err := url.Parse(devURL); devURL != "" && err == nil && u.Host != "" {
		origin := u.Scheme + "://" + u.Host
		ws := "ws://" + u.Host
		if u.Scheme == "https" {
			ws = "wss://" + u.Host
		}
		script += " " + origin
		connect += " " + origin + " " + ws
		style += " " + origin
	}
	return "default-src 'self'; script-src " + script + "; style-src " + style + "; connect-src " + connect +
		"; img-src 'self' data:; font-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
}
