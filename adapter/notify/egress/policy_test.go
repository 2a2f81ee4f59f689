package egress

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestCheckURL(t *testing.T) {
	p := Policy{AllowHosts: []string{"127.0.0.1:8080", "LocalHost:9000", "[::1]:7000"}}
	cases := []struct {
		url    string
		reason string // "" when accepted; else a part of the refusal's reason
	}{
		{"https://hooks.example.com/services/T0/B0/secret", ""},
		{"https://hooks.example.com:8443/x", ""},
		{"HTTPS://Hooks.Example.com/x", ""},
		{"https://8.8.8.8/x", ""},
		{"https://[2606:4700:4700::1111]/x", ""},
		{"https://internal.corp/x", ""}, // a name: checked when dialled

		{"http://hooks.example.com/x", "https"},
		{"ftp://hooks.example.com/x", "https"},
		{"javascript:alert(1)", "https"},
		{"hooks.example.com/x", "https"},
		{"https:///x", "no host"},
		{"https:hooks.example.com", "no host"},
		{"https://hooks.example.com:0/", "port"},
		{"https://hooks.example.com:70000/", "port"},
		{"://x", "not a valid URL"},

		{"https://127.0.0.1/", "loopback"},
		{"https://127.255.255.254/", "loopback"},
		{"https://10.1.2.3/", "RFC 1918"},
		{"https://172.16.0.1/", "RFC 1918"},
		{"https://172.31.255.255/", "RFC 1918"},
		{"https://192.168.1.1/", "RFC 1918"},
		{"https://169.254.169.254/latest/meta-data/", "metadata"},
		{"https://169.254.1.1/", "link-local"},
		{"https://100.64.0.1/", "CGNAT"},
		{"https://100.127.255.255/", "CGNAT"},
		{"https://0.0.0.0/", "this network"},
		{"https://0.1.2.3/", "this network"},
		{"https://224.0.0.1/", "multicast"},
		{"https://239.255.255.250/", "multicast"},
		{"https://255.255.255.255/", "not a public"},
		{"https://[::1]/", "loopback"},
		{"https://[::]/", "this network"},
		{"https://[fc00::1]/", "unique local"},
		{"https://[fd12:3456::1]/", "unique local"},
		{"https://[fe80::1]/", "link-local"},
		{"https://[fe80::1%25eth0]/", "link-local"},
		{"https://[ff02::1]/", "multicast"},
		{"https://[fd00:ec2::254]/", "metadata"},
		{"https://[::ffff:127.0.0.1]/", "IPv4-mapped"},
		{"https://[::ffff:7f00:1]/", "IPv4-mapped"},
		{"https://[::ffff:169.254.169.254]/", "IPv4-mapped"},
		{"https://[::ffff:8.8.8.8]/", "IPv4-mapped"},
		{"https://[64:ff9b::7f00:1]/", "NAT64"},

		// Spellings a resolver reads as 127.0.0.1 or 169.254.169.254.
		{"http://2130706433/", "https"}, // the scheme is refused first...
		{"https://2130706433/", "127.0.0.1 is a loopback"},
		{"https://0177.0.0.1/", "127.0.0.1 is a loopback"},
		{"https://0x7f.0.0.1/", "127.0.0.1 is a loopback"},
		{"https://0x7f000001/", "127.0.0.1 is a loopback"},
		{"https://0X7F000001/", "127.0.0.1 is a loopback"},
		{"https://017700000001/", "127.0.0.1 is a loopback"},
		{"https://127.1/", "127.0.0.1 is a loopback"},
		{"https://127.0.1/", "127.0.0.1 is a loopback"},
		{"https://127.0.0.1./", "127.0.0.1 is a loopback"},
		{"https://0251.0376.0251.0376/", "169.254.169.254 is the cloud metadata"},
		{"https://2852039166/", "169.254.169.254 is the cloud metadata"},
		{"https://0/", "0.0.0.0 is a \"this network\""},
		{"https://0x/", "0.0.0.0 is a \"this network\""},
		// Numeric hosts that are no address are refused rather than guessed at.
		{"https://1.2.3.4.5/", "not an IPv4 address"},
		{"https://256.0.0.1/", "not an IPv4 address"},
		{"https://4294967296/", "not an IPv4 address"},
		{"https://08.0.0.1/", "not an IPv4 address"},
		{"https://example.123/", "not an IPv4 address"},
		{"https://[::ffff:0177.0.0.1]/", "not"},

		{"https://localhost/", "loopback name"},
		{"https://LOCALHOST:8443/", "loopback name"},
		{"https://api.localhost/", "loopback name"},

		// Allowed host:port pairs skip the scheme and address checks, for
		// exactly that pair.
		{"http://127.0.0.1:8080/hook", ""},
		{"https://127.0.0.1:8080/hook", ""},
		{"http://127.0.0.1:8081/hook", "https"},
		{"https://127.0.0.1:8081/hook", "loopback"},
		{"http://localhost:9000/", ""},
		{"http://LOCALHOST:9000/", ""},
		{"http://localhost:9001/", "https"},
		{"http://127.0.0.1:9000/", "https"},
		{"http://[::1]:7000/", ""},
		{"http://[::1]:7001/", "https"},
	}
	for _, c := range cases {
		err := p.CheckURL(c.url)
		if c.reason == "" {
			if err != nil {
				t.Errorf("CheckURL(%q) = %v, want accepted", c.url, err)
			}
			continue
		}
		var re *RefusedError
		if !errors.As(err, &re) {
			t.Errorf("CheckURL(%q) = %v, want a *RefusedError", c.url, err)
			continue
		}
		if !strings.Contains(re.Reason, c.reason) {
			t.Errorf("CheckURL(%q) reason %q, want it to mention %q", c.url, re.Reason, c.reason)
		}
	}
}

func TestRefusedErrorHidesThePath(t *testing.T) {
	err := Policy{}.CheckURL("http://user:pw@hooks.example.com:8443/services/T0/B0/s3cret?token=x")
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a refusal", err)
	}
	if re.URL != "http://hooks.example.com:8443" {
		t.Errorf("URL = %q, want scheme, host and port only", re.URL)
	}
	for _, secret := range []string{"s3cret", "token", "pw"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q shows %q", err, secret)
		}
	}
	err = Policy{}.CheckURL("https://h\x7f/s3cret")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("unparsable URL: %v, want a refusal that does not quote it", err)
	}
}

func TestLiteralIP(t *testing.T) {
	cases := map[string]string{ // host -> address, "" for a name
		"127.0.0.1":        "127.0.0.1",
		"2130706433":       "127.0.0.1",
		"0177.0.0.01":      "127.0.0.1",
		"0x7F.1":           "127.0.0.1",
		"127.65535":        "127.0.255.255",
		"10.0x10.0377":     "10.16.0.255",
		"1.2.3":            "1.2.0.3",
		"::ffff:127.0.0.1": "::ffff:127.0.0.1",
		"example.com":      "",
		"0x7f.example":     "",
		"1e10":             "", // not a number in any base: a name
		"xn--bcher-kva.ch": "",
	}
	for host, want := range cases {
		ip, literal, err := literalIP(host)
		if err != nil {
			t.Errorf("literalIP(%q): %v", host, err)
			continue
		}
		if want == "" {
			if literal {
				t.Errorf("literalIP(%q) = %v, want a name", host, ip)
			}
			continue
		}
		if !literal || ip != netip.MustParseAddr(want) {
			t.Errorf("literalIP(%q) = %v %v, want %s", host, ip, literal, want)
		}
	}
}

func TestParseAllowHosts(t *testing.T) {
	got, err := ParseAllowHosts(" 127.0.0.1:8080, LocalHost:9000 [::1]:7000,,")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.1:8080", "localhost:9000", "[::1]:7000"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, err := ParseAllowHosts(""); err != nil || len(got) != 0 {
		t.Errorf("empty: %q %v", got, err)
	}
	for _, bad := range []string{"localhost", "127.0.0.1", ":8080", "localhost:http", "localhost:0", "localhost:65536", "http://localhost:80"} {
		if _, err := ParseAllowHosts(bad); err == nil {
			t.Errorf("ParseAllowHosts(%q) accepted, want an error", bad)
		}
	}
}
