package broker_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsemetrics/pulse/adapter/mqtt/broker"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

const waitFor = 5 * time.Second

// fakeAuth maps issued tokens to principals; anything else, and a revoked
// token, is token.ErrUnauthenticated. A disabled tenant's tokens get an
// error matching tenant.ErrDisabled and token.ErrForbidden (as
// tenancy.Service does), and while fail is set every call fails with it.
type fakeAuth struct {
	mu       sync.Mutex
	good     map[string]tenancy.Principal
	revoked  map[string]bool
	scopes   map[string][]token.Scope
	disabled map[int64]bool
	fail     error
	calls    int
}

func newFakeAuth() *fakeAuth {
	return &fakeAuth{good: map[string]tenancy.Principal{}, revoked: map[string]bool{},
		scopes: map[string][]token.Scope{}, disabled: map[int64]bool{}}
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
	f.good[iss.Plain] = tenancy.Principal{TokenID: iss.Token.ID, TenantID: tenantID, TenantSlug: slug, Scopes: scopes}
	f.scopes[iss.Plain] = scopes
	return "pulse_" + iss.Token.ID, iss.Plain
}

func (f *fakeAuth) revoke(plain string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked[plain] = true
}

func (f *fakeAuth) disableTenant(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.disabled[id] = true
}

// failWith makes every call fail with err (nil: work again).
func (f *fakeAuth) failWith(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = err
}

// setQuota changes the quota the token's principal reports.
func (f *fakeAuth) setQuota(plain string, perMinute int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.good[plain]
	p.SamplesPerMinute = perMinute
	f.good[plain] = p
}

func (f *fakeAuth) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *fakeAuth) Authenticate(_ context.Context, raw string, need token.Scope) (tenancy.Principal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail != nil {
		return tenancy.Principal{}, f.fail
	}
	p, ok := f.good[raw]
	if !ok || f.revoked[raw] {
		return tenancy.Principal{}, token.ErrUnauthenticated
	}
	if f.disabled[p.TenantID] {
		return tenancy.Principal{}, fmt.Errorf("tenant %s: %w (%w)", p.TenantSlug, tenant.ErrDisabled, token.ErrForbidden)
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
	broker *broker.Broker
	auth   *fakeAuth
	reg    *prometheus.Registry
	inbox  inbox
	logs   *syncBuffer // the broker's logs (debug and up), as text
}

// start runs a broker on a free local port with an inline subscription to
// metrics/+/# (as the ingestor would), closed at the end of the test.
func start(t *testing.T, opts broker.Options) *env {
	t.Helper()
	return startWith(t, nil, opts)
}

// startWith is start with another Authenticator (nil: the env's fakeAuth).
func startWith(t *testing.T, auth broker.Authenticator, opts broker.Options) *env {
	t.Helper()
	e := &env{auth: newFakeAuth(), reg: prometheus.NewRegistry(), inbox: make(inbox, 64), logs: &syncBuffer{}}
	if auth == nil {
		auth = e.auth
	}
	if opts.Listen == "" && opts.TLSListen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	opts.Registerer = e.reg
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	b, err := broker.New(auth, opts)
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

// syncBuffer is a bytes.Buffer safe for the broker's concurrent logging.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the log lines containing every one of subs.
func (b *syncBuffer) lines(subs ...string) []string {
	var out []string
next:
	for _, l := range strings.Split(b.String(), "\n") {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

// waitLost waits until the client's connection is lost and returns how
// long it took from since, failing the test after within.
func waitLost(t *testing.T, lost <-chan error, since time.Time, within time.Duration) time.Duration {
	t.Helper()
	select {
	case <-lost:
		return time.Since(since)
	case <-time.After(within - time.Since(since)):
		t.Fatalf("the connection is still open %s later", within)
		return 0
	}
}

// stillOpen asserts that the client was not disconnected.
func stillOpen(t *testing.T, lost <-chan error) {
	t.Helper()
	select {
	case err := <-lost:
		t.Fatalf("the connection was closed: %v", err)
	default:
	}
}
