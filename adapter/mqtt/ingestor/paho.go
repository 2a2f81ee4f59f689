package ingestor

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TopicFilter is what the ingestor subscribes to: every tenant, any depth
// below it (metrics/{tenant}/system/{agent_id} included).
const TopicFilter = "metrics/+/#"

// PahoOptions configures the subscription to an external broker.
type PahoOptions struct {
	// BrokerURL is e.g. tcp://mosquitto:1883 or ssl://mqtt.example.com:8883.
	BrokerURL string
	// ClientID must be fixed per replica (and unique among replicas): the
	// broker keeps the session under it, so the messages published while the
	// ingestor restarts wait for it.
	ClientID string
	// Username and Password are the service account's credentials.
	Username, Password string
	// TLS, when set, is used for ssl:// and wss:// brokers.
	TLS *tls.Config
	// SharedGroup, when set, subscribes as $share/<group>/metrics/+/#, so
	// the replicas of one group split the messages between them.
	SharedGroup string
	// UnsubscribeOnStop drops the subscription on Stop. Leave it false for a
	// restart (the broker keeps queueing for the session); set it when the
	// replica goes away for good (scale-in), so a shared group stops routing
	// to it.
	UnsubscribeOnStop bool
	// MaxReconnectInterval caps the reconnect backoff (default 30 s).
	MaxReconnectInterval time.Duration
	// Logger may be nil.
	Logger *slog.Logger
}

// PahoSubscriber feeds an Ingestor from an MQTT broker with a persistent
// session at QoS 1: each message is acknowledged to the broker only once the
// Ingestor made it durable or rejected it, so a crash loses nothing (the
// broker delivers what was not acknowledged again; delivery is at least
// once, and dedupe_id makes a repeat harmless).
type PahoSubscriber struct {
	opts   PahoOptions
	ing    *Ingestor
	log    *slog.Logger
	client mqtt.Client
}

// NewPahoSubscriber returns a subscriber for ing; Start connects it.
func NewPahoSubscriber(opts PahoOptions, ing *Ingestor) (*PahoSubscriber, error) {
	if opts.BrokerURL == "" {
		return nil, errors.New("mqtt subscriber: broker URL is required")
	}
	if opts.ClientID == "" {
		return nil, errors.New("mqtt subscriber: a fixed client id is required for the persistent session")
	}
	if opts.MaxReconnectInterval <= 0 {
		opts.MaxReconnectInterval = 30 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &PahoSubscriber{opts: opts, ing: ing, log: log}

	co := mqtt.NewClientOptions().
		AddBroker(opts.BrokerURL).
		SetClientID(opts.ClientID).
		SetUsername(opts.Username).
		SetPassword(opts.Password).
		SetCleanSession(false).
		SetAutoAckDisabled(true).
		SetOrderMatters(false).
		SetResumeSubs(false). // OnConnect subscribes again on every connection
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(opts.MaxReconnectInterval).
		SetKeepAlive(30 * time.Second).
		// Messages queued in the session arrive right after CONNACK, before
		// the subscription is renewed: the default handler takes them.
		SetDefaultPublishHandler(s.onMessage).
		SetOnConnectHandler(s.onConnect).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			log.Warn("mqtt connection lost, reconnecting", "broker", opts.BrokerURL, "err", err)
		})
	if opts.TLS != nil {
		co.SetTLSConfig(opts.TLS)
	}
	if bufferedSchemes(opts.BrokerURL) {
		co.SetCustomOpenConnectionFn(openBufferedConn) // buffered reads, coalesced acks (conn.go)
	}
	s.client = mqtt.NewClient(co)
	return s, nil
}

// Filter is the subscription's topic filter.
func (s *PahoSubscriber) Filter() string {
	if s.opts.SharedGroup != "" {
		return "$share/" + s.opts.SharedGroup + "/" + TopicFilter
	}
	return TopicFilter
}

func (s *PahoSubscriber) onMessage(_ mqtt.Client, m mqtt.Message) {
	s.ing.Handle(m.Topic(), m.Payload(), m.Ack)
}

func (s *PahoSubscriber) onConnect(c mqtt.Client) {
	go s.subscribe(c)
}

// subscribe renews the subscription after a connection, retrying with
// backoff while the connection lasts (the next connection starts over).
func (s *PahoSubscriber) subscribe(c mqtt.Client) {
	filter := s.Filter()
	for wait := time.Second; c.IsConnectionOpen(); wait = min(2*wait, s.opts.MaxReconnectInterval) {
		tok := c.Subscribe(filter, 1, s.onMessage)
		err := errors.New("no SUBACK within 30s")
		if tok.WaitTimeout(30 * time.Second) {
			err = tok.Error()
		}
		if err == nil {
			s.log.Info("mqtt subscribed", "broker", s.opts.BrokerURL, "filter", filter)
			return
		}
		s.log.Error("mqtt subscribe failed, retrying", "filter", filter, "in", wait, "err", err)
		time.Sleep(wait)
	}
}

// Start connects (retrying with backoff until ctx ends) and subscribes; it
// returns once the first connection is up. Later losses reconnect and
// resubscribe by themselves.
func (s *PahoSubscriber) Start(ctx context.Context) error {
	tok := s.client.Connect()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("mqtt connect %s: %w", s.opts.BrokerURL, err)
		}
		return nil
	case <-ctx.Done():
		s.client.Disconnect(0)
		return fmt.Errorf("mqtt connect %s: %w", s.opts.BrokerURL, ctx.Err())
	}
}

// Stop drains: it stops taking messages, waits (until ctx ends) for the
// pending batches to become durable and acknowledged, then disconnects.
// What was not acknowledged stays in the broker's session for the next
// start. The subscription is kept unless UnsubscribeOnStop is set.
func (s *PahoSubscriber) Stop(ctx context.Context) error {
	if s.opts.UnsubscribeOnStop && s.client.IsConnectionOpen() {
		tok := s.client.Unsubscribe(s.Filter())
		select {
		case <-tok.Done():
		case <-ctx.Done():
		}
	}
	err := s.ing.Close(ctx)
	s.client.Disconnect(250) // ms for the last acks to leave
	return err
}

// Connected reports whether the subscriber holds a live connection (for readiness).
func (s *PahoSubscriber) Connected() bool {
	return s.client != nil && s.client.IsConnectionOpen()
}
