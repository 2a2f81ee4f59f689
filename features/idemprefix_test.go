package features_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

// TestIdempotencyKeysOfTwoDeploymentsOnOneRedis: two Pulse deployments
// (two databases) share one Redis, each with its own queue stream and quota
// prefix, as the project's tests and a developer's services do. Tenant ids
// are per database, so each deployment's first tenant has id 1. A client of
// the second deployment sending the same body with the same Idempotency-Key
// as a client of the first must get its own request stored.
//
// Fails today: redisidempotency keys are "pulse:idem:<tenant id>:<key>"
// whatever the settings (wiring.ProvideIdempotency passes prefix ""), so
// the second request is answered as a replay of the first deployment's
// (202, Idempotent-Replayed: true, the other deployment's request_id) and
// its samples are never stored; with another body it gets 422.
func TestIdempotencyKeysOfTwoDeploymentsOnOneRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two in-process servers on MariaDB and Redis")
	}
	ctx := context.Background()
	type deployment struct {
		srv *server
		tok string
		tid int64
	}
	var deps [2]deployment
	for i := range deps {
		srv := startServer(t, "distributed", distributedEnv(t)) // own database, own stream and quota prefix
		slug := testservice.UniqueName("idem-")
		ten, err := srv.tenancy.CreateTenant(ctx, audit.CLI(), slug, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		issued, err := srv.tenancy.CreateToken(ctx, audit.CLI(), slug, token.Spec{Name: "idem", Scopes: []token.Scope{token.ScopeIngest, token.ScopeRead}})
		if err != nil {
			t.Fatal(err)
		}
		deps[i] = deployment{srv: srv, tok: issued.Plain, tid: ten.ID}
	}
	if deps[0].tid != deps[1].tid {
		t.Fatalf("precondition: the first tenant of each fresh database should have the same id, got %d and %d", deps[0].tid, deps[1].tid)
	}
	key := testservice.UniqueName("key-")
	client, _ := testservice.Redis(t)
	t.Cleanup(func() { client.Del(context.Background(), fmt.Sprintf("pulse:idem:%d:%s", deps[0].tid, key)) })

	body := []byte(fmt.Sprintf(`{"name":"idem.shared","value":1,"ts":%d}`, time.Now().Add(-time.Minute).Unix()))
	var ids [2]string
	for i, d := range deps {
		resp, b := postRaw(t, d.srv.baseURL+"/api/metrics", d.tok, body, map[string]string{"Idempotency-Key": key})
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("deployment %d: answered %d, want 202: %s", i+1, resp.StatusCode, truncate(b))
		}
		if i == 1 && resp.Header.Get("Idempotent-Replayed") != "" {
			t.Errorf("deployment 2 answered as a replay (Idempotent-Replayed: %s) of deployment 1's request: its samples will never be stored",
				resp.Header.Get("Idempotent-Replayed"))
		}
		ids[i] = requestID(answer{body: b})
	}
	if ids[0] == ids[1] {
		t.Errorf("both deployments answered request_id %s: the Idempotency-Key of one tenant matched another deployment's tenant", ids[0])
	}
	// Deployment 2's sample must be stored.
	sc := newScenario(deps[1].srv)
	sc.tenants[""] = &tenantRef{token: deps[1].tok}
	sc.start = time.Now().UTC()
	if err := sc.eventually(ctx, "", "idem.shared", 1); err != nil {
		t.Errorf("deployment 2: %v", err)
	}
}
