package features_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pulsemetrics/pulse/usecase/notification"
)

// The isolation matrix's notification data: per tenant a webhook channel
// its rule notifies, a victim channel, a silence, a victim silence, one
// (dead) message and its budget.

// isoChannel is a seeded webhook channel. Its name and its URL's host are
// unique to the tenant (markers); secret is the signing secret shown once
// when it was made (a secret: no answer may carry it).
type isoChannel struct {
	id     int64
	name   string
	host   string
	secret string
	body   []byte // as created (PUT sends it back unchanged: the secret stays)
}

func (c isoChannel) path(suffix string) string {
	return fmt.Sprintf("/api/channels/%d%s", c.id, suffix)
}

// isoSilence is a seeded silence; its comment is unique to the tenant.
type isoSilence struct {
	id      int64
	comment string
}

func (s isoSilence) path() string { return fmt.Sprintf("/api/silences/%d", s.id) }

// isoMessage is the tenant's one notification message: its rule's firing
// notice to its channel. lastError is unique to the tenant (the seed
// writes it, see isoSeedMessages).
type isoMessage struct {
	id        int64
	lastError string
}

func (m isoMessage) path(suffix string) string {
	return fmt.Sprintf("/api/notifications/%d%s", m.id, suffix)
}

// isoSeedChannels creates tn's webhook channels with its admin token (the
// channel its rule will name, and a victim for DELETE /api/channels/{id}).
// Saving checks only the URL's form and the egress policy: nothing is
// dialled. group_wait 0s lets one planner pass make the message.
func isoSeedChannels(t *testing.T, w *isoWorld, tn *isoTenant) {
	t.Helper()
	l := strings.ToLower(tn.label)
	create := func(what string) isoChannel {
		sfx := isoSuffix()
		c := isoChannel{name: what + "-" + l + "-" + sfx, host: "hooks-" + what + "-" + l + "-" + sfx + ".example.com"}
		c.body = []byte(fmt.Sprintf(`{"name":%q,"kind":"webhook","webhook":{"url":%q},"send_resolved":true,"group_wait":"0s","repeat_interval":"4h"}`,
			c.name, "https://"+c.host+"/x"))
		ans, err := w.srv.do(http.MethodPost, "/api/channels", tn.tokens["admin"].plain, c.body)
		if err != nil || ans.status != http.StatusCreated {
			t.Fatalf("create %s's %s channel: %v\n%s", tn.label, what, err, ans.text())
		}
		var out struct {
			ID     int64  `json:"id"`
			Secret string `json:"secret"`
		}
		if err := json.Unmarshal(ans.body, &out); err != nil || out.ID <= 0 || !strings.HasPrefix(out.Secret, "whsec_") {
			t.Fatalf("create %s's %s channel: want an id and a whsec_ secret (%v)\n%s", tn.label, what, err, ans.text())
		}
		c.id, c.secret = out.ID, out.Secret
		return c
	}
	tn.channel = create("chan")
	tn.victimChannel = create("victim-chan")
}

// isoSeedMessages runs one notification planner pass (the isolation server
// runs no dispatcher loops, and no sender ever runs: nothing is dialled),
// which turns each tenant's firing outbox row into one queued message to
// its channel. The seed then marks the message dead with a last error
// unique to the tenant, by a direct UPDATE of notification_messages: a
// real death takes 24 h of failed attempts, and only a dead message can be
// retried (POST /api/notifications/{id}/retry answers 404 for a queued
// one, whoever asks). The last error is a marker the lists would leak.
func isoSeedMessages(t *testing.T, w *isoWorld) {
	t.Helper()
	ctx := context.Background()
	rep, ran, err := w.srv.notify.PlanOnce(ctx)
	if err != nil || !ran {
		t.Fatalf("plan the notifications: ran=%v %v", ran, err)
	}
	if rep.Expanded != 2 || rep.Deliveries != 2 || rep.Messages != 2 {
		t.Fatalf("planning the two firing notices: %+v, want 2 expanded into 2 deliveries and 2 messages", rep)
	}
	for _, tn := range []*isoTenant{w.a, w.b} {
		ans, err := w.srv.do(http.MethodGet, "/api/notifications", tn.tokens["read"].plain, nil)
		if err != nil || ans.status != http.StatusOK {
			t.Fatalf("list %s's notifications: %v\n%s", tn.label, err, ans.text())
		}
		var list struct {
			Notifications []struct {
				ID        int64  `json:"id"`
				ChannelID int64  `json:"channel_id"`
				RuleID    int64  `json:"rule_id"`
				Status    string `json:"status"`
			} `json:"notifications"`
		}
		if err := json.Unmarshal(ans.body, &list); err != nil || len(list.Notifications) != 1 {
			t.Fatalf("%s's notifications: want one message (%v)\n%s", tn.label, err, ans.text())
		}
		m := list.Notifications[0]
		if m.ChannelID != tn.channel.id || m.RuleID != tn.rule.id || m.Status != notification.StatusQueued {
			t.Fatalf("%s's message: %+v, want a queued one to channel %d for rule %d", tn.label, m, tn.channel.id, tn.rule.id)
		}
		tn.message = isoMessage{id: m.ID, lastError: "lasterr-" + strings.ToLower(tn.label) + "-" + isoSuffix()}
		res, err := w.srv.db.Write.ExecContext(ctx, "UPDATE notification_messages SET status = ?, last_error = ? WHERE id = ? AND tenant_id = ? AND status = ?",
			notification.StatusDead, tn.message.lastError, m.ID, tn.id, notification.StatusQueued)
		if err != nil {
			t.Fatalf("mark %s's message dead: %v", tn.label, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			t.Fatalf("mark %s's message dead: %d rows (%v), want 1", tn.label, n, err)
		}
	}
}

// isoSeedSilences creates tn's silences on its rule with its admin token:
// after the planner's pass, so they mute nothing that was seeded.
func isoSeedSilences(t *testing.T, w *isoWorld, tn *isoTenant) {
	t.Helper()
	l := strings.ToLower(tn.label)
	create := func(what string) isoSilence {
		s := isoSilence{comment: what + "-" + l + "-" + isoSuffix()}
		body := []byte(fmt.Sprintf(`{"rule_id":%d,"duration":"1h","comment":%q}`, tn.rule.id, s.comment))
		ans, err := w.srv.do(http.MethodPost, "/api/silences", tn.tokens["admin"].plain, body)
		if err != nil || ans.status != http.StatusCreated {
			t.Fatalf("create %s's %s: %v\n%s", tn.label, what, err, ans.text())
		}
		var out struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(ans.body, &out); err != nil || out.ID <= 0 {
			t.Fatalf("create %s's %s: %v\n%s", tn.label, what, err, ans.text())
		}
		s.id = out.ID
		return s
	}
	tn.silence = create("silence")
	tn.victimSilence = create("victim-silence")
}

// isoSeedSettings reads tn's notification budget as the API answers it
// (the server's default: no tenant has an override), which
// PUT /api/notification-settings sends back unchanged. The budget is a
// number both tenants share, not a marker.
func isoSeedSettings(t *testing.T, w *isoWorld, tn *isoTenant) {
	t.Helper()
	ans, err := w.srv.do(http.MethodGet, "/api/notification-settings", tn.tokens["read"].plain, nil)
	if err != nil || ans.status != http.StatusOK {
		t.Fatalf("read %s's notification settings: %v\n%s", tn.label, err, ans.text())
	}
	var out struct {
		PerMinute *int `json:"per_minute"`
	}
	if err := json.Unmarshal(ans.body, &out); err != nil || out.PerMinute == nil || *out.PerMinute <= 0 {
		t.Fatalf("%s's notification settings: want a positive per_minute (%v)\n%s", tn.label, err, ans.text())
	}
	tn.perMinute = *out.PerMinute
}

// isoNotifyRoutes are the matrix rows of the notification routes.
var isoNotifyRoutes = []isoRoute{
	// Notifications: another tenant's channel, silence or message is 404
	// (the answer to one that does not exist); the lists and the settings
	// answer the caller's own tenant, and nothing of the target. No answer
	// carries a channel's signing secret (isoWorld.secrets).
	{
		method: http.MethodGet, path: "/api/channels", access: accessTenant, scope: "read", wrong: "ingest",
		own: http.StatusOK, other: http.StatusOK, url: fixed("/api/channels"),
		shows: func(_ *isoWorld, tn *isoTenant) []string {
			return []string{tn.channel.name, tn.channel.host, tn.victimChannel.name, `"secret_set":true`}
		},
	},
	{
		// A fresh name every call: a tenant's channel names are unique.
		method: http.MethodPost, path: "/api/channels", access: accessTenant, scope: "admin", wrong: "read",
		own: http.StatusCreated, other: http.StatusCreated, url: fixed("/api/channels"),
		body: func(*isoWorld, *isoTenant) []byte {
			return []byte(fmt.Sprintf(`{"name":"iso-probe-channel-%s","kind":"webhook","webhook":{"url":"https://hooks-probe.example.com/x"}}`, isoSuffix()))
		},
	},
	{
		method: http.MethodGet, path: "/api/channels/{id}", access: accessTenant, scope: "read", wrong: "ingest",
		own: http.StatusOK, other: http.StatusNotFound,
		url: func(_ *isoWorld, tn *isoTenant) string { return tn.channel.path("") },
		shows: func(_ *isoWorld, tn *isoTenant) []string {
			return []string{tn.channel.name, tn.channel.host, `"secret_set":true`}
		},
	},
	{
		// The channel as it is, without "secret": the rightful call changes
		// nothing and keeps the signing secret (so shows no new one).
		method: http.MethodPut, path: "/api/channels/{id}", access: accessTenant, scope: "admin", wrong: "read",
		own: http.StatusOK, other: http.StatusNotFound,
		url:   func(_ *isoWorld, tn *isoTenant) string { return tn.channel.path("") },
		body:  func(_ *isoWorld, tn *isoTenant) []byte { return tn.channel.body },
		shows: func(_ *isoWorld, tn *isoTenant) []string { return []string{tn.channel.name, `"secret_set":true`} },
	},
	{
		method: http.MethodDelete, path: "/api/channels/{id}", access: accessTenant, scope: "admin", wrong: "read",
		own: http.StatusNoContent, other: http.StatusNotFound,
		url: func(_ *isoWorld, tn *isoTenant) string { return tn.victimChannel.path("") },
	},
	{
		// The rightful test dials the channel's host, which does not resolve:
		// the answer is what the delivery came to (200, not delivered).
		method: http.MethodPost, path: "/api/channels/{id}/test", access: accessTenant, scope: "admin", wrong: "read",
		own: http.StatusOK, other: http.StatusNotFound,
		url:   func(_ *isoWorld, tn *isoTenant) string { return tn.channel.path("/test") },
		shows: func(*isoWorld, *isoTenant) []string { return []string{`"delivered":false`} },
	},
	{
		method: http.MethodGet, path: "/api/silences", access: accessTenant, scope: "read", wrong: "ingest",
		own: http.StatusOK, other: http.StatusOK, url: fixed("/api/silences"),
		shows: func(_ *isoWorld, tn *isoTenant) []string {
			return []string{tn.silence.comment, tn.victimSilence.comment, fmt.Sprintf(`"rule_id":%d`, tn.rule.id)}
		},
	},
	{
		method: http.MethodPost, path: "/api/silences", access: accessTenant, scope: "admin", wrong: "read",
		own: http.StatusCreated, other: http.StatusCreated, url: fixed("/api/silences"),
		body: func(*isoWorld, *isoTenant) []byte {
			return []byte(`{"matchers":[{"tag":"owner","op":"=","value":"iso-probe"}],"duration":"1h","comment":"iso-probe"}`)
		},
	},
	{
		method: http.MethodDelete, path: "/api/silences/{id}", access: accessTenant, scope: "admin", wrong: "read",
		own: http.StatusNoContent, other: http.StatusNotFound,
		url: func(_ *isoWorld, tn *isoTenant) string { return tn.victimSilence.path() },
	},
	{
		// Unfiltered: the other tenant lists its own message, and must not
		// see the target's (its last error is a marker).
		method: http.MethodGet, path: "/api/notifications", access: accessTenant, scope: "read", wrong: "ingest",
		own: http.StatusOK, other: http.StatusOK, url: fixed("/api/notifications?limit=500"),
		shows: func(_ *isoWorld, tn *isoTenant) []string {
			return []string{tn.message.lastError, fmt.Sprintf(`"channel_id":%d`, tn.channel.id), fmt.Sprintf(`"rule_id":%d`, tn.rule.id)}
		},
	},
	{
		method: http.MethodGet, path: "/api/notifications/{id}", access: accessTenant, scope: "read", wrong: "ingest",
		own: http.StatusOK, other: http.StatusNotFound,
		url:   func(_ *isoWorld, tn *isoTenant) string { return tn.message.path("") },
		shows: func(_ *isoWorld, tn *isoTenant) []string { return []string{tn.rule.name, tn.tagValue, tn.value} },
	},
	{
		// The message is dead (isoSeedMessages): the rightful retry queues it
		// again. No sender runs, so nothing is dialled.
		method: http.MethodPost, path: "/api/notifications/{id}/retry", access: accessTenant, scope: "admin", wrong: "read",
		own: http.StatusNoContent, other: http.StatusNotFound,
		url: func(_ *isoWorld, tn *isoTenant) string { return tn.message.path("/retry") },
	},
	{
		method: http.MethodGet, path: "/api/notification-settings", access: accessTenant, scope: "read", wrong: "ingest",
		own: http.StatusOK, other: http.StatusOK, url: fixed("/api/notification-settings"),
		shows: func(_ *isoWorld, tn *isoTenant) []string {
			return []string{fmt.Sprintf(`"per_minute":%d`, tn.perMinute)}
		},
	},
	{
		// The budget as it is: the rightful call (and the other tenant's, on
		// its own budget, the same default) changes nothing.
		method: http.MethodPut, path: "/api/notification-settings", access: accessTenant, scope: "admin", wrong: "read",
		own: http.StatusOK, other: http.StatusOK, url: fixed("/api/notification-settings"),
		body: func(_ *isoWorld, tn *isoTenant) []byte { return []byte(fmt.Sprintf(`{"per_minute":%d}`, tn.perMinute)) },
		shows: func(_ *isoWorld, tn *isoTenant) []string {
			return []string{fmt.Sprintf(`"per_minute":%d`, tn.perMinute)}
		},
	},
}
