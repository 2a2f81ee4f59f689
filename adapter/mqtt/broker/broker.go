// Package broker is Pulse's embedded MQTT broker (mochi-mqtt) for
// single-binary mode, with Pulse's own authentication and ACL: a client
// connects with username "pulse_<id>" and its whole token as the password
// (the token needs the ingest or the read scope), may publish only under
// metrics/<its tenant slug>/... and only with ingest, and may subscribe
// only there and only with read. Everything else is refused. Live sessions
// are re-authenticated every few seconds: revoking a token or disabling its
// tenant closes its connections.
package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// DefaultMaxPacketSize bounds an MQTT packet when Options.MaxPacketSize is 0.
const DefaultMaxPacketSize = 256 << 10

// Authenticator checks a presented token for a scope (tenancy.Service
// implements it) and reports the token's scopes in Principal.Scopes. It
// must be safe for concurrent use; it is called at CONNECT (for ingest, then
// for read if the token lacks ingest) and again for every live session's
// token every Options.RecheckInterval, each time with a context bounded to
// 2 s, so it should be cheap (cached). Failures: token.ErrUnauthenticated
// (unknown, revoked, wrong secret), token.ErrForbidden (lacking the scope),
// an error matching tenant.ErrDisabled and token.ErrForbidden (tenant
// disabled); anything else is an internal failure, which refuses a CONNECT
// but closes no live session.
type Authenticator interface {
	Authenticate(ctx context.Context, raw string, need token.Scope) (tenancy.Principal, error)
}

// PublishFunc is called for every authorised publish of a network client,
// on that client's connection goroutine; a non-nil error drops the message
// (quota exceeded). It must be safe for concurrent use and must not keep or
// modify payload.
type PublishFunc func(p tenancy.Principal, topic string, payload []byte) error

// Options configures a Broker. At least one of Listen and TLSListen is
// required.
type Options struct {
	// Listen is the plain TCP address ("" = none), e.g. ":1883".
	Listen string
	// TLSListen is the TLS address ("" = none); TLSCertFile and TLSKeyFile
	// (PEM) are then required.
	TLSListen               string
	TLSCertFile, TLSKeyFile string
	// MaxPacketSize bounds every MQTT packet in bytes (0 = 256 KiB); a larger
	// packet closes the connection.
	MaxPacketSize int
	// OnPublish, if set, is asked about every authorised publish (quotas).
	OnPublish PublishFunc
	// RecheckInterval is how often every live session's token is
	// re-authenticated (0 = 2 s): a session whose token was revoked, or whose
	// tenant was disabled, is closed at the next check.
	RecheckInterval time.Duration
	// Registerer receives the broker's refusal counters (nil = no metrics).
	Registerer prometheus.Registerer
	// Logger receives the broker's logs (nil = discarded).
	Logger *slog.Logger
}

// Broker is the embedded MQTT broker. Its methods are safe for concurrent use.
type Broker struct {
	server *mqtt.Server
	hook   *authHook
	cancel context.CancelFunc
	opts   Options
	tlsCfg *tls.Config
	log    *slog.Logger
	subID  atomic.Int64

	mu      sync.Mutex
	plain   *listener
	secure  *listener
	started bool
	closed  bool
	// recheckDone is closed when the re-check loop has returned (nil
	// before Start).
	recheckDone chan struct{}
}

// New builds a broker that authenticates clients with auth. It opens no
// socket: Start does. A TLS listener's key pair is read here, so a bad
// certificate stops the process at start.
func New(auth Authenticator, opts Options) (*Broker, error) {
	if auth == nil {
		return nil, errors.New("mqtt broker: an authenticator is required")
	}
	if opts.Listen == "" && opts.TLSListen == "" {
		return nil, errors.New("mqtt broker: no listen address (set the plain or the TLS address)")
	}
	if opts.MaxPacketSize < 0 {
		return nil, fmt.Errorf("mqtt broker: max packet size %d must not be negative", opts.MaxPacketSize)
	}
	if opts.MaxPacketSize == 0 {
		opts.MaxPacketSize = DefaultMaxPacketSize
	}
	if opts.RecheckInterval < 0 {
		return nil, fmt.Errorf("mqtt broker: re-check interval %s must not be negative", opts.RecheckInterval)
	}
	if opts.RecheckInterval == 0 {
		opts.RecheckInterval = DefaultRecheckInterval
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Broker{opts: opts, log: log}
	if opts.TLSListen != "" {
		if opts.TLSCertFile == "" || opts.TLSKeyFile == "" {
			return nil, fmt.Errorf("mqtt broker: TLS listener %s needs a certificate and a key file", opts.TLSListen)
		}
		cert, err := tls.LoadX509KeyPair(opts.TLSCertFile, opts.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt broker: load TLS key pair %s, %s: %w", opts.TLSCertFile, opts.TLSKeyFile, err)
		}
		b.tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}

	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = uint32(opts.MaxPacketSize)
	// Retained messages would let a client pin memory per topic it invents,
	// and replay old samples to every new subscriber: not offered.
	caps.RetainAvailable = 0
	b.server = mqtt.New(&mqtt.Options{
		Capabilities: caps,
		InlineClient: true,
		Logger:       log.With("component", "mqtt"),
	})

	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	b.hook = &authHook{ctx: ctx, auth: auth, onPublish: opts.OnPublish, log: log, metrics: m, server: b.server}
	if err := b.server.AddHook(b.hook, nil); err != nil {
		cancel()
		return nil, fmt.Errorf("mqtt broker: add auth hook: %w", err)
	}
	return b, nil
}

// Start opens the listeners and starts serving. A taken port is an error
// naming the address. Start may be called once; ctx bounds only the start.
func (b *Broker) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started || b.closed {
		return errors.New("mqtt broker: already started or closed")
	}
	var opened []*listener
	fail := func(err error) error {
		for _, l := range opened {
			l.closeListener()
		}
		return err
	}
	if b.opts.Listen != "" {
		l, err := listen(ctx, "tcp", b.opts.Listen, nil, b.hook)
		if err != nil {
			return fail(err)
		}
		opened = append(opened, l)
		b.plain = l
	}
	if b.opts.TLSListen != "" {
		l, err := listen(ctx, "tls", b.opts.TLSListen, b.tlsCfg, b.hook)
		if err != nil {
			return fail(err)
		}
		opened = append(opened, l)
		b.secure = l
	}
	for _, l := range opened {
		if err := b.server.AddListener(l); err != nil {
			return fail(fmt.Errorf("mqtt broker: add listener %s: %w", l.Address(), err))
		}
	}
	if err := b.server.Serve(); err != nil {
		return fail(fmt.Errorf("mqtt broker: serve: %w", err))
	}
	b.started = true
	b.recheckDone = make(chan struct{})
	go b.hook.recheckLoop(b.opts.RecheckInterval, b.recheckDone)
	b.log.Info("mqtt broker listening", "addr", b.addr(b.plain), "tls_addr", b.addr(b.secure))
	return nil
}

// Addr returns the plain listener's actual address ("" before Start or
// without one).
func (b *Broker) Addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addr(b.plain)
}

// TLSAddr returns the TLS listener's actual address ("" before Start or
// without one).
func (b *Broker) TLSAddr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addr(b.secure)
}

func (b *Broker) addr(l *listener) string {
	if l == nil {
		return ""
	}
	return l.Address()
}

// Subscribe delivers every message published on a topic matching filter
// (any tenant: this is the in-process ingestor's subscription, e.g.
// "metrics/+/#") to handler. The handler runs on the publisher's
// connection goroutine, so a slow handler slows that publisher down; it
// must not modify payload.
func (b *Broker) Subscribe(filter string, handler func(topic string, payload []byte)) error {
	if handler == nil {
		return errors.New("mqtt broker: subscribe: nil handler")
	}
	id := int(b.subID.Add(1))
	err := b.server.Subscribe(filter, id, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		handler(pk.TopicName, pk.Payload)
	})
	if err != nil {
		return fmt.Errorf("mqtt broker: subscribe %q: %w", filter, err)
	}
	return nil
}

// Close disconnects every client, closes the listeners and waits for the
// connection goroutines. It is safe to call more than once.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	started, recheckDone := b.started, b.recheckDone
	b.mu.Unlock()

	b.cancel()
	if recheckDone != nil {
		<-recheckDone // a sweep in progress ends with its cancelled calls
	}
	var err error
	if started {
		err = b.server.Close()
	}
	for _, l := range []*listener{b.plain, b.secure} {
		if l != nil {
			l.closeListener()
			l.wait()
		}
	}
	if err != nil {
		return fmt.Errorf("mqtt broker: close: %w", err)
	}
	return nil
}
