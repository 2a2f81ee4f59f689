package broker_test

import (
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/pulsemetrics/pulse/adapter/mqtt/broker"
	"github.com/pulsemetrics/pulse/domain/token"
)

const subRefused = "pulse_mqtt_subscriptions_refused_total"

// subscribeCode subscribes at QoS 1 and returns the SUBACK return code.
func subscribeCode(t *testing.T, c paho.Client, filter string, onMessage paho.MessageHandler) byte {
	t.Helper()
	tok := c.Subscribe(filter, 1, onMessage)
	if !tok.WaitTimeout(waitFor) {
		t.Fatalf("subscribe %s: no SUBACK", filter)
	}
	code, ok := tok.(*paho.SubscribeToken).Result()[filter]
	if !ok {
		t.Fatalf("subscribe %s: no code in %v (%v)", filter, tok.(*paho.SubscribeToken).Result(), tok.Error())
	}
	return code
}

// An ingest-only token may publish but not read its own tenant's topics
// (MQTT 3.1.1: SUBACK 0x80, nothing delivered). The refusal is counted
// under its own reason and logged once per connection.
func TestIngestOnlyTokenCannotSubscribe(t *testing.T) {
	e := start(t, broker.Options{})
	user, pass := e.auth.issue(t, 1, "acme", token.ScopeIngest)
	dev := e.mustDial(t, "dev", user, pass)

	got := make(chan string, 10)
	for _, f := range []string{"metrics/acme/#", "metrics/acme/x"} {
		if code := subscribeCode(t, dev, f, func(_ paho.Client, m paho.Message) { got <- m.Topic() }); code != 0x80 {
			t.Errorf("SUBACK for %s = %#x, want 0x80 (the token lacks read)", f, code)
		}
	}
	publish(t, dev, "metrics/acme/x", 1, "v") // publishing still works
	if m := e.inbox.next(t); m.topic != "metrics/acme/x" {
		t.Fatalf("delivered %+v", m)
	}
	select {
	case topic := <-got:
		t.Fatalf("the ingest-only token received %s", topic)
	case <-time.After(200 * time.Millisecond):
	}
	if n := e.counter(t, subRefused, "no_read_scope"); n != 2 {
		t.Errorf("%s{reason=no_read_scope} = %v, want 2", subRefused, n)
	}
	if n := len(e.logs.lines("lacks the read scope")); n != 1 {
		t.Errorf("the scope refusal was logged %d times, want once:\n%s", n, e.logs)
	}
	if contains(e.logs.String(), pass) {
		t.Error("the token appears in the logs")
	}
}

// MQTT 5: the refused subscription's SUBACK says 0x87 (Not authorized);
// a token with read gets its QoS.
func TestV5SubscribeNeedsRead(t *testing.T) {
	e := start(t, broker.Options{})
	ingUser, ingPass := e.auth.issue(t, 1, "acme", token.ScopeIngest)
	bothUser, bothPass := e.auth.issue(t, 1, "acme", token.ScopeIngest, token.ScopeRead)

	ing, code := dialV5(t, e.broker.Addr(), "v5-ingest", ingUser, ingPass)
	if code != 0 {
		t.Fatalf("CONNACK %#x", code)
	}
	if got := ing.subscribe(1, "metrics/acme/#"); got != packets.ErrNotAuthorized.Code {
		t.Errorf("ingest-only SUBACK %#x, want 0x87", got)
	}
	both, code := dialV5(t, e.broker.Addr(), "v5-both", bothUser, bothPass)
	if code != 0 {
		t.Fatalf("CONNACK %#x", code)
	}
	if got := both.subscribe(1, "metrics/acme/#"); got != 1 {
		t.Errorf("ingest+read SUBACK %#x, want 0x01 (granted QoS 1)", got)
	}
	if got := both.subscribe(2, "metrics/other/#"); got != packets.ErrNotAuthorized.Code {
		t.Errorf("another tenant's filter SUBACK %#x, want 0x87", got)
	}
	// The publish of the ingest-only client reaches the reader, not itself.
	if got := ing.publishQoS1(3, "metrics/acme/x", "hello"); got != 0 {
		t.Fatalf("PUBACK %#x", got)
	}
	if pk := both.read(); pk.FixedHeader.Type != packets.Publish || pk.TopicName != "metrics/acme/x" || string(pk.Payload) != "hello" {
		t.Fatalf("the reader got type %d %q %q, want the PUBLISH", pk.FixedHeader.Type, pk.TopicName, pk.Payload)
	}
}

// A read-only token connects (it could not before), subscribes to its
// tenant's topics and receives them, but may not publish: a QoS 0 publish
// is dropped and counted, an MQTT 5 QoS 1 publish gets PUBACK 0x87.
func TestReadOnlyTokenSubscribesButCannotPublish(t *testing.T) {
	e := start(t, broker.Options{})
	readUser, readPass := e.auth.issue(t, 1, "acme", token.ScopeRead)
	pubUser, pubPass := e.auth.issue(t, 1, "acme", token.ScopeIngest)

	reader := e.mustDial(t, "reader", readUser, readPass)
	got := make(chan string, 10)
	if code := subscribeCode(t, reader, "metrics/acme/#", func(_ paho.Client, m paho.Message) { got <- m.Topic() + " " + string(m.Payload()) }); code != 1 {
		t.Fatalf("read token SUBACK %#x, want 0x01", code)
	}
	if code := subscribeCode(t, reader, "metrics/other/#", nil); code != 0x80 {
		t.Errorf("read token SUBACK for another tenant %#x, want 0x80", code)
	}

	publish(t, reader, "metrics/acme/forged", 0, "forged") // QoS 0: dropped silently
	pub := e.mustDial(t, "pub", pubUser, pubPass)
	publish(t, pub, "metrics/acme/x", 1, "real")
	select {
	case m := <-got:
		if m != "metrics/acme/x real" {
			t.Fatalf("the reader got %q first, want the ingest token's message", m)
		}
	case <-time.After(waitFor):
		t.Fatal("the read token received nothing")
	}
	if m := e.inbox.next(t); m.topic != "metrics/acme/x" {
		t.Fatalf("the ingestor got %+v first: the read token's publish was delivered", m)
	}
	if n := e.counter(t, pubRefused, "no_ingest_scope"); n != 1 {
		t.Errorf("%s{reason=no_ingest_scope} = %v, want 1", pubRefused, n)
	}
	if n := len(e.logs.lines("lacks the ingest scope")); n != 1 {
		t.Errorf("the scope refusal was logged %d times, want once", n)
	}

	v5, code := dialV5(t, e.broker.Addr(), "reader-v5", readUser, readPass)
	if code != 0 {
		t.Fatalf("read token v5 CONNACK %#x", code)
	}
	if got := v5.publishQoS1(1, "metrics/acme/forged", "x"); got != packets.ErrNotAuthorized.Code {
		t.Errorf("read token PUBACK %#x, want 0x87", got)
	}

	// A will is a publish too: a read-only token cannot leave one.
	o := func(o *paho.ClientOptions) { o.SetWill("metrics/acme/status", "gone", 0, false) }
	if _, err := dial(t, "tcp://"+e.broker.Addr(), "reader-will", readUser, readPass, o); err == nil {
		t.Error("a read-only token connected with a will")
	}
}
