package ingestor_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pulsemetrics/pulse/adapter/mqtt/ingestor"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// mqttURL is the test broker (the real Mosquitto; anonymous access allowed).
// A missing broker fails the test: `make test` starts it.
func mqttURL() string {
	if u := os.Getenv("PULSE_TEST_MQTT_URL"); u != "" {
		return u
	}
	return "tcp://127.0.0.1:1883"
}

// publisher connects a clean-session client for publishing.
func publisher(t *testing.T) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(mqttURL()).
		SetClientID(testservice.UniqueName("pulsetest-pub-")).SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("Mosquitto at %s is not reachable (make test starts it): %v", mqttURL(), tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t *testing.T, c mqtt.Client, topic, payload string) {
	t.Helper()
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// dropSession removes the broker's persistent session of clientID, so a
// test leaves no subscription queueing every metrics message behind.
func dropSession(clientID string) {
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(mqttURL()).SetClientID(clientID).SetCleanSession(true))
	if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		c.Disconnect(50)
	}
}

// sampleSink is an Ingester that keeps the samples by name, for one tenant.
type sampleSink struct {
	mu    sync.Mutex
	names map[string]int
	down  bool // Accept fails as if the queue were unreachable
}

func (s *sampleSink) Accept(_ context.Context, req ingest.Request) (ingest.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return ingest.Result{}, errors.New("queue unreachable")
	}
	for _, in := range req.Inputs {
		s.names[in.Name]++
	}
	return ingest.Result{Accepted: len(req.Inputs)}, nil
}

func (s *sampleSink) count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.names[name]
}

// startSubscriber runs an Ingestor for the one tenant slug (others are
// unknown to it: the traffic of other tests is rejected and ignored).
func startSubscriber(t *testing.T, clientID, slug string, sink *sampleSink, reg *prometheus.Registry) *ingestor.PahoSubscriber {
	t.Helper()
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	ing := ingestor.NewIngestor(sink, tenants(map[string]int64{slug: 1}), reg, nil,
		ingestor.Options{Linger: 5 * time.Millisecond})
	sub, err := ingestor.NewPahoSubscriber(ingestor.PahoOptions{BrokerURL: mqttURL(), ClientID: clientID}, ing)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sub.Start(ctx); err != nil {
		t.Fatalf("Mosquitto at %s: %v", mqttURL(), err)
	}
	return sub
}

// waitSubscribed publishes probes until one arrives: the subscription is
// made asynchronously after the connection.
func waitSubscribed(t *testing.T, pub mqtt.Client, slug string, sink *sampleSink) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for sink.count("probe") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the subscriber never received a probe")
		}
		publish(t, pub, "metrics/"+slug+"/probe", `{"name":"probe","value":1}`)
		time.Sleep(50 * time.Millisecond)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPahoSubscriberIngestsFromMosquitto(t *testing.T) {
	slug := testservice.UniqueName("it")
	clientID := testservice.UniqueName("pulsetest-ingestor-")
	t.Cleanup(func() { dropSession(clientID) })
	pub := publisher(t)
	sink := &sampleSink{names: map[string]int{}}
	reg := prometheus.NewRegistry()
	sub := startSubscriber(t, clientID, slug, sink, reg)
	t.Cleanup(func() { _ = sub.Stop(context.Background()) })
	waitSubscribed(t, pub, slug, sink)

	publish(t, pub, "metrics/"+slug+"/host-a", `{"name":"one","value":1}`)
	publish(t, pub, "metrics/"+slug+"/host-a", `not json`)
	publish(t, pub, "metrics/"+slug+"/system/agent-1", `[{"name":"agent","value":1},{"name":"agent","value":2}]`)
	eventually(t, "the samples", func() bool { return sink.count("one") == 1 && sink.count("agent") == 2 })
	eventually(t, "the rejection counted", func() bool {
		return testutil.ToFloat64(mustVec(reg, "pulse_mqtt_rejected_total", ingestor.ReasonMalformed, slug)) == 1
	})
}

func TestPahoSubscriberUnackedMessageIsRedelivered(t *testing.T) {
	slug := testservice.UniqueName("it")
	clientID := testservice.UniqueName("pulsetest-ingestor-")
	t.Cleanup(func() { dropSession(clientID) })
	pub := publisher(t)

	first := &sampleSink{names: map[string]int{}}
	sub := startSubscriber(t, clientID, slug, first, nil)
	waitSubscribed(t, pub, slug, first)
	first.mu.Lock()
	first.down = true
	first.mu.Unlock()
	publish(t, pub, "metrics/"+slug+"/h", `{"name":"not_durable_yet","value":1}`)
	time.Sleep(200 * time.Millisecond) // taken, retried, never acked
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = sub.Stop(ctx) // gives up: the message stays in the session

	second := &sampleSink{names: map[string]int{}}
	sub = startSubscriber(t, clientID, slug, second, nil)
	t.Cleanup(func() { _ = sub.Stop(context.Background()) })
	eventually(t, "the redelivery", func() bool { return second.count("not_durable_yet") == 1 })
}

func TestPahoSubscriberPersistentSessionKeepsMessagesAcrossRestart(t *testing.T) {
	slug := testservice.UniqueName("it")
	clientID := testservice.UniqueName("pulsetest-ingestor-")
	t.Cleanup(func() { dropSession(clientID) })
	pub := publisher(t)

	first := &sampleSink{names: map[string]int{}}
	sub := startSubscriber(t, clientID, slug, first, nil)
	waitSubscribed(t, pub, slug, first)
	if err := sub.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	const n = 5
	for i := range n {
		publish(t, pub, fmt.Sprintf("metrics/%s/host-%d", slug, i), `{"name":"while_down","value":1}`)
	}

	second := &sampleSink{names: map[string]int{}}
	sub = startSubscriber(t, clientID, slug, second, nil)
	t.Cleanup(func() { _ = sub.Stop(context.Background()) })
	eventually(t, "the messages published while the ingestor was down", func() bool { return second.count("while_down") == n })
	if first.count("while_down") != 0 {
		t.Fatal("the stopped subscriber still took messages")
	}
}

func TestPahoSubscriberSharedFilter(t *testing.T) {
	ing := ingestor.NewIngestor(&sampleSink{}, tenants(nil), nil, nil, ingestor.Options{})
	for _, tc := range []struct{ group, want string }{
		{"", "metrics/+/#"},
		{"ingestors", "$share/ingestors/metrics/+/#"},
	} {
		sub, err := ingestor.NewPahoSubscriber(ingestor.PahoOptions{BrokerURL: mqttURL(), ClientID: "x", SharedGroup: tc.group}, ing)
		if err != nil {
			t.Fatal(err)
		}
		if got := sub.Filter(); got != tc.want {
			t.Errorf("Filter() = %q, want %q", got, tc.want)
		}
	}
	if _, err := ingestor.NewPahoSubscriber(ingestor.PahoOptions{BrokerURL: mqttURL()}, ing); err == nil || !strings.Contains(err.Error(), "client id") {
		t.Fatalf("no client id: err = %v", err)
	}
}
