package account_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/account"
)

var now = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func TestNormalizeEmail(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{" Ann@Example.COM ", "ann@example.com", true},
		{"a.b+c@sub.example.org", "a.b+c@sub.example.org", true},
		{"", "", false},
		{"no-at-sign", "", false},
		{"Ann <ann@example.com>", "", false},
		{"ann@localhost", "", false},
		{"@example.com", "", false},
		{strings.Repeat("a", 65) + "@example.com", "", false},
		{"a@" + strings.Repeat("b", 250) + ".com", "", false},
	}
	for _, c := range cases {
		got, err := account.NormalizeEmail(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q ok=%v", c.in, got, err, c.want, c.ok)
		}
		var ie *account.InvalidError
		if err != nil && (!errors.As(err, &ie) || ie.Field != "email") {
			t.Errorf("NormalizeEmail(%q): %v is not an InvalidError on email", c.in, err)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	cases := []struct {
		pw string
		ok bool
	}{
		{"correct horse", true},
		{"éééééééééé", true}, // 10 characters, 20 bytes
		{"short", false},
		{strings.Repeat("x", 1025), false},
		{"bad\xffutf8-password", false},
	}
	for _, c := range cases {
		if err := account.CheckPassword(c.pw); (err == nil) != c.ok {
			t.Errorf("CheckPassword(%q): %v, want ok=%v", c.pw, err, c.ok)
		}
	}
}

func TestNewUser(t *testing.T) {
	one := int64(1)
	zero := int64(0)
	cases := []struct {
		name   string
		tenant *int64
		role   account.Role
		super  bool
		field  string // "" = valid
	}{
		{"admin of a tenant", &one, account.RoleAdmin, false, ""},
		{"viewer of a tenant", &one, account.RoleViewer, false, ""},
		{"super-admin without tenant", nil, account.RoleAdmin, true, ""},
		{"no tenant, not super", nil, account.RoleAdmin, false, "tenant"},
		{"tenant zero", &zero, account.RoleAdmin, false, "tenant"},
		{"unknown role", &one, account.Role("owner"), false, "role"},
	}
	for _, c := range cases {
		u, err := account.NewUser("A@Example.com", c.tenant, c.role, c.super, now)
		var ie *account.InvalidError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.field == "" && u.Email != "a@example.com":
			t.Errorf("%s: email %q", c.name, u.Email)
		case c.field != "" && (!errors.As(err, &ie) || ie.Field != c.field):
			t.Errorf("%s: %v, want an InvalidError on %s", c.name, err, c.field)
		}
	}
}

func TestParseRole(t *testing.T) {
	for in, want := range map[string]account.Role{"": account.RoleAdmin, "admin": account.RoleAdmin, "viewer": account.RoleViewer} {
		if got, err := account.ParseRole(in); err != nil || got != want {
			t.Errorf("ParseRole(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := account.ParseRole("root"); err == nil {
		t.Error("ParseRole(root) accepted")
	}
	if account.RoleViewer.CanChange() || !account.RoleAdmin.CanChange() {
		t.Error("CanChange: only admins change")
	}
}

func TestSessionExpiry(t *testing.T) {
	s := account.NewSession(account.HashSessionID("x"), 1, "1.2.3.4", now)
	cases := []struct {
		name     string
		lastSeen time.Time
		at       time.Time
		expired  bool
	}{
		{"fresh", now, now.Add(time.Minute), false},
		{"idle just under 12 h", now, now.Add(account.IdleTimeout - time.Second), false},
		{"idle 12 h", now, now.Add(account.IdleTimeout), true},
		{"active but past 7 days", now.Add(7*24*time.Hour - time.Hour), now.Add(account.AbsoluteTimeout), true},
		{"active at 6 days", now.Add(6 * 24 * time.Hour), now.Add(6*24*time.Hour + time.Hour), false},
	}
	for _, c := range cases {
		s.LastSeenAt = c.lastSeen
		if got := s.Expired(c.at); got != c.expired {
			t.Errorf("%s: Expired = %v, want %v", c.name, got, c.expired)
		}
	}
	s.LastSeenAt = now
	if s.TouchDue(now.Add(30*time.Second)) || !s.TouchDue(now.Add(time.Minute)) {
		t.Error("TouchDue: once a minute")
	}
	if account.HashSessionID("a") == account.HashSessionID("b") {
		t.Error("hashes collide")
	}
}
