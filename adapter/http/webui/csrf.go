package webui

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
)

// CSRF is a double submit bound to the session: the XSRF-TOKEN cookie
// (readable by the page's script; axios sends it back as X-XSRF-TOKEN)
// holds a SHA-256 of the session id, which only this browser's HttpOnly
// session cookie can reproduce. Before login the same binding uses a
// random pre-session id in the HttpOnly pulse_presession cookie. A
// state-changing request without the matching header is 419.

// StatusPageExpired is the status of a missing or wrong CSRF token (what
// Inertia shows as "page expired").
const StatusPageExpired = 419

func csrfToken(bindingID string) string {
	sum := sha256.Sum256([]byte("pulse-xsrf\x00" + bindingID))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// binding returns the id the request's CSRF token is bound to: the
// session's, else the pre-session's ("" when neither exists).
func binding(r *http.Request) string {
	if v := visitFrom(r.Context()); v.loggedIn() {
		return v.sessionID
	}
	if c, err := r.Cookie(preSessionCookie); err == nil {
		return c.Value
	}
	return ""
}

func (u *ui) checkCSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			u.ensureCSRFCookie(w, r)
			next.ServeHTTP(w, r)
			return
		}
		id := binding(r)
		sent := r.Header.Get(xsrfHeader)
		if id == "" || sent == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(csrfToken(id))) != 1 {
			writeJSONError(w, StatusPageExpired, "the page has expired (missing or wrong CSRF token): reload it and try again")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ensureCSRFCookie makes sure the browser holds the XSRF-TOKEN of its
// session, starting a pre-session when it has neither.
func (u *ui) ensureCSRFCookie(w http.ResponseWriter, r *http.Request) {
	id := binding(r)
	if id == "" {
		id = startPreSession(w, r)
	}
	want := csrfToken(id)
	if c, err := r.Cookie(xsrfCookie); err == nil && c.Value == want {
		return
	}
	setXSRFCookie(w, r, want)
}

func setXSRFCookie(w http.ResponseWriter, r *http.Request, tok string) {
	http.SetCookie(w, &http.Cookie{Name: xsrfCookie, Value: tok, Path: "/", SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
}

// startPreSession sets a new random pre-session id and returns it.
func startPreSession(w http.ResponseWriter, r *http.Request) string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	id := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: preSessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	return id
}
