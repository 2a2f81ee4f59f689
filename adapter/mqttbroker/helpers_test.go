package mqttbroker_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsemetrics/pulse/adapter/mqttbroker"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

const waitFor = 5 * time.Second

// fakeAuth maps issued tokens to principals; anything else, and a revoked
// token, is token.ErrUnauthenticated.
type fakeAuth struct {
	mu      sync.Mutex
	good    map[string]tenancy.Principal
	revoked map[string]bool
	scopes  map[string][]token.Scope
}

func newFakeAuth() *fakeAuth {
	return &fakeAuth{good: map[string]tenancy.Principal{}, revoked: map[string]bool{}, scopes: map[string][]token.Scope{}}
}

// issue returns a new token (plain) of the tenant and its username.
func (f *fakeAuth) issue(t *testing.T, tenantID int64, slug string, scopes ...token.Scope) (username, password string) {
	t.Helper()
	if len(scopes) == 0 {
		scopes = []token.Scope{token.ScopeIngest}
	}
	iss, err := token.Issue(rand.Reader, tenantID, "test", scopes, time.Now())
	if err != nil {
		t.Fatalf("issue token: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.good[iss.Plain] = tenancy.Principal{TokenID: iss.Token.ID, TenantID: tenantID, TenantSlug: slug}
	f.scopes[iss.Plain] = scopes
	return "pulse_" + iss.Token.ID, iss.Plain
}

func (f *fakeAuth) revoke(plain string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked[plain] = true
}

func (f *fakeAuth) Authenticate(_ context.Context, raw string, need token.Scope) (tenancy.Principal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.good[raw]
	if !ok || f.revoked[raw] {
		return tenancy.Principal{}, token.ErrUnauthenticated
	}
	for _, s := range f.scopes[raw] {
		if s == need {
			return p, nil
		}
	}
	return tenancy.Principal{}, token.ErrForbidden
}

type message struct {
	topic   string
	payload string
}

// inbox collects what an inline (ingestor) subscription receives.
type inbox chan message

func (in inbox) handler(topic string, payload []byte) {
	in <- message{topic: topic, payload: string(payload)}
}

// next returns the next message, failing the test after waitFor.
func (in inbox) next(t *testing.T) message {
	t.Helper()
	select {
	case m := <-in:
		return m
	case <-time.After(waitFor):
		t.Fatal("no message delivered")
		return message{}
	}
}

type env struct {
	broker *mqttbroker.Broker
	auth   *fakeAuth
	reg    *prometheus.Registry
	inbox  inbox
}

// start runs a broker on a free local port with an inline subscription to
// metrics/+/# (as the ingestor would), closed at the end of the test.
func start(t *testing.T, opts mqttbroker.Options) *env {
	t.Helper()
	e := &env{auth: newFakeAuth(), reg: prometheus.NewRegistry(), inbox: make(inbox, 64)}
	if opts.Listen == "" && opts.TLSListen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	opts.Registerer = e.reg
	b, err := mqttbroker.New(e.auth, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := b.Subscribe("metrics/+/#", e.inbox.handler); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	e.broker = b
	return e
}

type clientOpt func(*paho.ClientOptions)

func withTLS(cfg *tls.Config) clientOpt {
	return func(o *paho.ClientOptions) { o.SetTLSConfig(cfg) }
}

func withLost(lost chan<- error) clientOpt {
	return func(o *paho.ClientOptions) {
		o.SetConnectionLostHandler(func(_ paho.Client, err error) { lost <- err })
	}
}

// dial connects a paho (MQTT 3.1.1) client; the error is the CONNECT's.
func dial(t *testing.T, url, clientID, username, password string, opts ...clientOpt) (paho.Client, error) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(url).SetClientID(clientID).
		SetUsername(username).SetPassword(password).
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectRetry(false).SetCleanSession(true).
		SetConnectTimeout(waitFor).SetKeepAlive(30 * time.Second)
	for _, opt := range opts {
		opt(o)
	}
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(waitFor) {
		t.Fatal("connect timed out")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c, nil
}

// mustDial connects to the env's plain listener or fails the test.
func (e *env) mustDial(t *testing.T, clientID, username, password string, opts ...clientOpt) paho.Client {
	t.Helper()
	c, err := dial(t, "tcp://"+e.broker.Addr(), clientID, username, password, opts...)
	if err != nil {
		t.Fatalf("connect %s: %v", clientID, err)
	}
	return c
}

// refused asserts that the CONNECT is refused.
func (e *env) refused(t *testing.T, clientID, username, password string) {
	t.Helper()
	if _, err := dial(t, "tcp://"+e.broker.Addr(), clientID, username, password); err == nil {
		t.Fatalf("connect %q as %q: accepted, want refused", clientID, username)
	}
}

func publish(t *testing.T, c paho.Client, topic string, qos byte, payload string) {
	t.Helper()
	tok := c.Publish(topic, qos, false, payload)
	if !tok.WaitTimeout(waitFor) {
		t.Fatalf("publish %s timed out", topic)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}

// counter reads a refusal counter's value for a reason from the registry.
func (e *env) counter(t *testing.T, name, reason string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
