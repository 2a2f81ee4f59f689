// Package channelstest is the contract suite of the notification channels'
// storage, run on SQLite and on MariaDB by adapter/store/channels.
package channelstest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/notify"
)

// Run runs the contract cases; open gives each case a migrated, empty
// database.
func Run(t *testing.T, open func(t *testing.T) sqldbtest.Target) {
	cases := []struct {
		name string
		fn   func(t *testing.T, tg sqldbtest.Target)
	}{
		{"RoundTripEveryKind", testRoundTrip},
		{"UpdateKeepsOrReplacesSecret", testUpdateSecret},
		{"UpdateChangesKind", testUpdateKind},
		{"UpdateUnchanged", testUpdateUnchanged},
		{"TenantIsolation", testIsolation},
		{"DuplicateName", testDuplicateName},
		{"Delete", testDelete},
		{"ChannelsByID", testChannelsByID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

// base is the suite's "now" in Unix ms.
var base = sqldbtest.Base.UnixMilli()

// Channels of each kind with every field set away from its zero value.
func emailChannel(tenantID int64, name string) notify.Channel {
	return notify.Channel{TenantID: tenantID, Name: name, Kind: notify.KindEmail, SendResolved: false,
		GroupWait: 30 * time.Second, RepeatInterval: 2 * time.Hour,
		Email: &notify.EmailSettings{Host: "smtp.example.com", Port: 465, Security: notify.SecurityTLS, Username: "pulse@example.com",
			To: []string{"ops@example.com", "On Call <oncall@example.com>", "ünï@example.com"}, From: "Pulse <pulse@example.com>"}}
}

func webhookChannel(tenantID int64, name string) notify.Channel {
	return notify.Channel{TenantID: tenantID, Name: name, Kind: notify.KindWebhook, SendResolved: true,
		GroupWait: 0, RepeatInterval: 7 * 24 * time.Hour, Webhook: &notify.WebhookSettings{URL: "https://hooks.example.com/pulse?team=ops&x=%20"}}
}

func slackChannel(tenantID int64, name string) notify.Channel {
	return notify.Channel{TenantID: tenantID, Name: name, Kind: notify.KindSlack, SendResolved: true,
		GroupWait: time.Hour, RepeatInterval: time.Minute, Slack: &notify.SlackSettings{URLKey: notify.SlackURLKey("https://hooks.slack.com/services/T0/B0/x")}}
}

func mustValid(t *testing.T, c notify.Channel) {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatalf("fixture %q invalid: %v", c.Name, err)
	}
}

func create(t *testing.T, s *sqldbtest.Stores, c notify.Channel, sealed string, now int64) notify.Channel {
	t.Helper()
	got, err := s.CreateChannel(sqldbtest.Ctx(t), c, sealed, now)
	if err != nil {
		t.Fatalf("CreateChannel %q: %v", c.Name, err)
	}
	return got
}

func get(t *testing.T, s *sqldbtest.Stores, tenantID, id int64) (notify.Channel, string) {
	t.Helper()
	c, sealed, err := s.GetChannel(sqldbtest.Ctx(t), tenantID, id)
	if err != nil {
		t.Fatalf("GetChannel %d: %v", id, err)
	}
	return c, sealed
}

func same(t *testing.T, what string, got, want notify.Channel) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %#v\n want %#v", what, got, want)
		if got.Email != nil && want.Email != nil {
			t.Errorf("email: got %#v want %#v", *got.Email, *want.Email)
		}
	}
}

func testRoundTrip(t *testing.T, tg sqldbtest.Target) {
	s, ctx := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "acme")
	fixtures := []struct {
		c      notify.Channel
		sealed string
	}{
		{emailChannel(tn, "mail — ops"), "v1:smtp-password-sealed"},
		{webhookChannel(tn, "hook"), "v1:webhook-secret-sealed"},
		{slackChannel(tn, "slack #ops"), "v1:slack-url-sealed"},
		{webhookChannel(tn, "hook without secret"), ""},
	}
	var want []notify.Channel
	for i, f := range fixtures {
		mustValid(t, f.c)
		now := base + int64(i)
		created := create(t, s, f.c, f.sealed, now)
		if created.ID <= 0 || created.CreatedAt != now || created.UpdatedAt != now {
			t.Fatalf("CreateChannel %q answered id %d created %d updated %d", f.c.Name, created.ID, created.CreatedAt, created.UpdatedAt)
		}
		exp := f.c
		exp.ID, exp.CreatedAt, exp.UpdatedAt = created.ID, now, now
		same(t, "CreateChannel answer", created, exp)
		got, sealed := get(t, s, tn, created.ID)
		same(t, "GetChannel "+f.c.Name, got, exp)
		if sealed != f.sealed {
			t.Errorf("GetChannel %q sealed secret %q, want %q", f.c.Name, sealed, f.sealed)
		}
		want = append(want, exp)
	}
	list, err := s.ListChannels(ctx, tn)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(list, want) {
		t.Errorf("ListChannels:\n got  %+v\n want %+v", list, want)
	}
	// Settings of another kind are not stored; an empty recipient list
	// reads back as [], not nil.
	odd := emailChannel(tn, "odd")
	odd.Webhook, odd.Email.To = &notify.WebhookSettings{URL: "https://x/"}, nil
	created := create(t, s, odd, "", base)
	got, _ := get(t, s, tn, created.ID)
	if got.Webhook != nil || got.Email == nil || got.Email.To == nil || len(got.Email.To) != 0 {
		t.Errorf("odd channel read back as %+v (email %+v)", got, got.Email)
	}
	same(t, "CreateChannel answer of odd", created, got)
}

func testUpdateSecret(t *testing.T, tg sqldbtest.Target) {
	s, ctx := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "acme")
	c := create(t, s, emailChannel(tn, "mail"), "v1:first", base)

	c.Name, c.SendResolved, c.GroupWait, c.RepeatInterval = "mail renamed", true, 0, 24*time.Hour
	c.Email = &notify.EmailSettings{Host: "mx.example.org", Port: 25, Security: notify.SecurityPlain, To: []string{"a@example.org"}, From: "b@example.org"}
	if err := s.UpdateChannel(ctx, c, "", base+1000); err != nil {
		t.Fatalf("UpdateChannel keeping the secret: %v", err)
	}
	got, sealed := get(t, s, tn, c.ID)
	want := c
	want.UpdatedAt = base + 1000
	same(t, "after update", got, want)
	if sealed != "v1:first" {
		t.Errorf("secret after an update with none: %q, want the stored v1:first", sealed)
	}

	if err := s.UpdateChannel(ctx, c, "v1:second", base+2000); err != nil {
		t.Fatalf("UpdateChannel replacing the secret: %v", err)
	}
	got, sealed = get(t, s, tn, c.ID)
	if sealed != "v1:second" || got.UpdatedAt != base+2000 || got.CreatedAt != base {
		t.Errorf("after replacing the secret: %q, updated %d created %d", sealed, got.UpdatedAt, got.CreatedAt)
	}
}

func testUpdateKind(t *testing.T, tg sqldbtest.Target) {
	s, ctx := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "acme")
	c := create(t, s, emailChannel(tn, "ch"), "v1:smtp", base)
	w := webhookChannel(tn, "ch")
	w.ID, w.CreatedAt = c.ID, c.CreatedAt
	if err := s.UpdateChannel(ctx, w, "v1:hook", base+1); err != nil {
		t.Fatal(err)
	}
	got, sealed := get(t, s, tn, c.ID)
	w.UpdatedAt = base + 1
	same(t, "email channel turned webhook", got, w)
	if sealed != "v1:hook" {
		t.Errorf("sealed %q", sealed)
	}
}

// An update that changes nothing still succeeds (MariaDB counts no changed
// row), and an unknown id answers ErrNotFound.
func testUpdateUnchanged(t *testing.T, tg sqldbtest.Target) {
	s, ctx := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "acme")
	c := create(t, s, slackChannel(tn, "slack"), "v1:url", base)
	for i := range 2 {
		if err := s.UpdateChannel(ctx, c, "", base); err != nil {
			t.Fatalf("unchanged update %d: %v", i, err)
		}
	}
	c.ID += 1000
	if err := s.UpdateChannel(ctx, c, "", base); !errors.Is(err, notify.ErrNotFound) {
		t.Errorf("UpdateChannel of an unknown id: %v, want notify.ErrNotFound", err)
	}
}

func testIsolation(t *testing.T, tg sqldbtest.Target) {
	s, ctx := tg.Store, sqldbtest.Ctx(t)
	a, b := sqldbtest.MkTenant(t, s, "tenant-a"), sqldbtest.MkTenant(t, s, "tenant-b")
	ca := create(t, s, webhookChannel(a, "shared name"), "v1:a-secret", base)

	if _, sealed, err := s.GetChannel(ctx, b, ca.ID); !errors.Is(err, notify.ErrNotFound) || sealed != "" {
		t.Errorf("B GetChannel(A's): %q, %v, want notify.ErrNotFound and no secret", sealed, err)
	}
	steal := ca
	steal.TenantID, steal.Name = b, "stolen"
	if err := s.UpdateChannel(ctx, steal, "v1:b-secret", base+1); !errors.Is(err, notify.ErrNotFound) {
		t.Errorf("B UpdateChannel(A's): %v, want notify.ErrNotFound", err)
	}
	if err := s.DeleteChannel(ctx, b, ca.ID); !errors.Is(err, notify.ErrNotFound) {
		t.Errorf("B DeleteChannel(A's): %v, want notify.ErrNotFound", err)
	}
	if list, err := s.ListChannels(ctx, b); err != nil || list == nil || len(list) != 0 {
		t.Errorf("B ListChannels: %v, %v, want [] (not nil)", list, err)
	}
	if m, err := s.ChannelsByID(ctx, b, []int64{ca.ID}); err != nil || m == nil || len(m) != 0 {
		t.Errorf("B ChannelsByID(A's id): %v, %v, want an empty map", m, err)
	}
	// A's channel is untouched, and B may use the same name.
	got, sealed := get(t, s, a, ca.ID)
	same(t, "A's channel after B's attempts", got, ca)
	if sealed != "v1:a-secret" {
		t.Errorf("A's secret after B's attempts: %q", sealed)
	}
	cb := create(t, s, webhookChannel(b, "shared name"), "v1:b", base)
	if cb.ID == ca.ID {
		t.Fatal("same id")
	}
	if list, err := s.ListChannels(ctx, a); err != nil || len(list) != 1 || list[0].ID != ca.ID {
		t.Errorf("A ListChannels: %+v, %v", list, err)
	}
	if n := sqldbtest.Count(t, tg.DB, "notification_channels WHERE tenant_id <= 0"); n != 0 {
		t.Errorf("%d channels without a tenant", n)
	}
}

func testDuplicateName(t *testing.T, tg sqldbtest.Target) {
	s, ctx := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "acme")
	create(t, s, emailChannel(tn, "ops"), "v1:x", base)
	if _, err := s.CreateChannel(ctx, slackChannel(tn, "ops"), "v1:y", base); !errors.Is(err, notify.ErrDuplicateName) {
		t.Errorf("CreateChannel of a taken name: %v, want notify.ErrDuplicateName", err)
	}
	other := create(t, s, slackChannel(tn, "Ops"), "v1:y", base) // names are case-sensitive
	other.Name = "ops"
	if err := s.UpdateChannel(ctx, other, "", base+1); !errors.Is(err, notify.ErrDuplicateName) {
		t.Errorf("UpdateChannel to a taken name: %v, want notify.ErrDuplicateName", err)
	}
	if n := sqldbtest.Count(t, tg.DB, "notification_channels"); n != 2 {
		t.Errorf("%d channels, want 2", n)
	}
}

func testDelete(t *testing.T, tg sqldbtest.Target) {
	s, ctx := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "acme")
	keep := create(t, s, slackChannel(tn, "keep"), "v1:k", base)
	gone := create(t, s, emailChannel(tn, "gone"), "v1:g", base)
	if err := s.DeleteChannel(ctx, tn, gone.ID); err != nil {
		t.Fatalf("DeleteChannel: %v", err)
	}
	if _, _, err := s.GetChannel(ctx, tn, gone.ID); !errors.Is(err, notify.ErrNotFound) {
		t.Errorf("GetChannel after delete: %v, want notify.ErrNotFound", err)
	}
	if err := s.DeleteChannel(ctx, tn, gone.ID); !errors.Is(err, notify.ErrNotFound) {
		t.Errorf("DeleteChannel twice: %v, want notify.ErrNotFound", err)
	}
	if err := s.UpdateChannel(ctx, gone, "", base); !errors.Is(err, notify.ErrNotFound) {
		t.Errorf("UpdateChannel after delete: %v, want notify.ErrNotFound", err)
	}
	if list, err := s.ListChannels(ctx, tn); err != nil || len(list) != 1 || list[0].ID != keep.ID {
		t.Errorf("ListChannels after delete: %+v, %v", list, err)
	}
	// The name is free again.
	create(t, s, emailChannel(tn, "gone"), "", base)
}

func testChannelsByID(t *testing.T, tg sqldbtest.Target) {
	s, ctx := tg.Store, sqldbtest.Ctx(t)
	tn := sqldbtest.MkTenant(t, s, "acme")
	e := create(t, s, emailChannel(tn, "e"), "v1:e", base)
	w := create(t, s, webhookChannel(tn, "w"), "v1:w", base)
	create(t, s, slackChannel(tn, "s"), "v1:s", base)

	got, err := s.ChannelsByID(ctx, tn, []int64{w.ID, e.ID, w.ID, 999_999, -1})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]notify.Channel{e.ID: e, w.ID: w}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ChannelsByID:\n got  %+v\n want %+v", got, want)
	}
	for _, ids := range [][]int64{nil, {}} {
		if m, err := s.ChannelsByID(ctx, tn, ids); err != nil || m == nil || len(m) != 0 {
			t.Errorf("ChannelsByID(%v): %v, %v, want an empty map", ids, m, err)
		}
	}
	// More ids than one query takes.
	many := make([]int64, 1200)
	for i := range many {
		many[i] = int64(i + 1)
	}
	if m, err := s.ChannelsByID(ctx, tn, many); err != nil || len(m) != 3 {
		t.Errorf("ChannelsByID of 1200 ids: %d channels, %v, want 3", len(m), err)
	}
}
