package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"

	"code.dny.dev/ssrf"
)

// dialer connects the transport to a host:port. For anything not
// allowed it resolves the name itself and dials each address as a
// literal, so the address checked by control — on the socket, just before
// connect — is the one connected: a name that resolved to a public address
// for someone else a moment ago cannot swap in a private one now.
type dialer struct {
	policy Policy
	guard  *ssrf.Guardian
	net    net.Dialer
	// lookup resolves a name (net.DefaultResolver.LookupNetIP; tests
	// replace it to play a rebinding resolver).
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// passed runs in the Control hook after the guard let an address
	// through (nil in production; tests stop there before any packet is
	// sent, and see which address was checked).
	passed func(network, address string) error
}

func newDialer(p Policy) *dialer {
	d := &dialer{policy: p, guard: newGuard()}
	d.net = net.Dialer{Timeout: p.timeout(), Control: d.control}
	d.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
	return d
}

// control is the net.Dialer's Control hook: it sees the socket address
// about to be connected, whatever name led there.
func (d *dialer) control(network, address string, _ syscall.RawConn) error {
	if err := d.guard.Safe(network, address, nil); err != nil {
		return refusal(address, err)
	}
	if d.passed != nil {
		return d.passed(network, address)
	}
	return nil
}

func refusal(address string, err error) *dialRefusal {
	ap, perr := netip.ParseAddrPort(address)
	if perr != nil || !errors.Is(err, ssrf.ErrProhibitedIP) {
		return &dialRefusal{addr: address, reason: err.Error()}
	}
	return &dialRefusal{addr: address, ip: ap.Addr(), reason: describe(ap.Addr())}
}

// DialContext is the transport's dial.
func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	host = strings.ToLower(host)
	if d.policy.allows(net.JoinHostPort(host, port)) {
		var plain net.Dialer // exempt: no Control hook
		plain.Timeout = d.net.Timeout
		return plain.DialContext(ctx, network, addr)
	}
	pn, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("dial %s: bad port: %w", addr, err)
	}
	ips, err := d.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	var first error
	for _, ip := range ips {
		// A mapped ::ffff:a.b.c.d is dialled (and so checked) as the IPv4
		// address it maps, as the kernel would connect it.
		conn, err := d.net.DialContext(ctx, network, netip.AddrPortFrom(ip.Unmap(), uint16(pn)).String())
		if err == nil {
			return conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// resolve turns a host into the addresses to dial: a literal in any
// spelling is itself (so 2130706433 is dialled as 127.0.0.1, and refused,
// rather than sent to DNS), a name is looked up.
func (d *dialer) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	ip, literal, err := literalIP(host)
	if err != nil {
		return nil, &dialRefusal{addr: host, reason: err.Error()}
	}
	if literal {
		return []netip.Addr{ip}, nil
	}
	ips, err := d.lookup(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	return ips, nil
}
