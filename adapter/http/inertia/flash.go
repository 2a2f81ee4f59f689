package inertia

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"unicode/utf8"
)

// Flash is what one request leaves for the next page only: the
// validation error bag of a form and success/error messages.
type Flash struct {
	Errors  map[string]string `json:"errors,omitempty"`
	Success string            `json:"success,omitempty"`
	Error   string            `json:"error,omitempty"`
}

// Messages is the "flash" prop: {success?, error?}.
func (f Flash) Messages() map[string]string {
	m := map[string]string{}
	if f.Success != "" {
		m["success"] = f.Success
	}
	if f.Error != "" {
		m["error"] = f.Error
	}
	return m
}

// FlashStore keeps a Flash between a redirect and the next page. Take
// returns it once and forgets it. Implementations must be safe for
// concurrent use.
type FlashStore interface {
	Put(w http.ResponseWriter, r *http.Request, f Flash) error
	Take(w http.ResponseWriter, r *http.Request) (Flash, error)
}

// CookieFlash keeps the flash in an HttpOnly, SameSite=Lax cookie of the
// browser's session (Secure over TLS). Its content is what the server
// wrote for this browser: messages for its own next page, nothing secret;
// a forged or broken cookie reads as empty.
type CookieFlash struct {
	Name string
}

// maxFlashBytes keeps the cookie under the browsers' 4 KB limit.
const maxFlashBytes = 3000

// Put stores f in the cookie. A flash too large for a cookie loses
// detail until it fits: messages are cut to 100 bytes, then error
// entries are dropped (in key order, the last first), then the messages.
func (c CookieFlash) Put(w http.ResponseWriter, r *http.Request, f Flash) error {
	v, err := encodeFlash(f)
	if err != nil {
		return err
	}
	if len(v) > maxFlashBytes {
		short := Flash{Errors: map[string]string{}, Success: cut(f.Success), Error: cut(f.Error)}
		keys := slices.Sorted(maps.Keys(f.Errors))
		for _, k := range keys[:min(len(keys), 20)] {
			short.Errors[cut(k)] = cut(f.Errors[k])
		}
		kept := slices.Sorted(maps.Keys(short.Errors))
		for v, err = encodeFlash(short); err == nil && len(v) > maxFlashBytes; v, err = encodeFlash(short) {
			switch {
			case len(kept) > 0:
				delete(short.Errors, kept[len(kept)-1])
				kept = kept[:len(kept)-1]
			case short.Success != "":
				short.Success = ""
			default:
				short.Error = ""
			}
		}
		if err != nil {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: c.Name, Value: v, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	return nil
}

// encodeFlash is the cookie value of f. HTML is not escaped: the value is
// read back by Take, never put in a page as it is, and \u003c would
// triple the size of every '<'.
func encodeFlash(f Flash) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		return "", fmt.Errorf("flash: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), nil
}

// cut shortens s to at most 100 bytes, on a rune boundary.
func cut(s string) string {
	if len(s) <= 100 {
		return s
	}
	n := 100
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Take reads the flash and deletes the cookie.
func (c CookieFlash) Take(w http.ResponseWriter, r *http.Request) (Flash, error) {
	ck, err := r.Cookie(c.Name)
	if err != nil || ck.Value == "" {
		return Flash{}, nil
	}
	http.SetCookie(w, &http.Cookie{Name: c.Name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	b, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return Flash{}, nil
	}
	var f Flash
	if json.Unmarshal(b, &f) != nil {
		return Flash{}, nil
	}
	return f, nil
}

// WithErrors keeps the validation error bag (and optionally flash
// messages) for the next page.
func (i *Renderer) WithErrors(w http.ResponseWriter, r *http.Request, errs map[string]string) error {
	return i.cfg.Flash.Put(w, r, Flash{Errors: errs})
}

// PutFlash keeps f for the next page.
func (i *Renderer) PutFlash(w http.ResponseWriter, r *http.Request, f Flash) error {
	return i.cfg.Flash.Put(w, r, f)
}
