package features_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pulsemetrics/pulse/adapter/mqtt/dynsec"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
)

// startAgentT is startAgent failing t, killed when t ends (printing its log
// if t failed).
func startAgentT(t *testing.T, bin string, args ...string) *agentProc {
	t.Helper()
	p, err := startAgent(bin, nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Log(p.tail())
		}
	})
	return p
}

// TestAgentOverTLSToEmbeddedBroker: the agent binary publishes over TLS
// (test CA, client certificate, server name) to the embedded broker's TLS
// listener, and its samples are queryable under the OpenTelemetry names,
// tagged with host and agent_id. Trusting another CA fails the handshake.
func TestAgentOverTLSToEmbeddedBroker(t *testing.T) {
	pki := newTestPKI(t)
	bin := buildAgent(t)
	tlsAddr := freeAddr(t)
	env := embeddedEnv(t)
	env["PULSE_MQTT_LISTEN"] = "127.0.0.1:0"
	env["PULSE_MQTT_TLS_LISTEN"] = tlsAddr
	env["PULSE_MQTT_TLS_CERT"] = pki.ServerCert
	env["PULSE_MQTT_TLS_KEY"] = pki.ServerKey
	srv := startServerWith(t, "agent-tls", env, launchOptions{mqtt: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := newScenario(srv)
	ten, err := s.createTenant(ctx, "", "ingest,read")
	if err != nil {
		t.Fatal(err)
	}
	agentID := uniqueSlug("tls-agent")
	broker := "ssl://" + tlsAddr

	// A CA that did not sign the broker's certificate: refused.
	out, err := exec.Command(bin, agentArgs(broker, ten, agentID, t.TempDir(), time.Second,
		"--once", "--ack-timeout", "2s", "--ca-file", pki.OtherCA, "--server-name", "localhost")...).CombinedOutput()
	if err == nil {
		t.Fatalf("the agent published to a broker whose certificate its CA did not sign:\n%s", out)
	}

	// --once with the right CA publishes one batch.
	if out, err := exec.Command(bin, agentArgs(broker, ten, agentID, t.TempDir(), time.Second,
		"--once", "--ca-file", pki.CA, "--server-name", "localhost")...).CombinedOutput(); err != nil {
		t.Fatalf("pulse-agent --once over TLS: %v\n%s", err, out)
	}

	// The running agent, with a client certificate and an extra tag.
	startAgentT(t, bin, agentArgs(broker, ten, agentID, t.TempDir(), 500*time.Millisecond,
		"--ca-file", pki.CA, "--cert-file", pki.ClientCert, "--key-file", pki.ClientKey,
		"--server-name", "localhost", "--tag", "env=tls-test")...)
	if err := s.waitAgentMetrics(ctx, "", agentID, agentNames, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	// The running agent's batches (the --once one has no env tag).
	if err := waitUntil(ctx, 15*time.Second, "system.memory.usage{state=used} queryable by agent_id and --tag", func() (bool, error) {
		q, err := s.query(ctx, "", "system.memory.usage", "tag.agent_id="+agentID+"&tag.env=tls-test&tag.state=used")
		return err == nil && q.points() > 0, err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestAgentOverTLSToMosquitto: distributed mode's path. A real Mosquitto
// 2.0 (the shipped configuration plus a TLS listener requiring a client
// certificate), the token provisioned through dynamic security, the
// pipeline's ingestor subscribed to that Mosquitto; the agent publishes
// over mutual TLS and its samples are queryable.
func TestAgentOverTLSToMosquitto(t *testing.T) {
	pki := newTestPKI(t)
	bin := buildAgent(t)
	broker := testservice.PrivateMosquitto(t, testservice.MosquittoOptions{
		TLS: &testservice.TLSFiles{CA: pki.CA, Cert: pki.ServerCert, Key: pki.ServerKey, RequireClientCert: true},
	})
	env := embeddedEnv(t)
	env["PULSE_MQTT_URL"] = broker.URL
	env["PULSE_MQTT_USERNAME"] = broker.IngestorUser
	env["PULSE_MQTT_PASSWORD"] = broker.IngestorPwd
	env["PULSE_MQTT_CLIENT_ID"] = uniqueClientID("agent-ingestor")
	srv := startServerWith(t, "agent-mosquitto", env, launchOptions{mqtt: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	prov, err := dynsec.New(dynsec.Options{BrokerURL: broker.URL, Username: broker.AdminUser, Password: broker.AdminPass})
	if err != nil {
		t.Fatal(err)
	}
	defer prov.Close()
	s := newScenario(srv)
	ten, err := s.createTenant(ctx, "", "ingest,read")
	if err != nil {
		t.Fatal(err)
	}
	if err := prov.ProvisionToken(ctx, ten.tokenID, ten.slug, ten.token); err != nil {
		t.Fatal(err)
	}
	agentID := uniqueSlug("mosq-agent")

	// Without a client certificate the TLS listener refuses the agent.
	if out, err := exec.Command(bin, agentArgs(broker.TLSURL, ten, agentID, t.TempDir(), time.Second,
		"--once", "--ack-timeout", "2s", "--ca-file", pki.CA)...).CombinedOutput(); err == nil {
		t.Fatalf("Mosquitto accepted the agent without a client certificate:\n%s", out)
	}

	startAgentT(t, bin, agentArgs(broker.TLSURL, ten, agentID, t.TempDir(), 500*time.Millisecond,
		"--ca-file", pki.CA, "--cert-file", pki.ClientCert, "--key-file", pki.ClientKey, "--server-name", "localhost")...)
	if err := s.waitAgentMetrics(ctx, "", agentID, agentNames, 45*time.Second); err != nil {
		t.Fatalf("%v\nmosquitto log:\n%s", err, broker.Log())
	}
}

// agentOutageRig is an in-process Pulse with the embedded broker, a tenant,
// a relay in front of the broker for the agent, and a watcher of the
// agent's topic connected to the broker directly.
type agentOutageRig struct {
	s        *scenario
	ten      *tenantRef
	relay    *relay
	watch    *arrivals
	bin      string
	agentID  string
	spoolDir string
	interval time.Duration
}

func newAgentOutageRig(t *testing.T) *agentOutageRig {
	t.Helper()
	env := embeddedEnv(t)
	env["PULSE_MQTT_LISTEN"] = "127.0.0.1:0"
	srv := startServerWith(t, "agent-spool", env, launchOptions{mqtt: true})
	s := newScenario(srv)
	ten, err := s.createTenant(context.Background(), "", "ingest,read")
	if err != nil {
		t.Fatal(err)
	}
	r, err := newRelay(srv.mqttAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.down)
	rig := &agentOutageRig{s: s, ten: ten, relay: r, bin: buildAgent(t), agentID: uniqueSlug("spool-agent"),
		spoolDir: filepath.Join(t.TempDir(), "spool"), interval: 250 * time.Millisecond}
	if rig.watch, err = watchAgent("tcp://"+srv.mqttAddr, ten, rig.agentID); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rig.watch.close)
	return rig
}

func (r *agentOutageRig) start(t *testing.T) *agentProc {
	t.Helper()
	// Few collectors keep the test's batches small; the drain rate (20/s)
	// is well above the collection rate (4/s).
	return startAgentT(t, r.bin, agentArgs("tcp://"+r.relay.addr, r.ten, r.agentID, r.spoolDir, r.interval,
		"--collectors", "memory,load,uptime", "--drain-rate", "20")...)
}

// checkStored: every batch that arrived is stored under its own (original)
// timestamp, once.
func (r *agentOutageRig) checkStored(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := r.s.checkStoredBatches(ctx, r.agentID, r.watch.snapshot()); err != nil {
		t.Fatal(err)
	}
}

// TestAgentSpoolAcrossBrokerOutage: the broker goes away for 3 s and comes
// back; every batch collected meanwhile arrives once, in order, with the
// time it was collected (not the time it was sent), before newer batches.
func TestAgentSpoolAcrossBrokerOutage(t *testing.T) {
	rig := newAgentOutageRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	agent := rig.start(t)
	if err := rig.watch.waitCount(3, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	rig.relay.down()
	downAt := time.Now()
	time.Sleep(3 * time.Second)
	if n := spoolCount(rig.spoolDir); n < 8 {
		t.Fatalf("%d batches spooled during a 3 s outage at a %s interval, want ≥ 8", n, rig.interval)
	}
	if err := rig.relay.up(); err != nil {
		t.Fatal(err)
	}
	upAt := time.Now()
	err := waitUntil(ctx, 60*time.Second, "the spool drained and live batches follow", func() (bool, error) {
		if agent.exited() {
			return false, errAgentExited
		}
		ts := rig.watch.snapshot()
		return spoolCount(rig.spoolDir) == 0 && len(ts) > 0 && ts[len(ts)-1] > upAt.UnixMilli()+500, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := rig.watch.checkOnceInOrder(); err != nil {
		t.Fatal(err)
	}
	// No batch is missing: consecutive batch times are one interval apart
	// (a missing batch would leave a gap of two).
	ts := rig.watch.snapshot()
	outage := 0
	for i := 1; i < len(ts); i++ {
		if gap := time.Duration(ts[i]-ts[i-1]) * time.Millisecond; gap > rig.interval*3/2+100*time.Millisecond {
			t.Fatalf("a %s gap between batches %d and %d: a batch of the outage is missing\n%v", gap, i-1, i, ts)
		}
		if ts[i] > downAt.UnixMilli() && ts[i] < upAt.UnixMilli() {
			outage++
		}
	}
	if outage < 8 {
		t.Fatalf("%d batches stamped inside the outage arrived, want ≥ 8 (original timestamps)", outage)
	}
	rig.checkStored(t, ctx)
	t.Logf("%d batches arrived, %d of them collected during the outage", len(ts), outage)
}

// TestAgentSpoolSurvivesKill9: during an outage the agent is killed with
// SIGKILL; a new agent on the same spool keeps spooling, and when the
// broker is back every batch the killed agent had spooled arrives once,
// in order, with its original timestamp, followed by the new agent's.
func TestAgentSpoolSurvivesKill9(t *testing.T) {
	rig := newAgentOutageRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	first := rig.start(t)
	if err := rig.watch.waitCount(2, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	rig.relay.down()
	if err := waitUntil(ctx, 20*time.Second, "6 batches spooled", func() (bool, error) {
		return spoolCount(rig.spoolDir) >= 6, nil
	}); err != nil {
		t.Fatal(err)
	}
	first.kill() // kill -9, in the middle of whatever it was doing
	killedAt := time.Now()
	spooled, err := spooledTimes(rig.spoolDir)
	if err != nil {
		t.Fatalf("the spool left by a kill -9 cannot be read: %v", err)
	}
	if len(spooled) < 6 {
		t.Fatalf("%d batches in the spool after the kill, want ≥ 6", len(spooled))
	}
	second := rig.start(t)
	time.Sleep(time.Second) // still down: the new agent spools behind the old batches
	if err := rig.relay.up(); err != nil {
		t.Fatal(err)
	}
	upAt := time.Now()
	err = waitUntil(ctx, 60*time.Second, "the spool drained and live batches follow", func() (bool, error) {
		if second.exited() {
			return false, errAgentExited
		}
		ts := rig.watch.snapshot()
		return spoolCount(rig.spoolDir) == 0 && len(ts) > 0 && ts[len(ts)-1] > upAt.UnixMilli()+500, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := rig.watch.checkOnceInOrder(); err != nil {
		t.Fatal(err)
	}
	got := rig.watch.snapshot()
	for _, ts := range spooled {
		if !slices.Contains(got, ts) {
			t.Fatalf("batch %d, spooled before the kill -9, never arrived\nspooled: %v\narrived: %v", ts, spooled, got)
		}
		if ts > killedAt.UnixMilli() {
			t.Fatalf("a spooled batch carries ts %d, after the kill at %d: not its original time", ts, killedAt.UnixMilli())
		}
	}
	rig.checkStored(t, ctx)
	t.Logf("%d batches spooled before the kill -9, all arrived; %d arrived in total", len(spooled), len(got))
}
