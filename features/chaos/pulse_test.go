//go:build chaos

package chaos_test

import (
	"context"
	"strings"
	"testing"
	"time"
)

// requestTimeout is the HTTP request deadline the suite sets
// (PULSE_REQUEST_TIMEOUT); deadlineMargin is the slack a request may take
// beyond it (answer writing, scheduling on a busy 2-core machine).
const (
	requestTimeout = 10 * time.Second
	deadlineMargin = 2 * time.Second
)

// deployment is distributed Pulse on private services: pulse-api and
// pulse-worker on a private MariaDB and a private Redis, one tenant and
// an ingest token.
type deployment struct {
	h        *harness
	db       *mariaDB
	redis    *redisServer
	env      map[string]string
	token    string
	tenantID int64
	api      *pulseRole
	worker   *pulseRole
}

// baseEnv is the PULSE_* settings of every process of a deployment: the
// defaults, except the per-token request quota (raised so the load is never
// throttled; the quota itself stays on, so its Redis calls are exercised).
func baseEnv(h *harness, db *mariaDB, r *redisServer) map[string]string {
	env := map[string]string{
		"PULSE_DATA_DIR":            h.mkdir("pulse-cli-data"),
		"PULSE_QUEUE_STREAM":        "chaos:ingest",
		"PULSE_LIVE_STREAM":         "chaos:live",
		"PULSE_RATE_LIMIT_REQUESTS": "10000000",
		"PULSE_REQUEST_TIMEOUT":     requestTimeout.String(),
		"PULSE_MQTT_LISTEN":         "127.0.0.1:0",
		"PULSE_LOG_LEVEL":           "info",
		"PULSE_SECRET_KEY":          "Y2hhb3MtdGVzdHMtc2VjcmV0LWtleS0zMi1ieXRlcyE=",
	}
	if db != nil {
		env["PULSE_DATABASE_URL"] = db.url()
	}
	if r != nil {
		env["PULSE_REDIS_URL"] = r.url()
	}
	return env
}

// newDeployment starts the private MariaDB and Redis, migrates, creates the
// tenant and its token with the CLI, and (when start) starts pulse-api and
// pulse-worker and waits until both are ready.
func newDeployment(t *testing.T, start bool) *deployment {
	h := newHarness(t)
	d := &deployment{h: h, db: startMariaDB(h), redis: startRedis(h)}
	d.env = baseEnv(h, d.db, d.redis)
	h.runCLI(d.env, "migrate")
	h.runCLI(d.env, "tenant", "create", "chaos")
	// --rate-limit: the token's own samples-per-minute quota, far above the load.
	d.token = lastLine(h.runCLI(d.env, "token", "create", "chaos", "--name", "chaos-load", "--scopes", "ingest,read", "--rate-limit", "100000000"))
	if !strings.HasPrefix(d.token, "pulse_") || len(d.token) < 40 {
		t.Fatalf("pulse token create: last line %q is not a token", d.token)
	}
	db := d.db.open(mariaDatabase)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.QueryRowContext(ctx, "SELECT id FROM tenants WHERE slug = 'chaos'").Scan(&d.tenantID); err != nil {
		t.Fatalf("tenant id: %v", err)
	}
	if start {
		d.startRoles()
	}
	return d
}

func (d *deployment) startRoles() {
	d.h.t.Helper()
	d.api = d.h.startRole("pulse-api", bins.api, d.env)
	d.worker = d.h.startRole("pulse-worker", bins.worker, d.env)
	d.h.waitStatus(d.api, "/readyz", 200, 30*time.Second)
	d.h.waitStatus(d.worker, "/readyz", 200, 30*time.Second)
}

func (d *deployment) ingestURL() string { return "http://" + d.api.addr + "/api/metrics" }
