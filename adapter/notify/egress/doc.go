// Package egress is the one HTTP client through which every notification
// (webhook, Slack) leaves Pulse. Channel URLs are typed by tenants, so a
// request to one is a request on a stranger's behalf from inside our
// network: the client refuses plain http, and refuses to connect to any
// address that is not on the public internet — loopback, RFC 1918,
// link-local (and so the cloud metadata address 169.254.169.254), CGNAT,
// 0.0.0.0/8, multicast, IPv6 loopback, ULA and link-local, IPv4-mapped IPv6.
//
// The address check happens in the dialer's Control hook, on the very
// socket address being connected, after the name was resolved: there is no
// earlier lookup whose answer a DNS rebinding could change. CheckURL is the
// save-time check of what can be known without resolving (scheme, literal
// IPs in any spelling); the dial-time check is the one that guarantees.
//
// Redirects are never followed (a public receiver could redirect to an
// internal one, and a webhook's answer is the receiver's, not a third
// party's), no proxy from the environment is used (the dial would go to the
// proxy and the check would mean nothing), bodies are read up to a cap and
// every request has a deadline.
//
// Policy.AllowHosts exempts exact host:port pairs from the scheme and
// address checks, for development and tests against receivers on loopback
// (PULSE_NOTIFY_ALLOW_HOSTS; ParseAllowHosts reads its value).
package egress
