package egress

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// FuzzCheckURL: whatever a tenant types, CheckURL does not panic, accepts
// only https to a name or a public literal, and never quotes the URL's
// path or query in its refusal.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{
		"https://hooks.example.com/a?b=c", "http://2130706433/", "https://0177.0.0.1/x", "https://[::ffff:127.0.0.1]/",
		"https://0x7f.1/", "https://1.2.3.4.5/", "https://[fe80::1%25eth0]/", "https://localhost./", "https://h\x7f/p",
		"https://user:pw@8.8.8.8:8443/secret", "https://%31%32%37.0.0.1/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := Policy{}.CheckURL(raw)
		u, perr := url.Parse(raw)
		if err == nil {
			if perr != nil || !strings.EqualFold(u.Scheme, "https") {
				t.Fatalf("accepted %q", raw)
			}
			if ip, literal, lerr := literalIP(strings.ToLower(u.Hostname())); lerr != nil || literal && newGuard().SafeAddr(ip) != nil {
				t.Fatalf("accepted %q with host %v", raw, ip)
			}
			return
		}
		var re *RefusedError
		if !errors.As(err, &re) {
			t.Fatalf("%q: %v is not a RefusedError", raw, err)
		}
		if perr != nil {
			if re.URL != unparsable {
				t.Fatalf("%q: unparsable, but the refusal names %q", raw, re.URL)
			}
			return
		}
		if re.URL != redact(u) || strings.ContainsAny(re.URL, "?#@") {
			t.Fatalf("%q: refusal names %q, not the redacted %q", raw, re.URL, redact(u))
		}
		if q := u.Query().Encode(); len(q) > 8 && strings.Contains(err.Error(), q) {
			t.Fatalf("%q: refusal %q quotes the query", raw, err)
		}
	})
}

// FuzzLiteralIP: an address read from a host reads back the same from its
// canonical form, and canonical forms are always literals.
func FuzzLiteralIP(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.1", "1.2.3", "0x", "08", "::1", "a.b", "1.2.3.4."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		ip, literal, err := literalIP(host)
		if err != nil || !literal {
			return
		}
		again, literal, err := literalIP(ip.String())
		if err != nil || !literal || again != ip {
			t.Fatalf("%q -> %v -> %v %v %v", host, ip, again, literal, err)
		}
	})
}
