package egress

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// errStopped is what the tests' Control hook answers after the guard let
// an address through: the dial stops before connect, so no test sends a
// packet anywhere but loopback.
var errStopped = errors.New("test: stopped before connect")

// probe is a client whose resolver answers from a script and whose dials
// stop right after the address check, recording what was checked.
type probe struct {
	*Client
	mu      sync.Mutex
	lookups int
	checked []string // addresses the guard let through
}

func newProbe(t *testing.T, p Policy, answers ...[]string) *probe {
	t.Helper()
	pr := &probe{Client: NewClient(p)}
	pr.dialer.lookup = func(_ context.Context, host string) ([]netip.Addr, error) {
		pr.mu.Lock()
		defer pr.mu.Unlock()
		if pr.lookups >= len(answers) {
			t.Errorf("unexpected lookup %d of %s", pr.lookups+1, host)
			return nil, errors.New("no scripted answer")
		}
		var ips []netip.Addr
		for _, a := range answers[pr.lookups] {
			ips = append(ips, netip.MustParseAddr(a))
		}
		pr.lookups++
		return ips, nil
	}
	pr.dialer.passed = func(_, address string) error {
		pr.mu.Lock()
		defer pr.mu.Unlock()
		pr.checked = append(pr.checked, address)
		return errStopped
	}
	return pr
}

func (pr *probe) get(t *testing.T, url string) error {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pr.Do(req)
	return err
}

// The addresses a hostile name may resolve to: each is refused when
// dialled, through the whole client, with the reason named.
func TestDialRefusesNonPublicAddresses(t *testing.T) {
	cases := map[string]string{
		"127.0.0.1":        "loopback",
		"127.8.9.10":       "loopback",
		"10.0.0.1":         "RFC 1918",
		"172.16.5.4":       "RFC 1918",
		"192.168.0.1":      "RFC 1918",
		"169.254.169.254":  "metadata",
		"169.254.10.10":    "link-local",
		"100.64.0.1":       "CGNAT",
		"0.0.0.0":          "this network",
		"0.255.255.255":    "this network",
		"224.0.0.251":      "multicast",
		"239.1.1.1":        "multicast",
		"240.0.0.1":        "not a public",
		"::1":              "loopback",
		"fc00::1":          "unique local",
		"fd00::abcd":       "unique local",
		"fe80::1":          "link-local",
		"ff05::2":          "multicast",
		"fd00:ec2::254":    "metadata",
		"64:ff9b::a00:1":   "NAT64",
		"::ffff:127.0.0.1": "127.0.0.1, a loopback", // dialled as the IPv4 it maps
		"::ffff:10.0.0.1":  "10.0.0.1, a private",
	}
	for addr, reason := range cases {
		t.Run(addr, func(t *testing.T) {
			pr := newProbe(t, Policy{}, []string{addr})
			err := pr.get(t, "https://hooks.attacker.example/x")
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("got %v, want a *RefusedError", err)
			}
			if !strings.Contains(re.Reason, "hooks.attacker.example resolves to") || !strings.Contains(re.Reason, reason) {
				t.Errorf("reason %q, want the name, the address and %q", re.Reason, reason)
			}
			if len(pr.checked) != 0 {
				t.Errorf("the guard let %v through", pr.checked)
			}
		})
	}
}

// Literal hosts in every spelling are refused by the dialer too, not only
// by CheckURL: the dialer reads them as the resolver would, and never
// sends them to DNS.
func TestDialRefusesLiteralSpellings(t *testing.T) {
	for _, host := range []string{
		"127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "127.1",
		"0251.0376.0251.0376", "2852039166", "10.1", "0", "[::1]", "[::ffff:127.0.0.1]", "[fe80::1%25lo]",
		"1.2.3.4.5", "999.1.1.1",
	} {
		t.Run(host, func(t *testing.T) {
			pr := newProbe(t, Policy{})
			_, err := pr.dialer.DialContext(t.Context(), "tcp", host+":443")
			var r *dialRefusal
			if !errors.As(err, &r) {
				t.Fatalf("got %v, want a refusal", err)
			}
			if pr.lookups != 0 || len(pr.checked) != 0 {
				t.Errorf("lookups %d, let through %v", pr.lookups, pr.checked)
			}
		})
	}
}

// Hosts that only become an address on the way to the dialer — the
// transport maps Unicode hosts to ASCII (IDNA), and fullwidth digits to
// digits — may pass CheckURL as names; they are refused when dialled.
func TestDialRefusesHostsMappedByIDNA(t *testing.T) {
	for _, u := range []string{"https://１２７.０.０.１/", "https://①②⑦.1/", "https://１６９.２５４.１６９.２５４/latest"} {
		pr := newProbe(t, Policy{})
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = nil // and a hand-made request without headers is fine
		_, err = pr.Do(req)
		if !isRefused(err) || len(pr.checked) != 0 || pr.lookups != 0 {
			t.Errorf("%s: %v (let through %v, %d lookups), want refused as a literal", u, err, pr.checked, pr.lookups)
		}
	}
}

// A real name, resolved by the real resolver: localhost is 127.0.0.1,
// and a server listening there receives nothing.
func TestDialRefusesLocalhostByResolution(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	port := strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	c := NewClient(Policy{})
	// Past CheckURL's refusal by name, straight to the dialer.
	_, err := c.dialer.DialContext(t.Context(), "tcp", "localhost:"+port)
	var r *dialRefusal
	if !errors.As(err, &r) || r.ip != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("got %v, want localhost refused as 127.0.0.1", err)
	}
	// And through the client: refused before anything is sent.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://localhost:"+port+"/hook", strings.NewReader("{}"))
	if _, err := c.Do(req); !isRefused(err) {
		t.Errorf("Do: %v, want a refusal", err)
	}
	if hits.Load() != 0 {
		t.Errorf("the server received %d requests", hits.Load())
	}
}

// DNS rebinding: the name answers a public address the first time and
// 127.0.0.1 the next. Nothing checks the first answer and dials the
// second: the Control hook checks the socket address being connected, so
// each dial is judged on the address it connects.
func TestRebindingIsJudgedOnTheDialledAddress(t *testing.T) {
	pr := newProbe(t, Policy{}, []string{"93.184.215.14"}, []string{"127.0.0.1"})

	err := pr.get(t, "https://rebind.example/hook")
	if !errors.Is(err, errStopped) {
		t.Fatalf("first request: %v, want the public address let through (and stopped by the test)", err)
	}
	if len(pr.checked) != 1 || pr.checked[0] != "93.184.215.14:443" {
		t.Fatalf("Control checked %v, want exactly the address the lookup answered", pr.checked)
	}

	err = pr.get(t, "https://rebind.example/hook")
	var re *RefusedError
	if !errors.As(err, &re) || !strings.Contains(re.Reason, "rebind.example resolves to 127.0.0.1, a loopback address") {
		t.Fatalf("second request: %v, want the rebound address refused", err)
	}
	if len(pr.checked) != 1 || pr.lookups != 2 {
		t.Errorf("checked %v after %d lookups: the rebound address got through", pr.checked, pr.lookups)
	}
}

// A name answering a public and a private address: each is judged on its
// own; the private one is never connected.
func TestEveryResolvedAddressIsChecked(t *testing.T) {
	pr := newProbe(t, Policy{}, []string{"10.0.0.5", "93.184.215.14", "::1"})
	err := pr.get(t, "https://mixed.example/")
	if !isRefused(err) {
		t.Errorf("got %v, want the first address's refusal reported", err)
	}
	if len(pr.checked) != 1 || pr.checked[0] != "93.184.215.14:443" {
		t.Errorf("let through %v, want only the public address", pr.checked)
	}
}

func isRefused(err error) bool {
	var re *RefusedError
	return errors.As(err, &re)
}
