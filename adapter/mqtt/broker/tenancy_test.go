package broker_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/pulsemetrics/pulse/adapter/mqtt/broker"
	"github.com/pulsemetrics/pulse/adapter/store/sqldb/sqldbtest"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// The broker over the real tenancy use case and SQLite store, with the
// default re-check interval: the scopes come from the stored tokens, and
// revoking a token or disabling a tenant through the Service drops the
// live connections within 5 s.
func TestRealTenancyRevokeAndDisableDropLiveSessions(t *testing.T) {
	ctx := context.Background()
	st := sqldbtest.SQLite(t).Store // migrated, closed when t ends
	svc := tenancy.NewService(st, st, tenancy.AuditFunc(st.RecordAudit), rand.Reader, time.Now, metric.DefaultLimits())
	for _, slug := range []string{"acme", "globex"} {
		if _, err := svc.CreateTenant(ctx, audit.CLI(), slug, "", 0); err != nil {
			t.Fatal(err)
		}
	}
	tok := func(slug string, scopes ...token.Scope) token.Issued {
		t.Helper()
		is, err := svc.CreateToken(ctx, audit.CLI(), slug, token.Spec{Name: "mqtt", Scopes: scopes})
		if err != nil {
			t.Fatal(err)
		}
		return is
	}
	ingest := tok("acme", token.ScopeIngest)
	reader := tok("acme", token.ScopeRead)
	globex := tok("globex", token.ScopeIngest, token.ScopeRead)

	e := startWith(t, svc, broker.Options{})
	dialTok := func(id string, is token.Issued, lost chan error) paho.Client {
		t.Helper()
		return e.mustDial(t, id, "pulse_"+is.Token.ID, is.Plain, withLost(lost))
	}
	ingLost, readLost, globexLost := make(chan error, 1), make(chan error, 1), make(chan error, 1)
	dev := dialTok("dev", ingest, ingLost)
	rd := dialTok("reader", reader, readLost)
	g := dialTok("globex", globex, globexLost)

	// Scopes as stored: the ingest token cannot subscribe, the read one can.
	if code := subscribeCode(t, dev, "metrics/acme/#", nil); code != 0x80 {
		t.Errorf("ingest token SUBACK %#x, want 0x80", code)
	}
	got := make(chan string, 10)
	if code := subscribeCode(t, rd, "metrics/acme/#", func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) }); code != 1 {
		t.Errorf("read token SUBACK %#x, want 0x01", code)
	}
	publish(t, dev, "metrics/acme/x", 1, "hello")
	select {
	case m := <-got:
		if m != "hello" {
			t.Fatalf("reader got %q", m)
		}
	case <-time.After(waitFor):
		t.Fatal("the read token received nothing")
	}

	revoked := time.Now()
	if err := svc.RevokeToken(ctx, audit.CLI(), ingest.Token.ID); err != nil {
		t.Fatal(err)
	}
	took := waitLost(t, ingLost, revoked, dropBound)
	t.Logf("tenancy.Service over SQLite: revoked token's connection dropped %s after RevokeToken", took)
	stillOpen(t, readLost)

	disabled := time.Now()
	yes := true
	if _, err := svc.UpdateTenant(ctx, audit.CLI(), "acme", nil, &yes); err != nil {
		t.Fatal(err)
	}
	took = waitLost(t, readLost, disabled, dropBound)
	t.Logf("tenancy.Service over SQLite: disabled tenant's connection dropped %s after UpdateTenant", took)

	stillOpen(t, globexLost)
	publish(t, g, "metrics/globex/x", 1, "unaffected")
	for m := e.inbox.next(t); m.topic != "metrics/globex/x"; m = e.inbox.next(t) {
	}
	if n := e.counter(t, dropped, "revoked"); n != 1 {
		t.Errorf("%s{reason=revoked} = %v, want 1", dropped, n)
	}
	if n := e.counter(t, dropped, "tenant_disabled"); n != 1 {
		t.Errorf("%s{reason=tenant_disabled} = %v, want 1", dropped, n)
	}
}
