package inertia_test

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/http/inertia"
)

// A flash the server Puts comes back equal from Take on the next request
// when it fits the cookie; one too large comes back cut (each text to 100
// bytes, at most 20 errors) but never as something else. Texts carry what
// JSON escapes and multi-byte UTF-8.

func rtFlashText(r *rand.Rand, n int) string {
	pieces := []string{"\"", "\\", "<", ">", "&", "\u2028", "\x00", "\n", "ü", "東京", "😀", " ", "a", "Z", "0", "'"}
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

func flashTrip(t *testing.T, f inertia.Flash) (inertia.Flash, *http.Cookie) {
	t.Helper()
	store := inertia.CookieFlash{Name: "inertia_flash"}
	put := httptest.NewRecorder()
	if err := store.Put(put, httptest.NewRequest(http.MethodPost, "/", nil), f); err != nil {
		t.Fatalf("put: %v", err)
	}
	cookies := put.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("put set %d cookies", len(cookies))
	}
	get := httptest.NewRequest(http.MethodGet, "/", nil)
	get.AddCookie(cookies[0])
	got, err := store.Take(httptest.NewRecorder(), get)
	if err != nil {
		t.Fatalf("take: %v", err)
	}
	return got, cookies[0]
}

func sameFlash(a, b inertia.Flash) bool {
	if a.Success != b.Success || a.Error != b.Error || len(a.Errors) != len(b.Errors) {
		return false
	}
	for k, v := range a.Errors {
		if w, ok := b.Errors[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestFlashRoundTrips(t *testing.T) {
	r := rand.New(rand.NewPCG(18, 19))
	for trial := range 2000 {
		f := inertia.Flash{Success: rtFlashText(r, r.IntN(60)), Error: rtFlashText(r, r.IntN(60))}
		if n := r.IntN(6); n > 0 {
			f.Errors = map[string]string{}
			for len(f.Errors) < n {
				f.Errors[rtFlashText(r, 1+r.IntN(20))] = rtFlashText(r, r.IntN(80))
			}
		}
		got, ck := flashTrip(t, f)
		if len(ck.Value) <= 3000 && !sameFlash(f, got) {
			t.Fatalf("trial %d: put %+v, took %+v", trial, f, got)
		}
	}
}

// Whatever is flashed, the cookie stays under the browsers' 4 KB limit
// (RFC 6265 §6.1: at least 4096 bytes per cookie, name and value; larger
// ones are dropped, and the flash with them).
func TestFlashCookieStaysUnderFourKB(t *testing.T) {
	f := inertia.Flash{Errors: map[string]string{}, Success: strings.Repeat("<", 500)}
	for i := range 25 {
		f.Errors[strings.Repeat("<", 90)+string(rune('a'+i))] = strings.Repeat("&", 500)
	}
	if _, ck := flashTrip(t, f); len(ck.Name)+len(ck.Value) > 4096 {
		t.Fatalf("flash cookie of %d bytes", len(ck.Name)+len(ck.Value))
	}
}
