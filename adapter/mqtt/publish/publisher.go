// Package publish is pulse-agent's MQTT client (paho, MQTT 3.1.1): it
// keeps one connection to the broker, reconnecting with capped exponential
// backoff, and publishes a batch at QoS 1, returning only once the broker
// acknowledged it (PUBACK) or the attempt failed.
//
// Paho's own reconnection and in-flight store are off on purpose: a batch
// not acknowledged when the connection drops fails, and the caller keeps
// it in its spool and sends it again in order, instead of paho resending it
// later behind newer batches.
package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Options configure a Publisher.
type Options struct {
	Broker   string // tcp://host:1883 or ssl://host:8883 (mqtt:// and mqtts:// too)
	ClientID string
	Username string // pulse_<token id>
	Password string // the whole token
	TLS      TLSOptions
	// AckTimeout bounds one publish (default 10 s).
	AckTimeout time.Duration
	// MinBackoff and MaxBackoff bound the pause between connection attempts
	// (defaults 1 s and 60 s); it doubles after each failure, with jitter.
	MinBackoff, MaxBackoff time.Duration
	Log                    *slog.Logger
}

// ErrNotConnected is returned by Publish while there is no connection.
var ErrNotConnected = errors.New("mqtt: not connected to the broker")

// Publisher is safe for concurrent use; Run owns the connection.
type Publisher struct {
	opts      Options
	client    paho.Client
	connected atomic.Bool
	lost      chan error
	changed   chan struct{} // signalled (non-blocking) when the connection comes up
}

// New checks the options and builds the client; Run connects.
func New(opts Options) (*Publisher, error) {
	u, err := url.Parse(opts.Broker)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("broker %q: want tcp://host:1883 or ssl://host:8883", opts.Broker)
	}
	secure := false
	switch u.Scheme {
	case "tcp", "mqtt":
	case "ssl", "tls", "mqtts":
		secure = true
	default:
		return nil, fmt.Errorf("broker %q: scheme must be tcp or ssl", opts.Broker)
	}
	if !secure && opts.TLS.Set() {
		return nil, fmt.Errorf("broker %q: TLS settings given for a plain tcp:// broker (use ssl://)", opts.Broker)
	}
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = 10 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(60*time.Second, opts.MinBackoff)
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	p := &Publisher{opts: opts, lost: make(chan error, 1), changed: make(chan struct{}, 1)}
	co := paho.NewClientOptions().AddBroker(opts.Broker).SetClientID(opts.ClientID).
		SetUsername(opts.Username).SetPassword(opts.Password).
		SetProtocolVersion(4).SetCleanSession(true).
		SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(opts.AckTimeout).SetWriteTimeout(opts.AckTimeout).
		SetKeepAlive(30 * time.Second).SetPingTimeout(10 * time.Second).
		SetOrderMatters(true).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			p.connected.Store(false)
			select {
			case p.lost <- err:
			default:
			}
		})
	if secure {
		tc, err := opts.TLS.Config()
		if err != nil {
			return nil, err
		}
		co.SetTLSConfig(tc)
	}
	p.client = paho.NewClient(co)
	return p, nil
}

// Run connects and reconnects until ctx ends, then disconnects.
func (p *Publisher) Run(ctx context.Context) error {
	backoff := p.opts.MinBackoff
	for {
		err := p.connect(ctx)
		if err == nil {
			p.opts.Log.Info("connected to the broker", "broker", p.opts.Broker)
			backoff = p.opts.MinBackoff
			select {
			case <-ctx.Done():
				p.connected.Store(false)
				p.client.Disconnect(250)
				return nil
			case err := <-p.lost:
				p.opts.Log.Warn("connection to the broker lost", "broker", p.opts.Broker, "err", err)
			}
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		// Full jitter over [backoff/2, backoff].
		wait := backoff/2 + rand.N(backoff/2+1)
		p.opts.Log.Warn("cannot connect to the broker", "broker", p.opts.Broker, "err", err, "retry_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(backoff*2, p.opts.MaxBackoff)
	}
}

func (p *Publisher) connect(ctx context.Context) error {
	select { // a loss reported by an earlier connection is stale now
	case <-p.lost:
	default:
	}
	tok := p.client.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return err
	}
	p.connected.Store(true)
	select {
	case p.changed <- struct{}{}:
	default:
	}
	return nil
}

// Connected reports whether the publisher holds a connection now.
func (p *Publisher) Connected() bool { return p.connected.Load() && p.client.IsConnectionOpen() }

// ConnectedSignal receives a value each time a connection comes up.
func (p *Publisher) ConnectedSignal() <-chan struct{} { return p.changed }

// Publish sends payload to topic at QoS 1 and waits for the PUBACK (at
// most the ack timeout). Only a nil error means the broker has the batch.
func (p *Publisher) Publish(ctx context.Context, topic string, payload []byte) error {
	if !p.Connected() {
		return ErrNotConnected
	}
	tok := p.client.Publish(topic, 1, false, payload)
	timer := time.NewTimer(p.opts.AckTimeout)
	defer timer.Stop()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("publish to %s: %w", topic, err)
		}
		return nil
	case <-timer.C:
		return fmt.Errorf("publish to %s: no PUBACK within %s", topic, p.opts.AckTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}
