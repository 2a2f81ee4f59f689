package features_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"
)

// mqttWait bounds one MQTT round trip (CONNECT, PUBLISH/PUBACK, SUBSCRIBE).
const mqttWait = 5 * time.Second

// uniqueClientID is a client id of its own, so that parallel scenarios and
// test runs never take over each other's sessions.
func uniqueClientID(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// dialPaho connects a paho (MQTT 3.1.1) client with a clean session and no
// automatic reconnection; the error is the CONNECT's.
func dialPaho(brokerURL, clientID, username, password string, onMessage paho.MessageHandler) (paho.Client, error) {
	o := paho.NewClientOptions().AddBroker(brokerURL).SetClientID(clientID).
		SetUsername(username).SetPassword(password).
		SetProtocolVersion(4).SetCleanSession(true).
		SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(mqttWait).SetKeepAlive(30 * time.Second).
		SetWriteTimeout(mqttWait)
	if onMessage != nil {
		o.SetDefaultPublishHandler(onMessage)
	}
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(mqttWait) {
		c.Disconnect(0)
		return nil, fmt.Errorf("connect to %s as %s: no CONNACK within %s", brokerURL, username, mqttWait)
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("connect to %s as %s: %w", brokerURL, username, err)
	}
	return c, nil
}

// publishQoS1 publishes and waits for the PUBACK.
func publishQoS1(c paho.Client, topic string, payload []byte) error {
	tok := c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(mqttWait) {
		return fmt.Errorf("publish to %s: no PUBACK within %s", topic, mqttWait)
	}
	if err := tok.Error(); err != nil {
		return fmt.Errorf("publish to %s: %w", topic, err)
	}
	return nil
}

// rawMQTT is a bare MQTT 3.1.1 connection over mochi's packet codec, for
// what paho will not do: send a PUBLISH right behind the CONNECT without
// waiting for the CONNACK, or publish to a topic paho would refuse.
type rawMQTT struct {
	conn net.Conn
	r    *bufio.Reader
}

// dialRaw opens the TCP connection; nothing is sent yet.
func dialRaw(addr string) (*rawMQTT, error) {
	conn, err := net.DialTimeout("tcp", addr, mqttWait)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(3 * mqttWait))
	return &rawMQTT{conn: conn, r: bufio.NewReader(conn)}, nil
}

func (c *rawMQTT) Close() error { return c.conn.Close() }

func connectPacket(clientID, username, password string) packets.Packet {
	return packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4,
		Connect: packets.ConnectParams{
			ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 30, ClientIdentifier: clientID,
			UsernameFlag: username != "", Username: []byte(username),
			PasswordFlag: password != "", Password: []byte(password),
		},
	}
}

func publishPacket(id uint16, topic string, payload []byte) packets.Packet {
	return packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, ProtocolVersion: 4,
		PacketID: id, TopicName: topic, Payload: payload,
	}
}

// send writes the packets in one write.
func (c *rawMQTT) send(pks ...packets.Packet) error {
	var buf bytes.Buffer
	for _, pk := range pks {
		var err error
		switch pk.FixedHeader.Type {
		case packets.Connect:
			err = pk.ConnectEncode(&buf)
		case packets.Publish:
			err = pk.PublishEncode(&buf)
		default:
			err = fmt.Errorf("rawMQTT cannot send packet type %d", pk.FixedHeader.Type)
		}
		if err != nil {
			return err
		}
	}
	_, err := c.conn.Write(buf.Bytes())
	return err
}

// read returns the next packet's type and body; io.EOF (or a reset) when
// the broker closed the connection.
func (c *rawMQTT) read() (packets.FixedHeader, []byte, error) {
	var fh packets.FixedHeader
	b, err := c.r.ReadByte()
	if err != nil {
		return fh, nil, err
	}
	if err := fh.Decode(b); err != nil {
		return fh, nil, err
	}
	n, _, err := packets.DecodeLength(c.r)
	if err != nil {
		return fh, nil, err
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return fh, nil, err
	}
	fh.Remaining = n
	return fh, body, nil
}

// connack reads the CONNACK and returns its return code.
func (c *rawMQTT) connack() (byte, error) {
	fh, body, err := c.read()
	if err != nil {
		return 0, fmt.Errorf("read CONNACK: %w", err)
	}
	if fh.Type != packets.Connack || len(body) < 2 {
		return 0, fmt.Errorf("got packet type %d, want CONNACK", fh.Type)
	}
	return body[1], nil
}

// untilClosed reads packets until the broker closes the connection and
// returns their types; the error is non-nil if the connection was still
// open after mqttWait (or failed otherwise than by being closed).
func (c *rawMQTT) untilClosed() ([]byte, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(mqttWait))
	var types []byte
	for {
		fh, _, err := c.read()
		var ne net.Error
		switch {
		case err == nil:
			types = append(types, fh.Type)
		case errors.As(err, &ne) && ne.Timeout():
			return types, fmt.Errorf("the broker kept the connection open for %s", mqttWait)
		default:
			return types, nil // EOF or reset
		}
	}
}
