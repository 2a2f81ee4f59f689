package broker_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/pulsemetrics/pulse/adapter/mqtt/broker"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

const (
	connRefused = "pulse_mqtt_connections_refused_total"
	pubRefused  = "pulse_mqtt_publishes_refused_total"
)

func TestValidTokenPublishesToItsTenant(t *testing.T) {
	e := start(t, broker.Options{})
	user, pass := e.auth.issue(t, 1, "acme")
	c := e.mustDial(t, "dev-1", user, pass)

	publish(t, c, "metrics/acme/x", 1, `{"name":"cpu","value":1}`)

	if m := e.inbox.next(t); m.topic != "metrics/acme/x" || m.payload != `{"name":"cpu","value":1}` {
		t.Fatalf("delivered %+v", m)
	}
}

func TestAgentTopicWithArrayPayload(t *testing.T) {
	e := start(t, broker.Options{})
	user, pass := e.auth.issue(t, 1, "acme")
	c := e.mustDial(t, "agent-1", user, pass)
	payload := `[{"name":"cpu.load","value":0.42},{"name":"mem.used","value":12}]`

	publish(t, c, "metrics/acme/system/agent-1", 0, payload)

	if m := e.inbox.next(t); m.topic != "metrics/acme/system/agent-1" || m.payload != payload {
		t.Fatalf("delivered %+v", m)
	}
}

func TestConnectRefused(t *testing.T) {
	e := start(t, broker.Options{})
	user, pass := e.auth.issue(t, 1, "acme")
	otherUser, _ := e.auth.issue(t, 1, "acme")
	revokedUser, revokedPass := e.auth.issue(t, 1, "acme")
	e.auth.revoke(revokedPass)
	adminUser, adminPass := e.auth.issue(t, 1, "acme", token.ScopeAdmin)
	disabledUser, disabledPass := e.auth.issue(t, 3, "off")
	e.auth.disableTenant(3)
	platformUser, platformPass := e.auth.issue(t, 0, "", token.ScopeIngest)

	cases := []struct {
		name, clientID, user, pass, reason string
	}{
		{"wrong password", "c1", user, user + "_" + strings.Repeat("x", 38), "bad_token"},
		{"empty password", "c1", user, "", "username_mismatch"},
		{"revoked token", "c1", revokedUser, revokedPass, "bad_token"},
		{"username of another token", "c1", otherUser, pass, "username_mismatch"},
		{"no username", "c1", "", pass, "bad_username"},
		{"token with neither ingest nor read", "c1", adminUser, adminPass, "forbidden"},
		{"disabled tenant", "c1", disabledUser, disabledPass, "tenant_disabled"},
		{"platform token", "c1", platformUser, platformPass, "no_tenant"},
		{"client id with #", "dev#1", user, pass, "bad_client_id"},
		{"client id with +", "dev+1", user, pass, "bad_client_id"},
		{"client id with /", "acme/dev", user, pass, "bad_client_id"},
		{"username with /", "c1", "pulse_/x", "pulse_/x_" + pass, "bad_username"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.counter(t, connRefused, tc.reason)
			e.refused(t, tc.clientID, tc.user, tc.pass)
			if got := e.counter(t, connRefused, tc.reason); got != before+1 {
				t.Errorf("%s{reason=%q} = %v, want %v", connRefused, tc.reason, got, before+1)
			}
		})
	}
}

func TestPublishOutsideTenantIsNotDelivered(t *testing.T) {
	e := start(t, broker.Options{})
	user, pass := e.auth.issue(t, 1, "acme")
	e.auth.issue(t, 2, "other")
	c := e.mustDial(t, "dev-1", user, pass)

	for _, topic := range []string{"metrics/other/x", "metrics/acme", "metrics/acmex/y", "other/acme/x", "$SYS/x"} {
		publish(t, c, topic, 0, "forbidden")
	}
	publish(t, c, "metrics/acme/marker", 0, "marker")

	// Messages of one connection are handled in order: the marker arrives
	// only after every refused publish was dropped.
	if m := e.inbox.next(t); m.topic != "metrics/acme/marker" {
		t.Fatalf("delivered %+v, want only the marker", m)
	}
	// $SYS/x is dropped by mochi before the ACL; the other four by it.
	if got := e.counter(t, pubRefused, "acl"); got != 4 {
		t.Errorf("%s{reason=acl} = %v, want 4", pubRefused, got)
	}
}

func TestSubscribeACL(t *testing.T) {
	e := start(t, broker.Options{})
	acmeUser, acmePass := e.auth.issue(t, 1, "acme", token.ScopeIngest, token.ScopeRead)
	otherUser, otherPass := e.auth.issue(t, 2, "other", token.ScopeIngest, token.ScopeRead)
	pub := e.mustDial(t, "pub", acmeUser, acmePass)
	spy := e.mustDial(t, "spy", otherUser, otherPass)
	own := e.mustDial(t, "own", acmeUser, acmePass)

	got := map[string]byte{}
	for _, filter := range []string{"metrics/#", "metrics/+/x", "#", "+/acme/x", "metrics/acme/#", "$share/g/metrics/acme/#", "$SYS/#"} {
		tok := spy.Subscribe(filter, 0, func(paho.Client, paho.Message) { t.Errorf("tenant other received a message") })
		if !tok.WaitTimeout(waitFor) || tok.Error() != nil {
			t.Fatalf("subscribe %s: %v", filter, tok.Error())
		}
		// paho keys a shared subscription's result by the filter without
		// its $share/<group>/ prefix.
		key := strings.TrimPrefix(filter, "$share/g/")
		code, ok := tok.(*paho.SubscribeToken).Result()[key]
		if !ok {
			t.Fatalf("no SUBACK code for %s: %v", filter, tok.(*paho.SubscribeToken).Result())
		}
		got[filter] = code
	}
	for filter, code := range got {
		if code != 0x80 {
			t.Errorf("SUBACK for %s = %#x, want 0x80", filter, code)
		}
	}

	received := make(chan string, 1)
	tok := own.Subscribe("metrics/acme/#", 0, func(_ paho.Client, m paho.Message) { received <- m.Topic() })
	if !tok.WaitTimeout(waitFor) || tok.(*paho.SubscribeToken).Result()["metrics/acme/#"] != 0 {
		t.Fatalf("own-tenant subscribe refused: %v", tok.(*paho.SubscribeToken).Result())
	}

	publish(t, pub, "metrics/acme/x", 0, "v")
	select {
	case topic := <-received:
		if topic != "metrics/acme/x" {
			t.Fatalf("own subscriber got %s", topic)
		}
	case <-time.After(waitFor):
		t.Fatal("own-tenant subscriber received nothing")
	}
	e.inbox.next(t)
}

func TestPacketAboveMaximumIsRefused(t *testing.T) {
	e := start(t, broker.Options{MaxPacketSize: 1024})
	user, pass := e.auth.issue(t, 1, "acme")
	lost := make(chan error, 1)
	c := e.mustDial(t, "dev-1", user, pass, withLost(lost))

	c.Publish("metrics/acme/x", 0, false, strings.Repeat("a", 2048)).WaitTimeout(waitFor)

	select {
	case <-lost:
	case <-time.After(waitFor):
		t.Fatal("connection still open after an oversized packet")
	}
	select {
	case m := <-e.inbox:
		t.Fatalf("oversized packet delivered to %s", m.topic)
	default:
	}
	// The broker counts after closing the socket: wait for it.
	deadline := time.Now().Add(waitFor)
	for e.counter(t, pubRefused, "packet_too_large") != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%s{reason=packet_too_large} = %v, want 1", pubRefused, e.counter(t, pubRefused, "packet_too_large"))
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A packet within the limit still goes through on a new connection.
	c2 := e.mustDial(t, "dev-2", user, pass)
	publish(t, c2, "metrics/acme/x", 0, strings.Repeat("a", 512))
	e.inbox.next(t)
}

func TestOnPublishErrorDropsTheMessage(t *testing.T) {
	var seen []tenancy.Principal
	e := start(t, broker.Options{OnPublish: func(p tenancy.Principal, topic string, _ []byte) error {
		seen = append(seen, p) // called on the one publisher's goroutine
		if strings.HasSuffix(topic, "/over") {
			return errors.New("quota exceeded")
		}
		return nil
	}})
	user, pass := e.auth.issue(t, 7, "acme")
	c := e.mustDial(t, "dev-1", user, pass)

	publish(t, c, "metrics/acme/over", 1, "dropped") // QoS 1: acknowledged, dropped
	publish(t, c, "metrics/acme/over", 0, "dropped")
	publish(t, c, "metrics/acme/ok", 1, "kept")

	if m := e.inbox.next(t); m.topic != "metrics/acme/ok" {
		t.Fatalf("delivered %+v, want only the accepted message", m)
	}
	if got := e.counter(t, pubRefused, "quota"); got != 2 {
		t.Errorf("%s{reason=quota} = %v, want 2", pubRefused, got)
	}
	if len(seen) != 3 || seen[0].TenantID != 7 || seen[0].TenantSlug != "acme" {
		t.Errorf("OnPublish saw %+v", seen)
	}
}

func TestSameClientIDInTwoTenantsDoesNotTakeOver(t *testing.T) {
	e := start(t, broker.Options{})
	acmeUser, acmePass := e.auth.issue(t, 1, "acme")
	otherUser, otherPass := e.auth.issue(t, 2, "other")
	lost := make(chan error, 1)
	acme := e.mustDial(t, "agent-1", acmeUser, acmePass, withLost(lost))
	e.mustDial(t, "agent-1", otherUser, otherPass)

	publish(t, acme, "metrics/acme/x", 0, "still here")
	e.inbox.next(t)
	select {
	case err := <-lost:
		t.Fatalf("acme's client was disconnected by another tenant's client id: %v", err)
	default:
	}
}

func TestStartOnTakenPortNamesTheAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	b, err := broker.New(newFakeAuth(), broker.Options{Listen: ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	err = b.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("Start on a taken port: %v, want an error naming %s", err, ln.Addr())
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	for name, opts := range map[string]broker.Options{
		"no address":      {},
		"TLS without key": {TLSListen: "127.0.0.1:0"},
		"missing files":   {TLSListen: "127.0.0.1:0", TLSCertFile: "/nonexistent.pem", TLSKeyFile: "/nonexistent.key"},
		"negative size":   {Listen: "127.0.0.1:0", MaxPacketSize: -1},
	} {
		if _, err := broker.New(newFakeAuth(), opts); err == nil {
			t.Errorf("%s: New accepted %+v", name, opts)
		}
	}
}
