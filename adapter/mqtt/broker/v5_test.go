package broker_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/pulsemetrics/pulse/adapter/mqtt/broker"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// v5Client is a minimal MQTT 5 client over mochi's packet codec (paho.mqtt.golang
// speaks only 3.1.1), enough to read reason codes.
type v5Client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialV5(t *testing.T, addr, clientID, username, password string) (*v5Client, byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, waitFor)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(waitFor))
	c := &v5Client{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.send(packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 5,
		Connect: packets.ConnectParams{
			ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 30, ClientIdentifier: clientID,
			UsernameFlag: true, Username: []byte(username), PasswordFlag: true, Password: []byte(password),
		},
	})
	ack := c.read()
	if ack.FixedHeader.Type != packets.Connack {
		t.Fatalf("got packet type %d, want CONNACK", ack.FixedHeader.Type)
	}
	return c, ack.ReasonCode
}

func (c *v5Client) send(pk packets.Packet) {
	c.t.Helper()
	var buf bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	case packets.Subscribe:
		err = pk.SubscribeEncode(&buf)
	}
	if err != nil {
		c.t.Fatalf("encode: %v", err)
	}
	if _, err := c.conn.Write(buf.Bytes()); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *v5Client) read() packets.Packet {
	c.t.Helper()
	b, err := c.r.ReadByte()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var fh packets.FixedHeader
	if err := fh.Decode(b); err != nil {
		c.t.Fatal(err)
	}
	n, _, err := packets.DecodeLength(c.r)
	if err != nil {
		c.t.Fatal(err)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		c.t.Fatal(err)
	}
	fh.Remaining = n
	pk := packets.Packet{FixedHeader: fh, ProtocolVersion: 5}
	switch fh.Type {
	case packets.Connack:
		err = pk.ConnackDecode(body)
	case packets.Puback:
		err = pk.PubackDecode(body)
	case packets.Suback:
		err = pk.SubackDecode(body)
	case packets.Disconnect:
		err = pk.DisconnectDecode(body)
	case packets.Publish:
		err = pk.PublishDecode(body)
	}
	if err != nil {
		c.t.Fatalf("decode type %d: %v", fh.Type, err)
	}
	return pk
}

func (c *v5Client) publishQoS1(id uint16, topic, payload string) byte {
	c.t.Helper()
	c.send(packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, ProtocolVersion: 5,
		PacketID: id, TopicName: topic, Payload: []byte(payload),
	})
	ack := c.read()
	if ack.FixedHeader.Type != packets.Puback || ack.PacketID != id {
		c.t.Fatalf("got type %d id %d, want PUBACK %d", ack.FixedHeader.Type, ack.PacketID, id)
	}
	return ack.ReasonCode
}

// subscribe sends a SUBSCRIBE of one filter at QoS 1 and returns the
// SUBACK's reason code.
func (c *v5Client) subscribe(id uint16, filter string) byte {
	c.t.Helper()
	c.send(packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, ProtocolVersion: 5,
		PacketID: id, Filters: packets.Subscriptions{{Filter: filter, Qos: 1}},
	})
	ack := c.read()
	if ack.FixedHeader.Type != packets.Suback || ack.PacketID != id || len(ack.ReasonCodes) != 1 {
		c.t.Fatalf("got type %d id %d codes %v, want a SUBACK %d with one code", ack.FixedHeader.Type, ack.PacketID, ack.ReasonCodes, id)
	}
	return ack.ReasonCodes[0]
}

func TestV5QuotaExceededAndNotAuthorizedReasonCodes(t *testing.T) {
	e := start(t, broker.Options{OnPublish: func(_ tenancy.Principal, topic string, _ []byte) error {
		if strings.HasSuffix(topic, "/over") {
			return errors.New("quota exceeded")
		}
		return nil
	}})
	user, pass := e.auth.issue(t, 1, "acme")

	if _, code := dialV5(t, e.broker.Addr(), "v5-bad", user, user+"_nope"); code != packets.ErrBadUsernameOrPassword.Code {
		t.Fatalf("bad password CONNACK %#x, want %#x", code, packets.ErrBadUsernameOrPassword.Code)
	}
	c, code := dialV5(t, e.broker.Addr(), "v5", user, pass)
	if code != packets.CodeSuccess.Code {
		t.Fatalf("CONNACK %#x", code)
	}
	if got := c.publishQoS1(1, "metrics/acme/over", "x"); got != packets.ErrQuotaExceeded.Code {
		t.Errorf("over-quota PUBACK %#x, want 0x97", got)
	}
	if got := c.publishQoS1(2, "metrics/other/x", "x"); got != packets.ErrNotAuthorized.Code {
		t.Errorf("other tenant PUBACK %#x, want %#x", got, packets.ErrNotAuthorized.Code)
	}
	if got := c.publishQoS1(3, "metrics/acme/ok", "x"); got != packets.CodeSuccess.Code {
		t.Errorf("accepted PUBACK %#x", got)
	}
	if m := e.inbox.next(t); m.topic != "metrics/acme/ok" {
		t.Fatalf("delivered %+v, want only the accepted message", m)
	}
}

func TestWillOutsideTenantIsRefused(t *testing.T) {
	e := start(t, broker.Options{})
	user, pass := e.auth.issue(t, 1, "acme")
	willTo := func(topic string) clientOpt {
		return func(o *paho.ClientOptions) { o.SetWill(topic, "gone", 0, false) }
	}
	url := "tcp://" + e.broker.Addr()

	if _, err := dial(t, url, "w1", user, pass, willTo("metrics/other/x")); err == nil {
		t.Fatal("a will on another tenant's topic was accepted")
	}
	if got := e.counter(t, connRefused, "will_topic"); got != 1 {
		t.Errorf("%s{reason=will_topic} = %v, want 1", connRefused, got)
	}
	if _, err := dial(t, url, "w2", user, pass, willTo("metrics/acme/status")); err != nil {
		t.Fatalf("a will on the own tenant's topic: %v", err)
	}
}
