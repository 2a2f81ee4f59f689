package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/pulsemetrics/pulse/adapter/http/api"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/notification"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

const hostSilence = `{"rule_id":7,"matchers":[{"tag":"host","op":"=","value":"a"}],"comment":"maintenance"}`

func TestASilenceIsCreatedListedAndEnded(t *testing.T) {
	a, f, reader := notificationEnv(t)
	created := a.call(t, http.MethodPost, "/api/silences", a.acmeAdmin, hostSilence)
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	got := created.json(t)
	want := map[string]any{"rule_id": 7, "matchers": []map[string]string{{"tag": "host", "op": "=", "value": "a"}}, "comment": "maintenance",
		"starts_at": "2026-11-25T10:00:00.000Z", "ends_at": "2026-11-25T11:00:00.000Z", "created_at": "2026-11-25T10:00:00.000Z",
		"created_by": a.acmeAdmin.Token.ID, "active": true}
	for k, v := range want {
		if mustJSON(t, got[k]) != mustJSON(t, v) {
			t.Errorf("%s: %s, want %s", k, mustJSON(t, got[k]), mustJSON(t, v))
		}
	}
	id := mustJSON(t, got["id"])
	if loc := created.header.Get("Location"); loc != "/api/silences/"+id {
		t.Errorf("Location %q", loc)
	}
	later := a.call(t, http.MethodPost, "/api/silences", a.acmeAdmin, `{"matchers":[{"tag":"env","op":"=","value":"staging"}],"starts_at":"2026-11-26T08:00:00Z","duration":"90m"}`).json(t)
	if later["starts_at"] != "2026-11-26T08:00:00.000Z" || later["ends_at"] != "2026-11-26T09:30:00.000Z" || later["active"] != false {
		t.Errorf("starts_at + duration: %v", later)
	}
	fromNow := a.call(t, http.MethodPost, "/api/silences", a.acmeAdmin, `{"rule_id":7,"duration":"2h"}`).json(t)
	if fromNow["starts_at"] != "2026-11-25T10:00:00.000Z" || fromNow["ends_at"] != "2026-11-25T12:00:00.000Z" {
		t.Errorf("a duration from now: %v", fromNow)
	}
	if ends := a.call(t, http.MethodPost, "/api/silences", a.acmeAdmin, `{"rule_id":7,"ends_at":"2026-11-25T10:30:00+01:00"}`); ends.status != http.StatusUnprocessableEntity ||
		ends.fieldErrors(t)[0].Field != "ends_at" {
		t.Errorf("an end before the start (09:30Z): %d %s", ends.status, ends.body)
	}

	list := a.call(t, http.MethodGet, "/api/silences?active=true", reader, "")
	var body struct{ Silences []map[string]any }
	if err := json.Unmarshal(list.body, &body); err != nil || list.status != http.StatusOK || len(body.Silences) != 3 {
		t.Fatalf("list: %d %s", list.status, list.body)
	}
	if f.active[len(f.active)-1] != true {
		t.Error("?active=true did not ask for the active ones")
	}
	for _, c := range []struct {
		name, method, target string
		tok                  token.Issued
		want                 int
	}{
		{"all", http.MethodGet, "/api/silences", reader, http.StatusOK},
		{"a bad filter", http.MethodGet, "/api/silences?active=yes", reader, http.StatusUnprocessableEntity},
		{"a read token may not create", http.MethodPost, "/api/silences", reader, http.StatusForbidden},
		{"nor end", http.MethodDelete, "/api/silences/" + id, reader, http.StatusForbidden},
		{"another tenant's silence is not found", http.MethodDelete, "/api/silences/" + id, a.otherAdmin, http.StatusNotFound},
		{"the owner ends it", http.MethodDelete, "/api/silences/" + id, a.acmeAdmin, http.StatusNoContent},
	} {
		if ans := a.call(t, c.method, c.target, c.tok, hostSilence); ans.status != c.want {
			t.Errorf("%s: %s %s → %d %s, want %d", c.name, c.method, c.target, ans.status, ans.body, c.want)
		}
	}
	if f.active[len(f.active)-1] != false {
		t.Error("no filter asked for the active ones only")
	}
	if other := a.call(t, http.MethodGet, "/api/silences", a.otherAdmin, ""); string(other.body) != `{"silences":[]}`+"\n" {
		t.Errorf("another tenant lists: %s", other.body)
	}
	if ended := a.call(t, http.MethodGet, "/api/silences", reader, ""); !strings.Contains(string(ended.body), `"ends_at":"2026-11-25T10:00:00.000Z","comment":"maintenance","created_by":"`+a.acmeAdmin.Token.ID+`","created_at":"2026-11-25T10:00:00.000Z","active":false`) {
		t.Errorf("the ended silence: %s", ended.body)
	}
	if acts := f.actors("EndSilence"); len(acts) != 2 || acts[0].TenantID != otherID || acts[1].TenantID != acmeID {
		t.Errorf("EndSilence actors %+v", acts)
	}
}

func TestAnInvalidSilenceListsEveryBadField(t *testing.T) {
	a, f, _ := notificationEnv(t)
	for _, c := range []struct {
		name, body string
		fields     []string
	}{
		{"ends_at and duration", `{"rule_id":7,"ends_at":"2026-11-25T12:00:00Z","duration":"1h"}`, []string{"duration"}},
		{"a bad duration", `{"rule_id":7,"duration":"soon"}`, []string{"duration"}},
		{"a negative duration", `{"rule_id":7,"duration":"-1h"}`, []string{"duration"}},
		{"longer than a year", `{"rule_id":7,"duration":"9000h"}`, []string{"duration"}},
		{"bad times and a bad matcher", `{"matchers":[{"tag":"host","op":"=~","value":"(a"}],"starts_at":"tomorrow","ends_at":"2026-13-01T00:00:00Z"}`,
			[]string{"ends_at", "matchers[0]", "starts_at"}},
		{"before 1970", `{"rule_id":7,"starts_at":"1969-12-31T00:00:00Z"}`, []string{"starts_at"}},
		{"would mute everything", `{"comment":"all"}`, []string{"matchers"}},
	} {
		ans := a.call(t, http.MethodPost, "/api/silences", a.acmeAdmin, c.body)
		var fields []string
		if ans.status == http.StatusUnprocessableEntity {
			for _, e := range ans.fieldErrors(t) {
				fields = append(fields, e.Field)
			}
		}
		if !slices.Equal(fields, c.fields) || !strings.HasPrefix(ans.json(t)["error"].(string), "invalid silence: ") {
			t.Errorf("%s: %d %s, want fields %v", c.name, ans.status, ans.body, c.fields)
		}
	}
	if n := len(f.actors("CreateSilence")); n != 1 {
		t.Errorf("%d refused silences reached the use case, want 1 (the one its validation refuses)", n)
	}
	if ans := a.call(t, http.MethodPost, "/api/silences", a.acmeAdmin, "{\"rule_id\":7,\"comment\":\"\xc3\"}"); ans.status != http.StatusBadRequest {
		t.Errorf("invalid UTF-8: %d %s", ans.status, ans.body)
	}
	if ans := a.call(t, http.MethodPost, "/api/silences", a.acmeAdmin, `{"rule_id":7,"active":true}`); ans.status != http.StatusUnprocessableEntity {
		t.Errorf("an unknown field: %d %s", ans.status, ans.body)
	}
}

func TestNotificationMessagesAreListedShownAndRetried(t *testing.T) {
	a, f, reader := notificationEnv(t)
	list := a.call(t, http.MethodGet, "/api/notifications", reader, "")
	want := `{"next_cursor":null,"notifications":[` +
		`{"id":2,"channel_id":5,"rule_id":7,"kind":"alerts","status":"dead","items":1,"attempts":9,"next_attempt_at":null,"last_status":500,"last_error":"receiver answered 500","created_at":"2026-11-25T09:59:58.000Z","sent_at":null},` +
		`{"id":1,"channel_id":5,"rule_id":7,"kind":"alerts","status":"sent","items":1,"attempts":1,"next_attempt_at":null,"last_status":200,"last_error":"","created_at":"2026-11-25T09:59:57.000Z","sent_at":"2026-11-25T09:59:57.100Z"}]}` + "\n"
	if list.status != http.StatusOK || string(list.body) != want {
		t.Errorf("list: %d %s\nwant %s", list.status, list.body, want)
	}
	page := a.call(t, http.MethodGet, "/api/notifications?status=dead&channel_id=5&rule_id=7&cursor=3&limit=1", reader, "")
	if got := f.filters[len(f.filters)-1]; got != (notification.MessageFilter{Status: "dead", ChannelID: 5, RuleID: 7, Cursor: 3, Limit: 1}) {
		t.Errorf("filter %+v", got)
	}
	if page.json(t)["next_cursor"] != "2" {
		t.Errorf("a full page: %s", page.body)
	}
	shown := a.call(t, http.MethodGet, "/api/notifications/1", reader, "")
	var detail struct {
		ID     int64
		Alerts []notification.Notification
	}
	if err := json.Unmarshal(shown.body, &detail); err != nil || shown.status != http.StatusOK || detail.ID != 1 || len(detail.Alerts) != 1 ||
		detail.Alerts[0].Rule != "High load" || *detail.Alerts[0].Value != 97.5 {
		t.Errorf("one message: %d %s", shown.status, shown.body)
	}
	for _, c := range []struct {
		name, method, target string
		tok                  token.Issued
		want                 int
	}{
		{"a bad status", http.MethodGet, "/api/notifications?status=lost", reader, http.StatusUnprocessableEntity},
		{"a bad channel", http.MethodGet, "/api/notifications?channel_id=x", reader, http.StatusUnprocessableEntity},
		{"a bad limit", http.MethodGet, "/api/notifications?limit=-1", reader, http.StatusUnprocessableEntity},
		{"another tenant's message", http.MethodGet, "/api/notifications/3", a.acmeAdmin, http.StatusNotFound},
		{"is not retried", http.MethodPost, "/api/notifications/3/retry", a.acmeAdmin, http.StatusNotFound},
		{"a read token may not retry", http.MethodPost, "/api/notifications/2/retry", reader, http.StatusForbidden},
		{"a sent message is not retried", http.MethodPost, "/api/notifications/1/retry", a.acmeAdmin, http.StatusNotFound},
		{"a dead one is", http.MethodPost, "/api/notifications/2/retry", a.acmeAdmin, http.StatusNoContent},
		{"no token", http.MethodGet, "/api/notifications", token.Issued{}, http.StatusUnauthorized},
	} {
		if ans := a.call(t, c.method, c.target, c.tok, ""); ans.status != c.want {
			t.Errorf("%s: %s %s → %d %s, want %d", c.name, c.method, c.target, ans.status, ans.body, c.want)
		}
	}
	if other := a.call(t, http.MethodGet, "/api/notifications", a.otherAdmin, ""); strings.Count(string(other.body), `"id"`) != 1 {
		t.Errorf("another tenant lists: %s", other.body)
	}
}

func TestTheNotificationBudget(t *testing.T) {
	a, f, reader := notificationEnv(t)
	for _, c := range []struct {
		name, method string
		tok          token.Issued
		body         string
		want         int
		answer       string
	}{
		{"the default", http.MethodGet, reader, "", http.StatusOK, `{"per_minute":10}`},
		{"a read token may not set it", http.MethodPut, reader, `{"per_minute":20}`, http.StatusForbidden, ""},
		{"an admin sets it", http.MethodPut, a.acmeAdmin, `{"per_minute":20}`, http.StatusOK, `{"per_minute":20}`},
		{"read back", http.MethodGet, reader, "", http.StatusOK, `{"per_minute":20}`},
		{"another tenant's is its own", http.MethodGet, a.otherAdmin, "", http.StatusOK, `{"per_minute":10}`},
		{"0 is the default again", http.MethodPut, a.acmeAdmin, `{"per_minute":0}`, http.StatusOK, `{"per_minute":10}`},
		{"too many", http.MethodPut, a.acmeAdmin, `{"per_minute":10001}`, http.StatusUnprocessableEntity, ""},
		{"missing", http.MethodPut, a.acmeAdmin, `{}`, http.StatusUnprocessableEntity, ""},
		{"not a number", http.MethodPut, a.acmeAdmin, `{"per_minute":"5"}`, http.StatusUnprocessableEntity, ""},
		{"an unknown field", http.MethodPut, a.acmeAdmin, `{"per_minute":5,"per_hour":9}`, http.StatusUnprocessableEntity, ""},
	} {
		ans := a.call(t, c.method, "/api/notification-settings", c.tok, c.body)
		if ans.status != c.want || (c.answer != "" && string(ans.body) != c.answer+"\n") {
			t.Errorf("%s: %d %s, want %d %s", c.name, ans.status, ans.body, c.want, c.answer)
		}
	}
	if sets := f.actors("SetPerMinute"); len(sets) != 3 || sets[0] != (notification.Actor{TenantID: acmeID, Admin: true, Name: a.acmeAdmin.Token.ID}) {
		t.Errorf("SetPerMinute actors %+v", sets)
	}
}

// The dashboard's twin under /ui/api: the session's principal, a viewer
// reads, an admin writes.
func TestNotificationHandlersForTheSession(t *testing.T) {
	f := newFakeNotifications()
	h := api.NewNotificationHandlers(api.NotificationDeps{Notifications: f, Principal: func(r *http.Request) (tenancy.Principal, error) {
		switch r.Header.Get("X-Test-User") {
		case "admin":
			return tenancy.Principal{TokenID: "user:1", TenantID: acmeID, Scopes: []token.Scope{token.ScopeRead, token.ScopeAdmin}}, nil
		case "viewer":
			return tenancy.Principal{TokenID: "user:2", TenantID: acmeID, Scopes: []token.Scope{token.ScopeRead}}, nil
		}
		return tenancy.Principal{}, token.ErrUnauthenticated
	}})
	call := func(method, target, user, body string) (int, string) {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("X-Test-User", user)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	for _, c := range []struct {
		name, method, target, user, body string
		want                             int
	}{
		{"an admin creates", http.MethodPost, "/ui/api/channels", "admin", webhookChannel, http.StatusCreated},
		{"a viewer lists", http.MethodGet, "/ui/api/channels", "viewer", "", http.StatusOK},
		{"a viewer may not create", http.MethodPost, "/ui/api/channels", "viewer", slackChannel, http.StatusForbidden},
		{"nor silence", http.MethodPost, "/ui/api/silences", "viewer", hostSilence, http.StatusForbidden},
		{"an admin silences", http.MethodPost, "/ui/api/silences", "admin", hostSilence, http.StatusCreated},
		{"a viewer reads the budget", http.MethodGet, "/ui/api/notification-settings", "viewer", "", http.StatusOK},
		{"logged out", http.MethodGet, "/ui/api/notifications", "", "", http.StatusUnauthorized},
		{"no such route", http.MethodGet, "/ui/api/channels/x", "admin", "", http.StatusNotFound},
		{"no such method", http.MethodPatch, "/ui/api/channels", "admin", "", http.StatusMethodNotAllowed},
		{"the API's prefix is not served", http.MethodGet, "/api/channels", "admin", "", http.StatusNotFound},
	} {
		if status, body := call(c.method, c.target, c.user, c.body); status != c.want || !strings.HasPrefix(strings.TrimSpace(body+"{}"), "{") {
			t.Errorf("%s: %s %s → %d %s, want %d", c.name, c.method, c.target, status, body, c.want)
		}
	}
	if s := f.silences; len(s) != 1 || s[0].CreatedBy != "user:1" || s[0].TenantID != acmeID {
		t.Errorf("the session's silence: %+v", s)
	}
	if lists := f.actors("ListChannels"); len(lists) != 1 || lists[0] != (notification.Actor{TenantID: acmeID, Name: "user:2"}) {
		t.Errorf("ListChannels actors %+v", lists)
	}
}

// failingNotifications is a notification use case whose database is down.
type failingNotifications struct{ api.Notifications }

func (failingNotifications) ListChannels(context.Context, notification.Actor) ([]notification.ChannelView, error) {
	return nil, errOutage
}

func TestANotificationStoreOutageIs503(t *testing.T) {
	a := newAdminEnv(t, func(d *api.Deps) { d.Notifications = failingNotifications{} })
	ans := a.call(t, http.MethodGet, "/api/channels", a.acmeAdmin, "")
	if ans.status != http.StatusServiceUnavailable || ans.header.Get("Retry-After") == "" {
		t.Errorf("outage: %d %s (Retry-After %q)", ans.status, ans.body, ans.header.Get("Retry-After"))
	}
}

// Every notification route is registered under /api, and only when the
// use case is given.
func TestNotificationRoutesAreRegistered(t *testing.T) {
	var got []string
	for _, r := range api.Routes(newAdminEnv(t, func(d *api.Deps) { d.Notifications = failingNotifications{} }).h) {
		if p := r.Path; strings.HasPrefix(p, "/api/channels") || strings.HasPrefix(p, "/api/silences") || strings.HasPrefix(p, "/api/notification") {
			got = append(got, r.String())
		}
	}
	want := []string{"GET /api/channels", "POST /api/channels", "DELETE /api/channels/{id}", "GET /api/channels/{id}", "PUT /api/channels/{id}",
		"POST /api/channels/{id}/test", "GET /api/notification-settings", "PUT /api/notification-settings", "GET /api/notifications",
		"GET /api/notifications/{id}", "POST /api/notifications/{id}/retry", "GET /api/silences", "POST /api/silences", "DELETE /api/silences/{id}"}
	if !slices.Equal(got, want) {
		t.Errorf("routes %v\nwant %v", got, want)
	}
	for _, r := range api.Routes(newAdminEnv(t).h) {
		if strings.HasPrefix(r.Path, "/api/channels") {
			t.Errorf("%s registered without the use case", r)
		}
	}
}
