package broker_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/pulsemetrics/pulse/adapter/mqtt/broker"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

const dropped = "pulse_mqtt_sessions_dropped_total"

// dropBound is the promise: a revoked token's (or disabled tenant's) live
// connections are closed within 5 s.
const dropBound = 5 * time.Second

// With the default re-check interval, a revoked token's open connection is
// closed within 5 s; another token of the same tenant keeps its own.
func TestRevokedTokenIsDisconnectedWithinFiveSeconds(t *testing.T) {
	e := start(t, broker.Options{}) // default interval (2 s)
	user, pass := e.auth.issue(t, 1, "acme")
	otherUser, otherPass := e.auth.issue(t, 1, "acme")
	lost, otherLost := make(chan error, 1), make(chan error, 1)
	c := e.mustDial(t, "dev-1", user, pass, withLost(lost))
	e.mustDial(t, "dev-2", user, pass, withLost(lost)) // a second device with the same token
	other := e.mustDial(t, "dev-3", otherUser, otherPass, withLost(otherLost))
	publish(t, c, "metrics/acme/x", 0, "before")
	e.inbox.next(t)

	revoked := time.Now()
	e.auth.revoke(pass)
	took := waitLost(t, lost, revoked, dropBound)
	took2 := waitLost(t, lost, revoked, dropBound)
	t.Logf("revoked token's connections dropped %s and %s after the revocation (interval %s)", took, took2, broker.DefaultRecheckInterval)

	stillOpen(t, otherLost)
	publish(t, other, "metrics/acme/x", 0, "other")
	if m := e.inbox.next(t); m.payload != "other" {
		t.Fatalf("delivered %+v", m)
	}
	if n := e.counter(t, dropped, "revoked"); n != 2 {
		t.Errorf("%s{reason=revoked} = %v, want 2", dropped, n)
	}
	e.refused(t, "dev-1", user, pass)
}

// Disabling a tenant closes every connection of its tokens within 5 s and
// leaves other tenants alone.
func TestDisabledTenantIsDisconnectedWithinFiveSeconds(t *testing.T) {
	e := start(t, broker.Options{})
	u1, p1 := e.auth.issue(t, 1, "acme")
	u2, p2 := e.auth.issue(t, 1, "acme", token.ScopeRead)
	u3, p3 := e.auth.issue(t, 2, "globex")
	lost, otherLost := make(chan error, 2), make(chan error, 1)
	e.mustDial(t, "a1", u1, p1, withLost(lost))
	e.mustDial(t, "a2", u2, p2, withLost(lost))
	g := e.mustDial(t, "g", u3, p3, withLost(otherLost))

	disabled := time.Now()
	e.auth.disableTenant(1)
	took := waitLost(t, lost, disabled, dropBound)
	took2 := waitLost(t, lost, disabled, dropBound)
	t.Logf("disabled tenant's connections dropped %s and %s after the disable", took, took2)

	stillOpen(t, otherLost)
	publish(t, g, "metrics/globex/x", 0, "still here")
	if m := e.inbox.next(t); m.topic != "metrics/globex/x" {
		t.Fatalf("delivered %+v", m)
	}
	if n := e.counter(t, dropped, "tenant_disabled"); n != 2 {
		t.Errorf("%s{reason=tenant_disabled} = %v, want 2", dropped, n)
	}
	if n := e.counter(t, connRefused, "tenant_disabled"); n != 0 {
		t.Errorf("%s{reason=tenant_disabled} = %v before any reconnect", connRefused, n)
	}
	e.refused(t, "a1", u1, p1)
	if n := e.counter(t, connRefused, "tenant_disabled"); n != 1 {
		t.Errorf("%s{reason=tenant_disabled} = %v, want 1", connRefused, n)
	}
}

// An MQTT 5 client is told why: DISCONNECT with reason 0x87.
func TestV5RevokedClientGetsDisconnectNotAuthorized(t *testing.T) {
	e := start(t, broker.Options{RecheckInterval: 50 * time.Millisecond})
	user, pass := e.auth.issue(t, 1, "acme")
	c, code := dialV5(t, e.broker.Addr(), "v5", user, pass)
	if code != 0 {
		t.Fatalf("CONNACK %#x", code)
	}
	e.auth.revoke(pass)
	if pk := c.read(); pk.FixedHeader.Type != packets.Disconnect || pk.ReasonCode != packets.ErrNotAuthorized.Code {
		t.Fatalf("got type %d reason %#x, want DISCONNECT 0x87", pk.FixedHeader.Type, pk.ReasonCode)
	}
}

// A storage outage (any error other than unauthenticated/forbidden) closes
// nobody, is logged once however long it lasts, and the sweep carries on:
// once storage is back, a revocation still closes the connection.
func TestTransientAuthErrorDisconnectsNobody(t *testing.T) {
	const every = 30 * time.Millisecond
	e := start(t, broker.Options{RecheckInterval: every})
	user, pass := e.auth.issue(t, 1, "acme")
	user2, pass2 := e.auth.issue(t, 2, "globex", token.ScopeRead)
	lost := make(chan error, 2)
	c := e.mustDial(t, "dev", user, pass, withLost(lost))
	e.mustDial(t, "reader", user2, pass2, withLost(lost))

	e.auth.failWith(errors.New("database is down"))
	before := e.auth.callCount()
	time.Sleep(20 * every)
	if sweeps := e.auth.callCount() - before; sweeps < 4 {
		t.Fatalf("%d re-checks in %s: the sweep did not run", sweeps, 20*every)
	}
	stillOpen(t, lost)
	if n := len(e.logs.lines("level=WARN", "re-checking", "database is down")); n != 1 {
		t.Errorf("the transient failure was logged %d times, want once (rate-limited):\n%s", n, e.logs)
	}
	if contains(e.logs.String(), pass) || contains(e.logs.String(), pass2) {
		t.Error("a token appears in the logs")
	}
	publish(t, c, "metrics/acme/x", 0, "during the outage") // the session still works
	e.inbox.next(t)

	e.auth.failWith(nil)
	e.auth.revoke(pass)
	waitLost(t, lost, time.Now(), dropBound)
	stillOpen(t, lost) // only the revoked token's connection
}

// The sweep checks each distinct token once, however many connections
// present it, and refreshes the principal (here its quota).
func TestRecheckOncePerTokenAndRefreshesThePrincipal(t *testing.T) {
	const every = 50 * time.Millisecond
	var quota atomic.Int64
	e := start(t, broker.Options{RecheckInterval: every, OnPublish: func(p tenancy.Principal, _ string, _ []byte) error {
		quota.Store(p.SamplesPerMinute)
		return nil
	}})
	user, pass := e.auth.issue(t, 1, "acme")
	clients := make([]paho.Client, 5)
	for i := range clients {
		clients[i] = e.mustDial(t, "dev-"+string(rune('a'+i)), user, pass)
	}
	before := e.auth.callCount()
	start := time.Now()
	time.Sleep(10 * every)
	calls, sweeps := e.auth.callCount()-before, int(time.Since(start)/every)+1
	if calls > sweeps {
		t.Errorf("%d token checks in %d sweeps of 5 connections sharing one token, want at most one per sweep", calls, sweeps)
	}

	e.auth.setQuota(pass, 42)
	deadline := time.Now().Add(waitFor)
	for quota.Load() != 42 {
		if time.Now().After(deadline) {
			t.Fatalf("OnPublish still sees quota %d, want the refreshed 42", quota.Load())
		}
		publish(t, clients[0], "metrics/acme/x", 0, "q")
		e.inbox.next(t)
		time.Sleep(every)
	}
}

// A dropped client's will is not published: the token that set it is no
// longer valid.
func TestRevokedClientsWillIsNotPublished(t *testing.T) {
	e := start(t, broker.Options{RecheckInterval: 30 * time.Millisecond})
	user, pass := e.auth.issue(t, 1, "acme")
	lost := make(chan error, 1)
	will := func(o *paho.ClientOptions) { o.SetWill("metrics/acme/status", "gone", 0, false) }
	e.mustDial(t, "dev", user, pass, will, withLost(lost))

	e.auth.revoke(pass)
	waitLost(t, lost, time.Now(), dropBound)
	select {
	case m := <-e.inbox:
		t.Fatalf("the revoked client's will was published: %+v", m)
	case <-time.After(300 * time.Millisecond):
	}
}

// Close stops the sweep: no token check runs after it.
func TestCloseStopsTheRecheck(t *testing.T) {
	auth := newFakeAuth()
	b, err := broker.New(auth, broker.Options{Listen: "127.0.0.1:0", RecheckInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	user, pass := auth.issue(t, 1, "acme")
	if _, err := dial(t, "tcp://"+b.Addr(), "dev", user, pass); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	n := auth.callCount()
	time.Sleep(100 * time.Millisecond)
	if got := auth.callCount(); got != n {
		t.Fatalf("%d token checks after Close", got-n)
	}
}

func TestNewRefusesANegativeRecheckInterval(t *testing.T) {
	if _, err := broker.New(newFakeAuth(), broker.Options{Listen: "127.0.0.1:0", RecheckInterval: -time.Second}); err == nil {
		t.Fatal("New accepted a negative re-check interval")
	}
}
