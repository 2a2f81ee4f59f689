package exportlink_test

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/export/exportlink"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func TestLink(t *testing.T) {
	s, err := exportlink.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	q, err := url.ParseQuery(s.Query(42, 7, now.Add(exportlink.DefaultTTL)))
	if err != nil {
		t.Fatal(err)
	}
	exp, sig := q.Get("exp"), q.Get("sig")
	other, _ := exportlink.NewSigner([]byte("another key of the same length!!"))
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"valid", s.Check(42, 7, exp, sig, now), nil},
		{"just before expiry", s.Check(42, 7, exp, sig, now.Add(exportlink.DefaultTTL-time.Second)), nil},
		{"at expiry", s.Check(42, 7, exp, sig, now.Add(exportlink.DefaultTTL)), exportlink.ErrExpired},
		{"another export", s.Check(43, 7, exp, sig, now), exportlink.ErrForged},
		{"another tenant", s.Check(42, 8, exp, sig, now), exportlink.ErrForged},
		{"a later expiry", s.Check(42, 7, "9999999999", sig, now), exportlink.ErrForged},
		{"another key", other.Check(42, 7, exp, sig, now), exportlink.ErrForged},
		{"a bad signature", s.Check(42, 7, exp, "!!", now), exportlink.ErrForged},
		{"no signature", s.Check(42, 7, exp, "", now), exportlink.ErrForged},
		{"a bad expiry", s.Check(42, 7, "soon", sig, now), exportlink.ErrForged},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) || (c.want == nil && c.err != nil) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
	if _, err := exportlink.NewSigner([]byte("short")); err == nil {
		t.Error("a short key was accepted")
	}
}
