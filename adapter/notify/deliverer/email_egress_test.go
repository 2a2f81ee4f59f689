package deliverer_test

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/notify/deliverer"
	"github.com/pulsemetrics/pulse/adapter/notify/egress"
	"github.com/pulsemetrics/pulse/domain/notify"
)

// An email channel's SMTP host is dialled through the egress policy, as a
// webhook's URL is: Check refuses at save time what the dial would refuse
// for certain (an internal address, a loopback name), naming email.host,
// and plain SMTP to loopback is deliverable only when its host:port is
// allowed (PULSE_NOTIFY_ALLOW_HOSTS), so only then does Check pass it.
func TestCheckEmailHostEgress(t *testing.T) {
	d := deliverer.New(egress.Policy{AllowHosts: []string{"127.0.0.1:2525", "10.9.9.9:587"}})
	mail := func(host string, port int, sec notify.Security) notify.Channel {
		c := emailChannel(host, port)
		c.Email.Security = sec
		return c
	}
	cases := []struct {
		name  string
		ch    notify.Channel
		field string
	}{
		{"starttls to a private address", mail("10.1.2.3", 587, notify.SecuritySTARTTLS), "email.host"},
		{"tls to the metadata address", mail("169.254.169.254", 465, notify.SecurityTLS), "email.host"},
		{"starttls to IPv6 loopback", mail("::1", 587, notify.SecuritySTARTTLS), "email.host"},
		{"starttls to decimal loopback", mail("2130706433", 587, notify.SecuritySTARTTLS), "email.host"},
		{"plain to loopback, not allowed", mail("127.0.0.1", 25, notify.SecurityPlain), "email.host"},
		{"plain to localhost, not allowed", mail("localhost", 25, notify.SecurityPlain), "email.host"},
		{"plain to allowed loopback", mail("127.0.0.1", 2525, notify.SecurityPlain), ""},
		{"starttls to an allowed private address", mail("10.9.9.9", 587, notify.SecuritySTARTTLS), ""},
		{"starttls to a name", mail("smtp.example.com", 587, notify.SecuritySTARTTLS), ""},
		{"tls to a public address", mail("8.8.8.8", 465, notify.SecurityTLS), ""},
	}
	for _, c := range cases {
		err := d.Check(c.ch, "")
		if f := checkField(t, err); f != c.field {
			t.Errorf("%s: Check = %v; want field %q", c.name, err, c.field)
		}
	}
}

// A destination the policy refuses is final, as for a webhook: retrying
// will not make 10.1.2.3 public.
func TestEmailRefusedAddressIsFinal(t *testing.T) {
	d := deliverer.New(egress.Policy{Timeout: 3 * time.Second})
	ln, conns := countingListener(t)
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	port, _ := strconv.Atoi(p)
	for _, ch := range []notify.Channel{
		emailChannel("10.1.2.3", 587),
		emailChannel("127.0.0.1", port), // plain to loopback, but not an allowed host:port
	} {
		ch.Email.Security = notify.SecuritySTARTTLS
		res, err := d.Deliver(t.Context(), ch, "", firing())
		var refused *egress.RefusedError
		if !errors.As(err, &refused) || res.Retryable || res.Delivered {
			t.Errorf("%s:%d: Deliver = %+v, %v; want a final *egress.RefusedError", ch.Email.Host, ch.Email.Port, res, err)
		} else if !strings.HasPrefix(refused.URL, "smtp://") {
			t.Errorf("refusal names %q, want the smtp:// server", refused.URL)
		}
		ch.Email.Security = notify.SecurityPlain
		if res, err := d.Deliver(t.Context(), ch, "", firing()); err == nil || res.Retryable || res.Delivered {
			t.Errorf("%s:%d plain: Deliver = %+v, %v; want a final error", ch.Email.Host, ch.Email.Port, res, err)
		}
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("%d connections reached the loopback listener", n)
	}
}

// A name that resolves to loopback passes Check; its dial is refused, and
// that refusal is final too, not a network failure to retry.
func TestEmailDialRefusalIsFinal(t *testing.T) {
	name := loopbackName(t)
	ln, conns := countingListener(t)
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	port, _ := strconv.Atoi(p)
	d := deliverer.New(egress.Policy{Timeout: 3 * time.Second})
	ch := emailChannel(name, port)
	ch.Email.Security = notify.SecuritySTARTTLS
	if err := d.Check(ch, ""); err != nil {
		t.Fatalf("Check: %v (a name is checked when dialled)", err)
	}
	res, err := d.Deliver(t.Context(), ch, "", firing())
	if err == nil || res.Retryable || res.Delivered {
		t.Errorf("Deliver = %+v, %v; want a final error", res, err)
	}
	if !strings.Contains(res.Answer, "a loopback address") {
		t.Errorf("Answer %q does not say why", res.Answer)
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("%d connections reached the loopback listener", n)
	}
}
