package webui_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/http/webui"
)

func TestNotificationPages(t *testing.T) {
	w := newWorld(t)
	for _, email := range []string{"viewer@alpha.test", "admin@alpha.test"} {
		b := w.browser()
		b.login(email)
		cases := []struct {
			target, component string
			props             map[string]any
		}{
			{"/channels", "Channels/Index", nil},
			{"/silences", "Silences/Index", nil},
			{"/notifications", "Notifications/Index", map[string]any{"status": nil}},
			{"/notifications?status=", "Notifications/Index", map[string]any{"status": nil}},
			{"/notifications?status=queued", "Notifications/Index", map[string]any{"status": "queued"}},
			{"/notifications?status=sent", "Notifications/Index", map[string]any{"status": "sent"}},
			{"/notifications?status=dead&cursor=9", "Notifications/Index", map[string]any{"status": "dead"}},
		}
		for _, c := range cases {
			a := b.inertia(http.MethodGet, c.target, nil)
			if a.status != http.StatusOK {
				t.Errorf("%s %s: %d\n%s", email, c.target, a.status, a.body)
				continue
			}
			if p := page(t, a); p["component"] != c.component {
				t.Errorf("%s %s: component %v, want %s", email, c.target, p["component"], c.component)
			}
			got := props(t, a)
			for k, want := range c.props {
				if v, ok := got[k]; !ok || v != want {
					t.Errorf("%s %s: props.%s = %v (present %v), want %v", email, c.target, k, v, ok, want)
				}
			}
			// The role the app reads to offer (or disable) the admin actions.
			user, _ := got["auth"].(map[string]any)["user"].(map[string]any)
			if wantRole := strings.SplitN(email, "@", 2)[0]; user["role"] != wantRole {
				t.Errorf("%s %s: auth.user.role %v", email, c.target, user["role"])
			}
		}
	}

	b := w.browser()
	b.login("viewer@alpha.test")
	if a := b.do(http.MethodGet, "/notifications?status=dead", nil); a.status != http.StatusOK || !strings.Contains(a.body, `"component":"Notifications/Index"`) {
		t.Errorf("full load of /notifications: %d\n%.500s", a.status, a.body)
	}
	for _, target := range []string{"/notifications?status=failed", "/notifications?status=DEAD", "/notifications?status=dead&status=sent"} {
		if a := b.inertia(http.MethodGet, target, nil); a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, `"error":"status must be one of queued, sent, dead"`) {
			t.Errorf("%s: %d, want 422 with the message\n%.300s", target, a.status, a.body)
		}
	}
	// Only GET: the pages have no forms of their own (the app writes to /ui/api/…).
	for _, target := range []string{"/channels", "/silences", "/notifications"} {
		if a := b.inertia(http.MethodPost, target, map[string]any{}); a.status != http.StatusMethodNotAllowed {
			t.Errorf("POST %s: %d", target, a.status)
		}
	}

	// Logged out: to the login page; a user without tenant: 403.
	out := w.browser()
	out.do(http.MethodGet, "/login", nil)
	root := w.browser()
	root.login("root@platform.test")
	for _, target := range []string{"/channels", "/silences", "/notifications"} {
		if a := out.do(http.MethodGet, target, nil); a.status != http.StatusSeeOther || a.location() != "/login" {
			t.Errorf("logged out %s: %d %s", target, a.status, a.location())
		}
		if a := root.inertia(http.MethodGet, target, nil); a.status != http.StatusForbidden {
			t.Errorf("super-admin without tenant %s: %d", target, a.status)
		}
	}
}

func TestNotificationPagesWithoutAlertHandlers(t *testing.T) {
	// The pages render without any data handler: the app shows the API's answer.
	w := newWorldWith(t, func(d *webui.Deps) { d.Alerts = nil })
	b := w.browser()
	b.login("admin@alpha.test")
	for _, target := range []string{"/channels", "/silences", "/notifications"} {
		if a := b.inertia(http.MethodGet, target, nil); a.status != http.StatusOK {
			t.Errorf("GET %s: %d", target, a.status)
		}
	}
}

// The notification data routes reach the Notifications handler with the
// session's principal, after the CSRF check, as the alert routes do.
func TestNotificationDataRoutes(t *testing.T) {
	w := newWorld(t)
	admin := w.browser()
	admin.login("admin@alpha.test")
	calls := []struct{ method, target string }{
		{http.MethodGet, "/ui/api/channels"},
		{http.MethodPost, "/ui/api/channels"},
		{http.MethodPut, "/ui/api/channels/3"},
		{http.MethodDelete, "/ui/api/channels/3"},
		{http.MethodPost, "/ui/api/channels/3/test"},
		{http.MethodGet, "/ui/api/silences?active=true"},
		{http.MethodPost, "/ui/api/silences"},
		{http.MethodDelete, "/ui/api/silences/4"},
		{http.MethodGet, "/ui/api/notifications?status=dead"},
		{http.MethodPost, "/ui/api/notifications/5/retry"},
		{http.MethodPut, "/ui/api/notification-settings"},
	}
	for _, c := range calls {
		var body any
		if c.method == http.MethodPost || c.method == http.MethodPut {
			body = map[string]any{"name": "ops"}
		}
		a := admin.do(c.method, c.target, body)
		if a.status != http.StatusOK {
			t.Errorf("%s %s: %d\n%s", c.method, c.target, a.status, a.body)
			continue
		}
		e := echoOf(t, a)
		if e.Kind != "notifications" || e.Tenant != "alpha" || e.Method != c.method || e.Path != strings.SplitN(c.target, "?", 2)[0] {
			t.Errorf("%s %s reached the handler as %+v", c.method, c.target, e)
		}
	}
	admin.noXSRF = true
	if a := admin.do(http.MethodPost, "/ui/api/channels", map[string]any{"name": "ops"}); a.status != 419 {
		t.Errorf("POST without the CSRF token: %d", a.status)
	}
}
