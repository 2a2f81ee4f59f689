package webui_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/http/webui"
	"github.com/pulsemetrics/pulse/domain/token"
)

// A live stream asks RecheckFrom every few seconds whether its session
// still holds: after a logout it must say no (token.ErrUnauthenticated),
// which ends the stream.
func TestRecheckFromEndsWithTheSession(t *testing.T) {
	var recheck func(ctx context.Context) error
	w := newWorldWith(t, func(d *webui.Deps) {
		d.MetricsStream = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			recheck = webui.RecheckFrom(r)
			rw.WriteHeader(http.StatusOK)
		})
	})
	b := w.browser()
	b.login("admin@alpha.test")
	if a := b.do("GET", "/ui/api/metrics/stream?name=cpu", nil); a.status != http.StatusOK || recheck == nil {
		t.Fatalf("stream route: %d", a.status)
	}
	if err := recheck(context.Background()); err != nil {
		t.Fatalf("recheck while logged in: %v", err)
	}
	if a := b.do("POST", "/logout", nil); a.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", a.status)
	}
	if err := recheck(context.Background()); !errors.Is(err, token.ErrUnauthenticated) {
		t.Fatalf("recheck after logout: %v; want ErrUnauthenticated", err)
	}
}
