package dynsec_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/pulsemetrics/pulse/adapter/mqtt/dynsec"
	"github.com/pulsemetrics/pulse/domain/token"
)

// wait bounds every expected event; it is a safety net, not a timing goal.
const wait = 10 * time.Second

func newProvisioner(t *testing.T, b *broker) *dynsec.Provisioner {
	t.Helper()
	p, err := dynsec.New(dynsec.Options{
		BrokerURL: b.URL, Username: b.AdminUser, Password: b.AdminPass, Timeout: wait,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// issue issues a token with the scopes (ingest when none are given).
func issue(t *testing.T, scopes ...token.Scope) token.Issued {
	t.Helper()
	if len(scopes) == 0 {
		scopes = []token.Scope{token.ScopeIngest}
	}
	is, err := token.Issue(rand.Reader, 1, "test", scopes, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return is
}

// provision provisions an ingest-only token (ProvisionToken).
func provision(t *testing.T, p *dynsec.Provisioner, slug string) token.Issued {
	t.Helper()
	is := issue(t)
	if err := p.ProvisionToken(context.Background(), is.Token.ID, slug, is.Plain); err != nil {
		t.Fatalf("ProvisionToken(%s): %v", slug, err)
	}
	return is
}

// provisionScopes provisions a token with the scopes (ProvisionTokenScopes).
func provisionScopes(t *testing.T, p *dynsec.Provisioner, slug string, scopes ...token.Scope) token.Issued {
	t.Helper()
	is := issue(t, scopes...)
	if err := p.ProvisionTokenScopes(context.Background(), is.Token.ID, slug, is.Plain, scopes); err != nil {
		t.Fatalf("ProvisionTokenScopes(%s, %v): %v", slug, scopes, err)
	}
	return is
}

// client is a test MQTT connection that records what it receives and
// whether the broker dropped it.
type client struct {
	mqtt.Client
	mu   sync.Mutex
	got  []string // "topic payload"
	recv chan struct{}
	lost chan error
}

func dial(b *broker, user, pass string) (*client, error) {
	c := &client{recv: make(chan struct{}, 1000), lost: make(chan error, 1)}
	o := mqtt.NewClientOptions().AddBroker(b.URL).
		SetClientID("test-" + hex.EncodeToString(randBytes(6))).
		SetUsername(user).SetPassword(pass).
		SetProtocolVersion(4).SetCleanSession(true).
		SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(wait).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			c.mu.Lock()
			c.got = append(c.got, m.Topic()+" "+string(m.Payload()))
			c.mu.Unlock()
			c.recv <- struct{}{}
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) { c.lost <- err })
	c.Client = mqtt.NewClient(o)
	t := c.Connect()
	if !t.WaitTimeout(wait) {
		return nil, errors.New("connect: no answer")
	}
	if err := t.Error(); err != nil {
		return nil, err
	}
	return c, nil
}

func mustDial(t *testing.T, b *broker, user, pass string) *client {
	t.Helper()
	c, err := dial(b, user, pass)
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

// subscribe returns whether the broker granted the filter.
func (c *client) subscribe(t *testing.T, filter string) bool {
	t.Helper()
	tok := c.Subscribe(filter, 1, nil)
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
	// paho keys a $share/<group>/ filter's result by the filter without the prefix.
	res := tok.(*mqtt.SubscribeToken).Result()
	if len(res) != 1 {
		t.Fatalf("subscribe %s: %d results", filter, len(res))
	}
	for _, q := range res {
		return q != 0x80
	}
	return false
}

func (c *client) publish(t *testing.T, topic, payload string) {
	t.Helper()
	tok := c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// waitFor waits until a message with payload marker arrived and returns
// everything received so far. Messages from one publisher arrive in order,
// so anything published before the marker has arrived by then too.
func (c *client) waitFor(t *testing.T, marker string) []string {
	t.Helper()
	deadline := time.After(wait)
	for {
		c.mu.Lock()
		got := slices.Clone(c.got)
		c.mu.Unlock()
		for _, g := range got {
			if strings.HasSuffix(g, " "+marker) {
				return got
			}
		}
		select {
		case <-c.recv:
		case <-deadline:
			t.Fatalf("message %q not received; got %q", marker, got)
		}
	}
}

func TestTenantTokenPublishesOnlyUnderItsTenant(t *testing.T) {
	b := startBroker(t)
	p := newProvisioner(t, b)
	acme := provisionScopes(t, p, "acme", token.ScopeIngest, token.ScopeRead) // it subscribes below
	globex := provision(t, p, "globex")

	ingestor := mustDial(t, b, b.IngestorUser, b.IngestorPwd)
	if !ingestor.subscribe(t, "metrics/+/#") {
		t.Fatal("ingestor refused metrics/+/#")
	}
	shared := mustDial(t, b, b.IngestorUser, b.IngestorPwd)
	if !shared.subscribe(t, "$share/pulse-ingestors/metrics/+/#") {
		t.Fatal("ingestor refused the shared subscription $share/pulse-ingestors/metrics/+/#")
	}

	a := mustDial(t, b, "pulse_"+acme.Token.ID, acme.Plain)
	g := mustDial(t, b, "pulse_"+globex.Token.ID, globex.Plain)
	for _, f := range []string{"metrics/#", "metrics/+/#", "metrics/globex/#", "#", "$share/x/metrics/#", "$share/x/metrics/globex/#", "$share/pulse-ingestors/metrics/+/#"} {
		if a.subscribe(t, f) {
			t.Errorf("tenant acme was granted %s", f)
		}
	}
	if !a.subscribe(t, "metrics/acme/#") {
		t.Fatal("tenant acme refused its own metrics/acme/#")
	}

	a.publish(t, "metrics/acme/system/agent-1", "own")
	a.publish(t, "metrics/globex/x", "forged")
	a.publish(t, "elsewhere/x", "forged")
	g.publish(t, "metrics/globex/x", "globex-data")
	a.publish(t, "metrics/acme/x", "done")

	got := ingestor.waitFor(t, "done")
	want := []string{"metrics/acme/system/agent-1 own", "metrics/globex/x globex-data", "metrics/acme/x done"}
	if !slices.Equal(got, want) {
		t.Errorf("ingestor got %q, want %q", got, want)
	}
	shared.waitFor(t, "done")
	if got := a.waitFor(t, "done"); !slices.Equal(got, []string{"metrics/acme/system/agent-1 own", "metrics/acme/x done"}) {
		t.Errorf("tenant acme received %q, want only its own messages", got)
	}
}

func TestWrongPasswordIsRefused(t *testing.T) {
	b := startBroker(t)
	p := newProvisioner(t, b)
	acme := provision(t, p, "acme")
	other := issue(t)
	for name, pass := range map[string]string{"other token": other.Plain, "empty": "", "prefix": acme.Plain[:20]} {
		if c, err := dial(b, "pulse_"+acme.Token.ID, pass); err == nil {
			c.Disconnect(0)
			t.Errorf("%s: connected with a wrong password", name)
		}
	}
	if c, err := dial(b, "pulse_"+other.Token.ID, other.Plain); err == nil {
		c.Disconnect(0)
		t.Error("a token never provisioned connected")
	}
}

func TestRevokeRefusesAndDisconnects(t *testing.T) {
	b := startBroker(t)
	p := newProvisioner(t, b)
	acme := provision(t, p, "acme")
	user := "pulse_" + acme.Token.ID
	c := mustDial(t, b, user, acme.Plain)

	if err := p.RevokeToken(context.Background(), acme.Token.ID); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	select {
	case <-c.lost:
	case <-time.After(wait):
		t.Fatal("the revoked token's connection was not dropped")
	}
	if c, err := dial(b, user, acme.Plain); err == nil {
		c.Disconnect(0)
		t.Fatal("a revoked token connected")
	}
	// Revoking again (or an unknown token) is not an error; "pulse_<id>" is accepted.
	if err := p.RevokeToken(context.Background(), user); err != nil {
		t.Fatalf("second RevokeToken: %v", err)
	}
}

func TestProvisionTwiceIsFine(t *testing.T) {
	b := startBroker(t)
	p := newProvisioner(t, b)
	acme := provision(t, p, "acme")
	if err := p.ProvisionToken(context.Background(), acme.Token.ID, "acme", acme.Plain); err != nil {
		t.Fatalf("second ProvisionToken: %v", err)
	}
	first := mustDial(t, b, "pulse_"+acme.Token.ID, acme.Plain)
	ingestor := mustDial(t, b, b.IngestorUser, b.IngestorPwd)
	ingestor.subscribe(t, "metrics/+/#")

	// Another token of the same tenant (the role exists already) leaves the
	// tenant's connected clients alone: the plugin answers only after it has
	// kicked whom it kicks, so a dropped connection would show here.
	second := provision(t, p, "acme")
	first.publish(t, "metrics/acme/x", "first")
	mustDial(t, b, "pulse_"+second.Token.ID, second.Plain).publish(t, "metrics/acme/x", "second")
	ingestor.waitFor(t, "second")
	select {
	case err := <-first.lost:
		t.Fatalf("provisioning another token of the tenant dropped a connection: %v", err)
	default:
	}
	if got := ingestor.waitFor(t, "second"); !slices.Contains(got, "metrics/acme/x first") {
		t.Errorf("ingestor got %q", got)
	}
}

func TestSyncDeletesTokensNotActive(t *testing.T) {
	b := startBroker(t)
	p := newProvisioner(t, b)
	ctx := context.Background()
	keep := provision(t, p, "acme")
	stale := provision(t, p, "acme")
	gone := provision(t, p, "globex") // its tenant has no active token left
	lost := issue(t)                  // active in Pulse, never reached the broker
	staleConn := mustDial(t, b, "pulse_"+stale.Token.ID, stale.Plain)

	rep, err := p.Sync(ctx, []dynsec.Account{
		{TokenID: keep.Token.ID, TenantSlug: "acme"},
		{TokenID: lost.Token.ID, TenantSlug: "acme"},
	})
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	wantDeleted := []string{"pulse_" + stale.Token.ID, "pulse_" + gone.Token.ID}
	slices.Sort(wantDeleted)
	slices.Sort(rep.DeletedClients)
	if !slices.Equal(rep.DeletedClients, wantDeleted) {
		t.Errorf("DeletedClients = %q, want %q", rep.DeletedClients, wantDeleted)
	}
	if !slices.Equal(rep.DeletedRoles, []string{"tenant-globex"}) {
		t.Errorf("DeletedRoles = %q, want [tenant-globex]", rep.DeletedRoles)
	}
	if !slices.Equal(rep.Missing, []string{"pulse_" + lost.Token.ID}) {
		t.Errorf("Missing = %q, want [pulse_%s]", rep.Missing, lost.Token.ID)
	}
	select {
	case <-staleConn.lost:
	case <-time.After(wait):
		t.Fatal("the deleted client's connection was not dropped")
	}
	for _, is := range []token.Issued{stale, gone} {
		if c, err := dial(b, "pulse_"+is.Token.ID, is.Plain); err == nil {
			c.Disconnect(0)
			t.Errorf("pulse_%s connected after Sync removed it", is.Token.ID)
		}
	}
	mustDial(t, b, "pulse_"+keep.Token.ID, keep.Plain).publish(t, "metrics/acme/x", "ok")
	mustDial(t, b, b.IngestorUser, b.IngestorPwd) // service accounts are left alone

	// A second run changes nothing; a known plain token is provisioned.
	rep, err = p.Sync(ctx, []dynsec.Account{
		{TokenID: keep.Token.ID, TenantSlug: "acme"},
		{TokenID: lost.Token.ID, TenantSlug: "acme", Plain: lost.Plain},
	})
	if err != nil {
		t.Fatalf("second Sync: %v", err)
	}
	if len(rep.DeletedClients)+len(rep.DeletedRoles)+len(rep.RepairedClients)+len(rep.Missing) != 0 ||
		!slices.Equal(rep.CreatedClients, []string{"pulse_" + lost.Token.ID}) {
		t.Errorf("second Sync report = %+v, want only CreatedClients [pulse_%s]", rep, lost.Token.ID)
	}
	mustDial(t, b, "pulse_"+lost.Token.ID, lost.Plain)
}

func TestDisabledTenantCannotConnect(t *testing.T) {
	b := startBroker(t)
	p := newProvisioner(t, b)
	ctx := context.Background()
	acme := provision(t, p, "acme")
	globex := provision(t, p, "globex")
	conn := mustDial(t, b, "pulse_"+acme.Token.ID, acme.Plain)

	if err := p.SetTenantEnabled(ctx, "acme", false); err != nil {
		t.Fatalf("disable: %v", err)
	}
	select {
	case <-conn.lost:
	case <-time.After(wait):
		t.Fatal("a disabled tenant's connection was not dropped")
	}
	if c, err := dial(b, "pulse_"+acme.Token.ID, acme.Plain); err == nil {
		c.Disconnect(0)
		t.Fatal("a disabled tenant's token connected")
	}
	mustDial(t, b, "pulse_"+globex.Token.ID, globex.Plain) // other tenants unaffected

	// Sync keeps the disabled client (its password cannot be restored) and
	// re-enables it once the tenant is enabled in Pulse.
	rep, err := p.Sync(ctx, []dynsec.Account{
		{TokenID: acme.Token.ID, TenantSlug: "acme", Disabled: true},
		{TokenID: globex.Token.ID, TenantSlug: "globex"},
	})
	if err != nil || len(rep.DeletedClients)+len(rep.RepairedClients) != 0 {
		t.Fatalf("Sync of a disabled tenant = %+v, %v; want no change", rep, err)
	}
	rep, err = p.Sync(ctx, []dynsec.Account{
		{TokenID: acme.Token.ID, TenantSlug: "acme"},
		{TokenID: globex.Token.ID, TenantSlug: "globex"},
	})
	if err != nil || !slices.Equal(rep.RepairedClients, []string{"pulse_" + acme.Token.ID}) {
		t.Fatalf("Sync after enabling = %+v, %v; want acme's client repaired", rep, err)
	}
	mustDial(t, b, "pulse_"+acme.Token.ID, acme.Plain).publish(t, "metrics/acme/x", "back")
	if err := p.SetTenantEnabled(ctx, "acme", true); err != nil { // already enabled
		t.Fatalf("enable: %v", err)
	}
}

func TestInitScriptIsIdempotent(t *testing.T) {
	b := startBroker(t)
	if err := b.InitDynsec("all"); err != nil { // file kept, accounts exist already
		t.Fatal(err)
	}
	ingestor := mustDial(t, b, b.IngestorUser, b.IngestorPwd)
	if !ingestor.subscribe(t, "$share/g/metrics/+/#") {
		t.Fatal("ingestor lost its shared subscription right")
	}
	if ingestor.subscribe(t, "$CONTROL/dynamic-security/#") || ingestor.subscribe(t, "other/#") {
		t.Fatal("ingestor may subscribe outside metrics/")
	}
}

func TestInvalidInputIsRefusedBeforeTheBroker(t *testing.T) {
	b := startBroker(t)
	p := newProvisioner(t, b)
	ctx := context.Background()
	is := issue(t)
	for name, err := range map[string]error{
		"bad id":        p.ProvisionToken(ctx, "nope", "acme", is.Plain),
		"wildcard slug": p.ProvisionToken(ctx, is.Token.ID, "acme/#", is.Plain),
		"empty slug":    p.ProvisionToken(ctx, is.Token.ID, "", is.Plain),
		"empty token":   p.ProvisionToken(ctx, is.Token.ID, "acme", ""),
		// ':' separates a tenant's role name from its scope suffix.
		"colon slug":    p.ProvisionToken(ctx, is.Token.ID, "acme:read", is.Plain),
		"admin scope":   p.ProvisionTokenScopes(ctx, is.Token.ID, "acme", is.Plain, []token.Scope{token.ScopeAdmin}),
		"revoke bad id": p.RevokeToken(ctx, "a+b"),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestNewRefusesAWrongAdmin(t *testing.T) {
	b := startBroker(t)
	_, err := dynsec.New(dynsec.Options{
		BrokerURL: b.URL, Username: b.AdminUser, Password: "wrong", Timeout: wait,
	})
	if err == nil {
		t.Fatal("New connected with a wrong admin password")
	}
}

func TestNoAnswerTimesOutWithAClearError(t *testing.T) {
	b := startBroker(t)
	// The ingestor may connect but not use the control API: the broker drops
	// its commands, so nothing ever answers.
	p, err := dynsec.New(dynsec.Options{
		BrokerURL: b.URL, Username: b.IngestorUser, Password: b.IngestorPwd, Timeout: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer p.Close()
	is := issue(t)
	err = p.ProvisionToken(context.Background(), is.Token.ID, "acme", is.Plain)
	if err == nil || !strings.Contains(err.Error(), "no answer from the dynamic security plugin") ||
		!errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a clear timeout", err)
	}
	p.Close()
	if err := p.RevokeToken(context.Background(), is.Token.ID); !errors.Is(err, dynsec.ErrClosed) {
		t.Fatalf("after Close: err = %v, want ErrClosed", err)
	}
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}
