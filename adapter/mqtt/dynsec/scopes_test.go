package dynsec_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/mqtt/dynsec"
	"github.com/pulsemetrics/pulse/domain/token"
)

// ingestOnlyACLs are the ACLs of an ingest-only tenant role, as getRole
// lists them.
func ingestOnlyACLs(slug string) []string {
	return []string{
		"publishClientSend metrics/" + slug + "/# true 10",
		"publishClientSend # false 0",
		"subscribePattern # false 0",
		"publishClientReceive # false 0",
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// An ingest-only token's client may publish under its tenant but neither
// subscribe there nor receive; a read token's client may subscribe and
// receive but not publish; a token with both may do both.
func TestSubscribingNeedsTheReadScope(t *testing.T) {
	b := startBroker(t)
	p := newProvisioner(t, b)
	ctx := context.Background()
	ing := provision(t, p, "acme")
	rd := provisionScopes(t, p, "acme", token.ScopeRead)
	both := provisionScopes(t, p, "acme", token.ScopeIngest, token.ScopeRead)

	ingestor := mustDial(t, b, b.IngestorUser, b.IngestorPwd)
	ingestor.subscribe(t, "metrics/+/#")
	ingC := mustDial(t, b, "pulse_"+ing.Token.ID, ing.Plain)
	rdC := mustDial(t, b, "pulse_"+rd.Token.ID, rd.Plain)
	bothC := mustDial(t, b, "pulse_"+both.Token.ID, both.Plain)

	for _, f := range []string{"metrics/acme/#", "metrics/acme/x", "$share/g/metrics/acme/#"} {
		if ingC.subscribe(t, f) {
			t.Errorf("the ingest-only token was granted %s", f)
		}
	}
	if !rdC.subscribe(t, "metrics/acme/#") {
		t.Fatal("the read token was refused its tenant's metrics/acme/#")
	}
	if !bothC.subscribe(t, "metrics/acme/#") {
		t.Fatal("the ingest+read token was refused its tenant's metrics/acme/#")
	}
	for _, f := range []string{"metrics/#", "metrics/globex/#", "$share/pulse-ingestors/metrics/+/#"} {
		if rdC.subscribe(t, f) {
			t.Errorf("the read token was granted %s", f)
		}
	}

	// Another read token of the tenant (its role exists, with the right
	// ACLs) leaves the connected readers alone.
	provisionScopes(t, p, "acme", token.ScopeRead)
	select {
	case err := <-rdC.lost:
		t.Fatalf("provisioning another read token dropped a reader: %v", err)
	default:
	}

	ingC.publish(t, "metrics/acme/x", "from-ingest")
	rdC.publish(t, "metrics/acme/x", "forged-by-reader")
	bothC.publish(t, "metrics/acme/x", "from-both")
	ingC.publish(t, "metrics/acme/x", "done")

	want := []string{"metrics/acme/x from-ingest", "metrics/acme/x from-both", "metrics/acme/x done"}
	if got := ingestor.waitFor(t, "done"); !slices.Equal(got, want) {
		t.Errorf("ingestor got %q, want %q (a read-only token published?)", got, want)
	}
	if got := rdC.waitFor(t, "done"); !slices.Equal(got, want) {
		t.Errorf("the read token received %q, want %q", got, want)
	}
	if got := bothC.waitFor(t, "done"); !slices.Equal(got, want) {
		t.Errorf("the ingest+read token received %q, want %q", got, want)
	}
	ingC.mu.Lock()
	got := slices.Clone(ingC.got)
	ingC.mu.Unlock()
	if len(got) != 0 {
		t.Errorf("the ingest-only token received %q", got)
	}

	for role, want := range map[string]string{
		dynsec.RoleFor("acme", nil):                                               "tenant-acme",
		dynsec.RoleFor("acme", []token.Scope{token.ScopeIngest}):                  "tenant-acme",
		dynsec.RoleFor("acme", []token.Scope{token.ScopeRead}):                    "tenant-acme:read",
		dynsec.RoleFor("acme", []token.Scope{token.ScopeRead, token.ScopeIngest}): "tenant-acme:ingest-read",
		dynsec.RoleFor("acme", []token.Scope{token.ScopeAdmin}):                   "",
	} {
		if role != want {
			t.Errorf("RoleFor = %q, want %q", role, want)
		}
	}
	if acls, err := p.RoleACLs(ctx, "tenant-acme"); err != nil || !sameSet(acls, ingestOnlyACLs("acme")) {
		t.Errorf("tenant-acme ACLs = %q, %v; want %q", acls, err, ingestOnlyACLs("acme"))
	}
}

// A broker provisioned by an older Pulse gave every token's client the
// right to subscribe to its tenant's topics. Sync (`pulse mqtt sync`)
// takes it away from ingest-only tokens, moves ingest+read tokens to the
// role that keeps it, and is idempotent.
func TestSyncClosesTheSubscribeHoleOfExistingClients(t *testing.T) {
	b := startBroker(t)
	p := newProvisioner(t, b)
	ctx := context.Background()
	ing := issue(t, token.ScopeIngest)
	both := issue(t, token.ScopeIngest, token.ScopeRead)
	for _, is := range []token.Issued{ing, both} {
		if err := p.ProvisionLegacy(ctx, is.Token.ID, "acme", is.Plain); err != nil {
			t.Fatal(err)
		}
	}
	ingestor := mustDial(t, b, b.IngestorUser, b.IngestorPwd)
	ingestor.subscribe(t, "metrics/+/#")
	old := mustDial(t, b, "pulse_"+ing.Token.ID, ing.Plain)
	if !old.subscribe(t, "metrics/acme/#") {
		t.Fatal("the legacy setup does not reproduce the hole: an ingest-only token could not subscribe")
	}

	accounts := []dynsec.Account{
		{TokenID: ing.Token.ID, TenantSlug: "acme"}, // no scopes: ingest only, what an older caller passes
		{TokenID: both.Token.ID, TenantSlug: "acme", Scopes: both.Token.Scopes},
	}
	rep, err := p.Sync(ctx, accounts)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if !slices.Equal(rep.RepairedRoles, []string{"tenant-acme"}) ||
		!slices.Equal(rep.RepairedClients, []string{"pulse_" + both.Token.ID}) ||
		len(rep.DeletedClients)+len(rep.DeletedRoles)+len(rep.CreatedClients)+len(rep.Missing) != 0 {
		t.Errorf("Sync report = %+v, want tenant-acme's ACLs and pulse_%s's role repaired only", rep, both.Token.ID)
	}
	if acls, err := p.RoleACLs(ctx, "tenant-acme"); err != nil || !sameSet(acls, ingestOnlyACLs("acme")) {
		t.Errorf("tenant-acme ACLs after Sync = %q, %v; want %q", acls, err, ingestOnlyACLs("acme"))
	}

	// The old subscription (if the connection survived) delivers nothing
	// any more, and a new one is refused.
	pub := mustDial(t, b, "pulse_"+both.Token.ID, both.Plain)
	if !pub.subscribe(t, "metrics/acme/#") {
		t.Fatal("the ingest+read token lost its subscribe right")
	}
	pub.publish(t, "metrics/acme/x", "after-sync")
	ingestor.waitFor(t, "after-sync")
	pub.waitFor(t, "after-sync")
	time.Sleep(100 * time.Millisecond) // the broker delivers to all subscribers at once; be generous
	old.mu.Lock()
	got := slices.Clone(old.got)
	old.mu.Unlock()
	if slices.Contains(got, "metrics/acme/x after-sync") {
		t.Error("the ingest-only token still receives on its old subscription after Sync")
	}
	select {
	case err := <-old.lost:
		t.Logf("the broker closed the ingest-only token's connection at Sync: %v", err)
	default:
		t.Log("the ingest-only token's connection survived Sync")
	}
	fresh := mustDial(t, b, "pulse_"+ing.Token.ID, ing.Plain)
	if fresh.subscribe(t, "metrics/acme/#") {
		t.Error("the ingest-only token may still subscribe after Sync")
	}
	fresh.publish(t, "metrics/acme/x", "still-publishes")
	ingestor.waitFor(t, "still-publishes")

	rep, err = p.Sync(ctx, accounts)
	if err != nil {
		t.Fatalf("second Sync: %v", err)
	}
	if len(rep.RepairedRoles)+len(rep.RepairedClients)+len(rep.DeletedClients)+len(rep.DeletedRoles)+len(rep.CreatedClients)+len(rep.Missing) != 0 {
		t.Errorf("second Sync report = %+v, want no change", rep)
	}

	// Once no token of the tenant is ingest-only, its ingest role goes.
	rep, err = p.Sync(ctx, accounts[1:])
	if err != nil {
		t.Fatalf("third Sync: %v", err)
	}
	if !slices.Equal(rep.DeletedRoles, []string{"tenant-acme"}) {
		t.Errorf("third Sync report = %+v, want tenant-acme deleted", rep)
	}
}

// Disabling a tenant drops and refuses the clients of all its tokens,
// whatever their scopes; enabling it restores them.
func TestDisableCoversEveryRoleOfTheTenant(t *testing.T) {
	b := startBroker(t)
	p := newProvisioner(t, b)
	ctx := context.Background()
	tokens := []token.Issued{
		provision(t, p, "acme"),
		provisionScopes(t, p, "acme", token.ScopeRead),
		provisionScopes(t, p, "acme", token.ScopeIngest, token.ScopeRead),
	}
	var conns []*client
	for _, is := range tokens {
		conns = append(conns, mustDial(t, b, "pulse_"+is.Token.ID, is.Plain))
	}
	if err := p.SetTenantEnabled(ctx, "acme", false); err != nil {
		t.Fatal(err)
	}
	for i, c := range conns {
		select {
		case <-c.lost:
		case <-time.After(wait):
			t.Fatalf("token %d's connection was not dropped", i)
		}
		if c, err := dial(b, "pulse_"+tokens[i].Token.ID, tokens[i].Plain); err == nil {
			c.Disconnect(0)
			t.Errorf("token %d connected to a disabled tenant", i)
		}
	}
	if err := p.SetTenantEnabled(ctx, "acme", true); err != nil {
		t.Fatal(err)
	}
	for _, is := range tokens {
		mustDial(t, b, "pulse_"+is.Token.ID, is.Plain)
	}
}
