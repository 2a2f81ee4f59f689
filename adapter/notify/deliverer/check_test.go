package deliverer_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/notify/deliverer"
	"github.com/pulsemetrics/pulse/adapter/notify/egress"
	"github.com/pulsemetrics/pulse/domain/notify"
)

// checkField is the one field Check's error names ("" for nil).
func checkField(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var inv *notify.InvalidChannelError
	if !errors.As(err, &inv) {
		t.Fatalf("Check error %T %v is not an *notify.InvalidChannelError", err, err)
	}
	if len(inv.Fields) != 1 {
		t.Errorf("Check names %d fields: %v", len(inv.Fields), inv.Fields)
	}
	for f := range inv.Fields {
		return f
	}
	return ""
}

// The save-time SSRF table: what can be refused without resolving a name.
func TestCheckWebhookURL(t *testing.T) {
	d := deliverer.New(egress.Policy{AllowHosts: []string{"127.0.0.1:8080", "Receiver.Internal:8443"}})
	refused := []string{
		"https://127.0.0.1/",
		"https://localhost/",
		"https://api.localhost/",
		"https://10.1.2.3/",
		"https://172.16.0.1/",
		"https://192.168.1.1/",
		"https://169.254.169.254/latest/meta-data",
		"https://100.64.0.1/",
		"https://0.0.0.0/",
		"https://224.0.0.1/",
		"https://[::1]/",
		"https://[fd00::1]/",
		"https://[fe80::1]/",
		"https://[::ffff:127.0.0.1]/",
		"https://2130706433/",
		"https://0177.0.0.1/",
		"https://0x7f000001/",
		"https://127.1/",
		"http://example.com/",
		"http://127.0.0.1:8081/", // allowed is exactly that port
		"ftp://example.com/",
		"https://1.2.3.4.5/",
	}
	for _, u := range refused {
		err := d.Check(webhookChannel(u), newSecret(t))
		if f := checkField(t, err); f != "webhook.url" {
			t.Errorf("Check(%s) = %v; want an error on webhook.url", u, err)
		}
		if err != nil && strings.Contains(err.Error(), "meta-data") {
			t.Errorf("Check(%s): error %q shows the URL's path", u, err)
		}
	}
	allowed := []string{
		"https://example.com/hook",
		"https://hooks.example.com:8443/x?token=1",
		"https://8.8.8.8/",
		"http://127.0.0.1:8080/hook",     // allowed host:port, plain http
		"http://receiver.internal:8443/", // allowed, whatever its case
	}
	for _, u := range allowed {
		if err := d.Check(webhookChannel(u), newSecret(t)); err != nil {
			t.Errorf("Check(%s) = %v; want nil", u, err)
		}
	}
}

// A Slack channel's URL is its secret, checked as a webhook's URL is.
func TestCheckSlackURL(t *testing.T) {
	d := deliverer.New(egress.Policy{AllowHosts: []string{"127.0.0.1:8080"}})
	for _, u := range []string{"https://10.0.0.1/services/T/B/SECRET", "https://169.254.169.254/services/T/B/SECRET",
		"http://hooks.slack.com/services/T/B/SECRET", "", "not a url"} {
		err := d.Check(slackChannel(), u)
		if f := checkField(t, err); f != "slack.url" {
			t.Errorf("Check(slack %q) = %v; want an error on slack.url", u, err)
		}
		if err != nil && strings.Contains(err.Error(), "SECRET") {
			t.Errorf("Check(slack %q): error %q shows the secret", u, err)
		}
	}
	for _, u := range []string{"https://hooks.slack.com/services/T000/B000/XXXX", "http://127.0.0.1:8080/services/T/B/X"} {
		if err := d.Check(slackChannel(), u); err != nil {
			t.Errorf("Check(slack %s) = %v; want nil", u, err)
		}
	}
}

func TestCheckEmailPlain(t *testing.T) {
	d := deliverer.New(egress.Policy{AllowHosts: []string{"relay.internal:25", "127.0.0.1:2525"}})
	plain := func(host string, port int) notify.Channel { return emailChannel(host, port) }
	starttls := func(host string, port int) notify.Channel {
		c := emailChannel(host, port)
		c.Email.Security = notify.SecuritySTARTTLS
		return c
	}
	cases := []struct {
		name  string
		ch    notify.Channel
		field string
	}{
		{"plain to a public host", plain("smtp.example.com", 25), "email"},
		{"plain to an address", plain("8.8.8.8", 25), "email"},
		{"plain to an allowed host", plain("relay.internal", 25), ""},
		{"plain to allowed loopback", plain("127.0.0.1", 2525), ""},
		{"starttls to a public host", starttls("smtp.example.com", 587), ""},
	}
	for _, c := range cases {
		err := d.Check(c.ch, "")
		if f := checkField(t, err); f != c.field {
			t.Errorf("%s: Check = %v; want field %q", c.name, err, c.field)
		}
	}
	if err := d.Check(starttls("smtp.example.com", 587), "password-without-user"); checkField(t, err) != "email" {
		t.Errorf("a password without a username: Check = %v", err)
	}
}

// countingListener accepts on 127.0.0.1 and counts connections: "nothing
// received" is no TCP connection at all.
func countingListener(t *testing.T) (net.Listener, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			_ = c.Close()
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	return ln, &n
}

// loopbackName is a name the system resolver turns into loopback
// addresses only (not localhost, which CheckURL refuses by name): this
// machine's host name when /etc/hosts maps it to 127.0.0.1, or one of the
// public wildcard names when DNS answers. The test is skipped without one.
func loopbackName(t *testing.T) string {
	t.Helper()
	var names []string
	if h, err := os.Hostname(); err == nil && h != "" {
		names = append(names, h)
	}
	names = append(names, "localtest.me", "127.0.0.1.nip.io")
	for _, n := range names {
		if n == "localhost" || strings.HasSuffix(n, ".localhost") {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", n)
		cancel()
		if err != nil || len(ips) == 0 {
			continue
		}
		loop := true
		for _, ip := range ips {
			loop = loop && ip.Unmap().IsLoopback()
		}
		if loop {
			return n
		}
	}
	t.Skipf("no name resolves to loopback here (tried %v)", names)
	return ""
}

// A name passes the save-time check; what it resolves to is refused when
// dialled, finally, and nothing reaches it.
func TestDeliverRefusesNameResolvingToLoopback(t *testing.T) {
	name := loopbackName(t)
	ln, conns := countingListener(t)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	d := deliverer.New(egress.Policy{Timeout: 3 * time.Second})
	u := "https://" + net.JoinHostPort(name, port) + "/hook/SECRETPATH"
	if err := d.Check(webhookChannel(u), newSecret(t)); err != nil {
		t.Fatalf("Check(%s) = %v: a name is checked when dialled", u, err)
	}

	res, err := d.Deliver(t.Context(), webhookChannel(u), newSecret(t), firing())
	var refused *egress.RefusedError
	if !errors.As(err, &refused) || res.Retryable || res.Delivered {
		t.Errorf("webhook: Deliver = %+v, %v; want a final *egress.RefusedError", res, err)
	} else if !strings.Contains(refused.Reason, "loopback") || strings.Contains(err.Error(), "SECRETPATH") {
		t.Errorf("webhook: refusal %q", err)
	}

	res, err = d.Deliver(t.Context(), slackChannel(), u, firing())
	if !errors.As(err, &refused) || res.Retryable || res.Delivered {
		t.Errorf("slack: Deliver = %+v, %v; want a final *egress.RefusedError", res, err)
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("%d connections reached the loopback listener", n)
	}
}
