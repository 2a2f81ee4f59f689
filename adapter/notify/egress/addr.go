package egress

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"code.dny.dev/ssrf"
)

// newGuard is the address policy: the IANA special-purpose registries
// (loopback, RFC 1918, link-local, CGNAT, 0.0.0.0/8, multicast, reserved,
// documentation...) and, for IPv6, everything outside global unicast
// 2000::/3 (loopback, ULA, link-local, IPv4-mapped, NAT64). Any port: a
// receiver on https://hooks.example.com:8443 is as public as one on 443,
// and the danger this guards against is the address, not the port.
func newGuard() *ssrf.Guardian { return ssrf.New(ssrf.WithAnyPort()) }

// literalIP reads host as an IP address in any spelling that a resolver
// (inet_aton, and browsers after it) accepts: besides the usual forms,
// IPv4 of one to four parts, each decimal, octal (leading 0) or hex (0x),
// the last filling the remaining bytes — 2130706433, 0177.0.0.1,
// 0x7f000001 and 127.1 are all 127.0.0.1. literal is false for a name. A
// host that ends in a number but is no address is an error, as in the URL
// standard: no top-level domain is numeric, and a resolver's guess at such
// a host is exactly what an attacker would exploit.
func literalIP(host string) (ip netip.Addr, literal bool, err error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a, true, nil
	}
	if strings.Contains(host, ":") {
		return netip.Addr{}, false, fmt.Errorf("%q is not a valid IPv6 address", host)
	}
	parts := strings.Split(strings.TrimSuffix(host, "."), ".")
	if !isNumber(parts[len(parts)-1]) {
		return netip.Addr{}, false, nil
	}
	bad := fmt.Errorf("%q ends in a number but is not an IPv4 address", host)
	if len(parts) > 4 {
		return netip.Addr{}, false, bad
	}
	var v uint64
	for i, p := range parts {
		n, ok := parseNumber(p)
		last := i == len(parts)-1
		if !ok || (!last && n > 0xff) || (last && n >= 1<<(8*(5-len(parts)))) {
			return netip.Addr{}, false, bad
		}
		if last {
			v = v<<(8*(5-len(parts))) | n
		} else {
			v = v<<8 | n
		}
	}
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(v))
	return netip.AddrFrom4(b), true, nil
}

// isNumber reports whether a host label reads as a number (decimal, or
// hex after 0x), whatever its value.
func isNumber(label string) bool {
	digits, hex := label, false
	if len(label) >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X') {
		digits, hex = label[2:], true
	}
	if digits == "" {
		return hex // "0x" alone is zero
	}
	for _, c := range digits {
		if !('0' <= c && c <= '9' || hex && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F')) {
			return false
		}
	}
	return true
}

func parseNumber(label string) (uint64, bool) {
	base := 10
	switch {
	case len(label) >= 2 && (label[:2] == "0x" || label[:2] == "0X"):
		label, base = label[2:], 16
		if label == "" {
			return 0, true
		}
	case len(label) > 1 && label[0] == '0':
		label, base = label[1:], 8
	}
	n, err := strconv.ParseUint(label, base, 32)
	return n, err == nil
}

var (
	metadataV4 = netip.MustParseAddr("169.254.169.254")
	metadataV6 = netip.MustParseAddr("fd00:ec2::254")
	cgnat      = netip.MustParsePrefix("100.64.0.0/10")
	thisNet    = netip.MustParsePrefix("0.0.0.0/8")
	nat64      = ssrf.IPv6NAT64Prefix
)

// describe names why ip is not public, for the error a person reads.
func describe(ip netip.Addr) string {
	ip = ip.WithZone("")
	switch {
	case ip.Is4In6():
		return "an IPv4-mapped IPv6 address"
	case ip == metadataV4 || ip == metadataV6:
		return "the cloud metadata address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsUnspecified() || thisNet.Contains(ip):
		return "a \"this network\" address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case ip.IsMulticast():
		return "a multicast address"
	case ip.IsPrivate() && ip.Is4():
		return "a private (RFC 1918) address"
	case ip.IsPrivate():
		return "a unique local address"
	case cgnat.Contains(ip):
		return "a shared (CGNAT) address"
	case nat64.Contains(ip):
		return "a NAT64 address"
	}
	return "not a public address"
}
