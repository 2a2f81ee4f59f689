package features_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/pulsemetrics/pulse/adapter/mqtt/dynsec"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/token"
)

// TestMQTTThroughMosquittoDynsec is distributed mode's MQTT path end to
// end: tokens provisioned as Mosquitto clients (dynamic security), the
// pipeline's MQTT door subscribed to that Mosquitto as the ingestor's
// service account, and the samples read back over HTTP.
func TestMQTTThroughMosquittoDynsec(t *testing.T) {
	broker := startMosquitto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	env := embeddedEnv(t)
	env["PULSE_MQTT_URL"] = broker.URL
	env["PULSE_MQTT_USERNAME"] = broker.IngestorUser
	env["PULSE_MQTT_PASSWORD"] = broker.IngestorPwd
	env["PULSE_MQTT_CLIENT_ID"] = uniqueClientID("features-ingestor")
	srv := startServerWith(t, "mosquitto", env, launchOptions{mqtt: true})

	prov, err := dynsec.New(dynsec.Options{BrokerURL: broker.URL, Username: broker.AdminUser, Password: broker.AdminPass})
	if err != nil {
		t.Fatalf("dynsec provisioner: %v", err)
	}
	defer prov.Close()

	s := newScenario(srv)
	for _, name := range []string{"a", "b"} {
		ten, err := s.createTenant(ctx, name, "ingest,read")
		if err != nil {
			t.Fatal(err)
		}
		if err := prov.ProvisionToken(ctx, ten.tokenID, ten.slug, ten.token); err != nil {
			t.Fatalf("ProvisionToken %s: %v", name, err)
		}
	}
	a, b := s.tenants["a"], s.tenants["b"]
	pub, err := dialPaho(broker.URL, uniqueClientID("features-a"), "pulse_"+a.tokenID, a.token, nil)
	if err != nil {
		t.Fatalf("the provisioned token cannot connect: %v", err)
	}
	defer pub.Disconnect(50)

	// Subscribing needs the read scope: the token provisioned for ingest
	// (ProvisionToken) may not listen to its own tenant's devices; a read
	// token of the tenant (ProvisionTokenScopes) may.
	if code := subackCode(t, pub, "metrics/"+a.slug+"/#", nil); code != 0x80 {
		t.Errorf("the ingest token's client was granted metrics/%s/# (SUBACK %#x)", a.slug, code)
	}
	reader, err := srv.tenancy.CreateToken(ctx, audit.CLI(), a.slug, token.Spec{Name: "features-reader", Scopes: []token.Scope{token.ScopeRead}})
	if err != nil {
		t.Fatal(err)
	}
	if err := prov.ProvisionTokenScopes(ctx, reader.Token.ID, a.slug, reader.Plain, reader.Token.Scopes); err != nil {
		t.Fatalf("ProvisionTokenScopes reader: %v", err)
	}
	readerConn, err := dialPaho(broker.URL, uniqueClientID("features-reader"), "pulse_"+reader.Token.ID, reader.Plain, nil)
	if err != nil {
		t.Fatalf("the read token cannot connect: %v", err)
	}
	defer readerConn.Disconnect(50)
	readerGot := make(chan string, 100)
	if code := subackCode(t, readerConn, "metrics/"+a.slug+"/#", func(_ paho.Client, m paho.Message) { readerGot <- m.Topic() }); code >= 0x80 {
		t.Fatalf("the read token's client was refused metrics/%s/# (SUBACK %#x)", a.slug, code)
	}

	// The door's subscription is made right after it connects: publish
	// probes until one is stored, so that later messages are not published
	// before anyone subscribed (Mosquitto would not keep them).
	probe := func(metric string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			if err := publishQoS1(pub, "metrics/"+a.slug+"/probe", fmt.Appendf(nil, `{"name":%q,"value":1}`, metric)); err != nil {
				t.Fatal(err)
			}
			q, err := s.query(ctx, "a", metric, "")
			if err != nil {
				t.Fatal(err)
			}
			if q.points() > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no probe of %q stored within 15s: the ingestor does not receive from Mosquitto", metric)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	probe("probe.mosquitto.start")

	// A publish with the token lands in the store.
	if err := publishQoS1(pub, "metrics/"+a.slug+"/system/agent-1",
		fmt.Appendf(nil, `[{"name":"mosq.cpu","value":1,"ts":%d},{"name":"mosq.cpu","value":2,"ts":%d}]`,
			s.start.Add(-2*time.Minute).Unix(), s.start.Add(-time.Minute).Unix())); err != nil {
		t.Fatal(err)
	}
	if err := s.waitPoints(ctx, "a", "mosq.cpu", 2, mqttSettle); err != nil {
		t.Fatal(err)
	}
	for got := ""; got != "metrics/"+a.slug+"/system/agent-1"; {
		select {
		case got = <-readerGot:
		case <-time.After(mqttSettle):
			t.Fatal("the read token's subscriber did not receive the agent's message")
		}
	}

	// A publish to another tenant's topic is not stored (Mosquitto's ACL
	// drops it; MQTT 3.1.1 still acknowledges it).
	_ = publishQoS1(pub, "metrics/"+b.slug+"/app", []byte(`{"name":"mosq.cross","value":13}`))
	probe("probe.mosquitto.after-cross")
	for _, name := range []string{"a", "b"} {
		if err := s.tenantSeesNoSeries(ctx, name, "mosq.cross"); err != nil {
			t.Error(err)
		}
	}

	// After RevokeToken the token cannot connect any more (and its live
	// connection is closed by the plugin).
	if err := prov.RevokeToken(ctx, a.tokenID); err != nil {
		t.Fatalf("RevokeToken: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for pub.IsConnectionOpen() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if pub.IsConnectionOpen() {
		t.Error("the revoked token's connection is still open 5s after RevokeToken")
	}
	if c, err := dialPaho(broker.URL, uniqueClientID("features-a-again"), "pulse_"+a.tokenID, a.token, nil); err == nil {
		c.Disconnect(0)
		t.Fatal("the revoked token connected to Mosquitto")
	}
	// The other tenant's token is unaffected.
	pubB, err := dialPaho(broker.URL, uniqueClientID("features-b"), "pulse_"+b.tokenID, b.token, nil)
	if err != nil {
		t.Fatalf("tenant b's token after a's revocation: %v", err)
	}
	defer pubB.Disconnect(50)
	if err := publishQoS1(pubB, "metrics/"+b.slug+"/app", []byte(`{"name":"mosq.b","value":3}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.waitPoints(ctx, "b", "mosq.b", 1, mqttSettle); err != nil {
		t.Fatal(err)
	}
	// Tenant b's own batch has been flushed since: still nothing crossed over.
	if err := s.tenantSeesNoSeries(ctx, "b", "mosq.cross"); err != nil {
		t.Error(err)
	}
}

// subackCode subscribes at QoS 1 and returns the SUBACK return code.
func subackCode(t *testing.T, c paho.Client, filter string, onMessage paho.MessageHandler) byte {
	t.Helper()
	tok := c.Subscribe(filter, 1, onMessage)
	if !tok.WaitTimeout(mqttWait) {
		t.Fatalf("subscribe %s: no SUBACK within %s", filter, mqttWait)
	}
	code, ok := tok.(*paho.SubscribeToken).Result()[filter]
	if !ok {
		t.Fatalf("subscribe %s: no SUBACK code (%v)", filter, tok.Error())
	}
	return code
}
