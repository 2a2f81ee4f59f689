package features_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/token"
)

// Steps of mqtt.feature: devices publishing to the embedded broker.

// mqttSettle bounds the waits of the MQTT steps that carry no bound of
// their own (barriers, counters).
const mqttSettle = 5 * time.Second

// mqttState is a scenario's MQTT side: its connected clients by tenant
// name, what they received, and the outcome of the last refused attempt.
type mqttState struct {
	mu       sync.Mutex
	clients  map[string]paho.Client
	received map[string][]string // topics delivered to a tenant's client
	// connack, after and closed are the outcome of the last raw CONNECT:
	// the CONNACK code, the types of the packets the broker sent after it,
	// and nil if the broker then closed the connection.
	connack byte
	after   []byte
	closed  error
	// suback is the SUBACK return code of the last subscription.
	suback  byte
	barrier int
}

func (s *scenario) registerMQTT(sc *godog.ScenarioContext) {
	sc.Step(`^I publish to "([^"]*)":$`, s.iPublish)
	sc.Step(`^"([^"]*)" publishes to "([^"]*)":$`, s.tenantPublishes)
	sc.Step(`^"([^"]*)" tries to publish to "([^"]*)":$`, s.tenantTriesToPublish)
	sc.Step(`^"([^"]*)" publishes (\d+) samples? of "([^"]*)" numbered from (\d+)$`, s.tenantPublishesNumbered)
	sc.Step(`^the token is revoked if (yes|no)$`, s.theTokenIsRevokedIf)
	sc.Step(`^"([^"]*)" has a second token "([^"]*)" with its own quota of (\d+) samples per minute$`, s.aSecondToken)
	sc.Step(`^I connect with (a wrong password|the password of another token|no password|my token under another token's name|my token) and publish a sample of "([^"]*)" at once$`, s.iConnectAndPublishAtOnce)
	sc.Step(`^the connection is refused$`, s.theConnectionIsRefused)
	sc.Step(`^the connection is accepted but the publish is not acknowledged$`, s.acceptedButPublishNotAcked)
	sc.Step(`^my tenant has a second token "([^"]*)" scoped "([^"]*)"$`, s.aSecondTokenScoped)
	sc.Step(`^I subscribe to "([^"]*)"$`, s.iSubscribe)
	sc.Step(`^the subscription is granted$`, s.theSubscriptionIsGranted)
	sc.Step(`^I have received no message$`, s.iReceivedNothing)
	sc.Step(`^within (\d+) seconds "([^"]*)" has received a message on "([^"]*)"$`, s.withinSecondsReceived)
	sc.Step(`^I am connected$`, s.iAmConnected)
	sc.Step(`^my tenant is disabled$`, s.myTenantIsDisabled)
	sc.Step(`^within (\d+) seconds my connection is closed$`, s.withinSecondsMyConnectionIsClosed)
	sc.Step(`^"([^"]*)" subscribes to "([^"]*)"$`, s.tenantSubscribes)
	sc.Step(`^the subscription is refused$`, s.theSubscriptionIsRefused)
	sc.Step(`^"([^"]*)" has received no message$`, s.tenantReceivedNothing)

	sc.Step(`^once a later publish of mine has arrived, there is no point of "([^"]*)"$`, s.afterMyBarrierNoPoint)
	sc.Step(`^once a later publish of "([^"]*)" has arrived, "([^"]*)" sees no series of "([^"]*)"$`, s.afterBarrierSeesNoSeries)
	sc.Step(`^there is no point of "([^"]*)"$`, s.thereIsNoPointOf)
	sc.Step(`^within (\d+) seconds "([^"]*)" sees (\d+) points? of "([^"]*)"$`, s.withinSecondsTenantSees)
	sc.Step(`^within (\d+) seconds /metrics counts (\d+) rejected MQTT messages? of my tenant$`, s.metricsCountRejected)
	sc.Step(`^within (\d+) seconds /metrics counts (\d+) MQTT publish(?:es)? refused for "([^"]*)"$`, s.metricsCountRefused)
	sc.Step(`^once the queue is drained "([^"]*)" still has (\d+) points of "([^"]*)", none numbered (\d+)$`, s.onceDrainedTenantHasNone)

	sc.After(func(ctx context.Context, _ *godog.Scenario, _ error) (context.Context, error) {
		if s.mq != nil {
			s.mq.mu.Lock()
			for _, c := range s.mq.clients {
				c.Disconnect(50)
			}
			s.mq.clients = nil
			s.mq.mu.Unlock()
		}
		return ctx, nil
	})
}

func (s *scenario) mqtt() *mqttState {
	if s.mq == nil {
		s.mq = &mqttState{clients: map[string]paho.Client{}, received: map[string][]string{}}
	}
	return s.mq
}

func (s *scenario) brokerAddr() (string, error) {
	if s.srv.mqttAddr == "" {
		return "", errors.New("this server runs no embedded MQTT broker (start it with launchOptions.mqtt)")
	}
	return s.srv.mqttAddr, nil
}

// ---- topics and payloads ----

var topicPlaceholder = regexp.MustCompile(`<my tenant>|<tenant ([^>]+)>`)

// topic replaces <my tenant> and <tenant x> with the tenants' slugs.
func (s *scenario) topic(raw string) (string, error) {
	var bad error
	out := topicPlaceholder.ReplaceAllStringFunc(raw, func(m string) string {
		name := topicPlaceholder.FindStringSubmatch(m)[1]
		t, err := s.tenant(name)
		if err != nil {
			bad = err
			return m
		}
		return t.slug
	})
	return out, bad
}

// ---- clients ----

// client is the tenant's connected paho client, dialled on first use (and
// again if the broker closed it).
func (s *scenario) client(name string) (paho.Client, error) {
	m := s.mqtt()
	m.mu.Lock()
	c := m.clients[name]
	m.mu.Unlock()
	if c != nil && c.IsConnectionOpen() {
		return c, nil
	}
	t, err := s.tenant(name)
	if err != nil {
		return nil, err
	}
	addr, err := s.brokerAddr()
	if err != nil {
		return nil, err
	}
	c, err = dialPaho("tcp://"+addr, uniqueClientID("features"), "pulse_"+t.tokenID, t.token, func(_ paho.Client, msg paho.Message) {
		m.mu.Lock()
		m.received[name] = append(m.received[name], msg.Topic())
		m.mu.Unlock()
	})
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.clients[name] = c
	m.mu.Unlock()
	return c, nil
}

func (s *scenario) publish(name, rawTopic, payload string) error {
	topic, err := s.topic(rawTopic)
	if err != nil {
		return err
	}
	body, err := s.expand(payload)
	if err != nil {
		return err
	}
	c, err := s.client(name)
	if err != nil {
		return err
	}
	return publishQoS1(c, topic, []byte(body))
}

func (s *scenario) iPublish(topic string, doc *godog.DocString) error {
	return s.publish("", topic, doc.Content)
}

func (s *scenario) tenantPublishes(name, topic string, doc *godog.DocString) error {
	return s.publish(name, topic, doc.Content)
}

// tenantTriesToPublish publishes at QoS 1 on a connection of its own and
// accepts any outcome (a PUBACK, or the broker closing the connection).
func (s *scenario) tenantTriesToPublish(name, rawTopic string, doc *godog.DocString) error {
	topic, err := s.topic(rawTopic)
	if err != nil {
		return err
	}
	t, err := s.tenant(name)
	if err != nil {
		return err
	}
	addr, err := s.brokerAddr()
	if err != nil {
		return err
	}
	c, err := dialRaw(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.send(connectPacket(uniqueClientID("features-try"), "pulse_"+t.tokenID, t.token)); err != nil {
		return err
	}
	code, err := c.connack()
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("%q could not connect: CONNACK %#x", name, code)
	}
	if err := c.send(publishPacket(1, topic, []byte(doc.Content))); err != nil {
		return nil // already closed by the broker
	}
	_, _, _ = c.read() // PUBACK, or the broker closing the connection
	return nil
}

func (s *scenario) tenantPublishesNumbered(name string, n int, metric string, from int) error {
	t, err := s.tenant(name)
	if err != nil {
		return err
	}
	c, err := s.client(name)
	if err != nil {
		return err
	}
	return publishQoS1(c, "metrics/"+t.slug+"/app", s.numbered(metric, n, from))
}

// ---- tokens ----

func (s *scenario) theTokenIsRevokedIf(ctx context.Context, yes string) error {
	if yes != "yes" {
		return nil
	}
	return s.theTokenIsRevoked(ctx)
}

// aSecondToken issues another token of the tenant, known to the scenario
// as tenant name second (same slug).
func (s *scenario) aSecondToken(ctx context.Context, name, second string, perMinute int64) error {
	t, err := s.tenant(name)
	if err != nil {
		return err
	}
	issued, err := s.srv.tenancy.CreateToken(ctx, audit.CLI(), t.slug,
		token.Spec{Name: "features-" + second, Scopes: []token.Scope{token.ScopeIngest, token.ScopeRead}, RateLimit: perMinute})
	if err != nil {
		return fmt.Errorf("create a second token for %s: %w", t.slug, err)
	}
	s.tenants[second] = &tenantRef{slug: t.slug, id: t.id, token: issued.Plain, tokenID: issued.Token.ID}
	return nil
}

// credentials are the username and password a refused-connection step presents.
func (s *scenario) credentials(ctx context.Context, which string) (username, password string, err error) {
	t, err := s.tenant("")
	if err != nil {
		return "", "", err
	}
	other := func() (*tenantRef, error) {
		if o, ok := s.tenants["other token"]; ok {
			return o, nil
		}
		if err := s.aSecondToken(ctx, "", "other token", 0); err != nil {
			return nil, err
		}
		return s.tenants["other token"], nil
	}
	user := "pulse_" + t.tokenID
	switch which {
	case "my token":
		return user, t.token, nil
	case "no password":
		return user, "", nil
	case "a wrong password":
		tampered, err := s.presentedToken("a tampered") // same id, another secret
		return user, tampered, err
	case "the password of another token":
		o, err := other()
		if err != nil {
			return "", "", err
		}
		return user, o.token, nil
	case "my token under another token's name":
		o, err := other()
		if err != nil {
			return "", "", err
		}
		return "pulse_" + o.tokenID, t.token, nil
	}
	return "", "", fmt.Errorf("unknown credentials %q", which)
}

// iConnectAndPublishAtOnce sends CONNECT and a PUBLISH in one write, before
// the broker could answer, then records the CONNACK and whether the broker
// closed the connection.
func (s *scenario) iConnectAndPublishAtOnce(ctx context.Context, which, metric string) error {
	user, pass, err := s.credentials(ctx, which)
	if err != nil {
		return err
	}
	t, _ := s.tenant("")
	addr, err := s.brokerAddr()
	if err != nil {
		return err
	}
	c, err := dialRaw(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	payload := fmt.Sprintf(`{"name":%q,"value":1}`, metric)
	if err := c.send(connectPacket(uniqueClientID("features-refused"), user, pass),
		publishPacket(1, "metrics/"+t.slug+"/app", []byte(payload))); err != nil {
		return err
	}
	m := s.mqtt()
	m.connack, err = c.connack()
	if err != nil {
		return err
	}
	m.after, m.closed = c.untilClosed()
	return nil
}

func (s *scenario) theConnectionIsRefused() error {
	m := s.mqtt()
	if m.connack == 0 {
		return errors.New("CONNACK 0: the connection was accepted")
	}
	if len(m.after) > 0 {
		return fmt.Errorf("CONNACK %#x, but the broker sent packet type %d instead of closing the connection", m.connack, m.after[0])
	}
	if m.closed != nil {
		return fmt.Errorf("CONNACK %#x, but %w", m.connack, m.closed)
	}
	return nil
}

// acceptedButPublishNotAcked: CONNACK 0, and no PUBACK for the publish
// sent with the CONNECT (MQTT 3.1.1: the broker closes the connection of a
// client whose QoS 1 publish it refuses).
func (s *scenario) acceptedButPublishNotAcked() error {
	m := s.mqtt()
	if m.connack != 0 {
		return fmt.Errorf("CONNACK %#x: the connection was refused", m.connack)
	}
	if slices.Contains(m.after, packets.Puback) {
		return errors.New("the broker acknowledged the publish (PUBACK)")
	}
	return nil
}

// aSecondTokenScoped issues another token of the scenario's tenant with
// the scopes, known to the scenario as tenant name second (same slug).
func (s *scenario) aSecondTokenScoped(ctx context.Context, second, scopes string) error {
	t, err := s.tenant("")
	if err != nil {
		return err
	}
	sc, err := token.ParseScopes(scopes)
	if err != nil {
		return err
	}
	issued, err := s.srv.tenancy.CreateToken(ctx, audit.CLI(), t.slug, token.Spec{Name: "features-" + second, Scopes: sc})
	if err != nil {
		return fmt.Errorf("create a second token for %s: %w", t.slug, err)
	}
	s.tenants[second] = &tenantRef{slug: t.slug, id: t.id, token: issued.Plain, tokenID: issued.Token.ID}
	return nil
}

// ---- subscriptions ----

func (s *scenario) tenantSubscribes(name, rawFilter string) error {
	filter, err := s.topic(rawFilter)
	if err != nil {
		return err
	}
	c, err := s.client(name)
	if err != nil {
		return err
	}
	tok := c.Subscribe(filter, 1, nil)
	if !tok.WaitTimeout(mqttWait) {
		return fmt.Errorf("subscribe %s: no SUBACK within %s", filter, mqttWait)
	}
	st, ok := tok.(*paho.SubscribeToken)
	if !ok {
		return fmt.Errorf("subscribe %s: unexpected token %T", filter, tok)
	}
	key := filter // paho keys a shared subscription's result by its filter alone
	if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
		_, key, _ = strings.Cut(rest, "/")
	}
	code, found := st.Result()[key]
	if !found {
		return fmt.Errorf("subscribe %s: no SUBACK code for the filter (error %v, result %v)", filter, tok.Error(), st.Result())
	}
	s.mqtt().suback = code
	return nil
}

func (s *scenario) iSubscribe(filter string) error { return s.tenantSubscribes("", filter) }

func (s *scenario) theSubscriptionIsGranted() error {
	if code := s.mqtt().suback; code >= 0x80 {
		return fmt.Errorf("SUBACK %#x, want a granted QoS", code)
	}
	return nil
}

func (s *scenario) iReceivedNothing() error { return s.tenantReceivedNothing("") }

func (s *scenario) withinSecondsReceived(secs int, name, rawTopic string) error {
	topic, err := s.topic(rawTopic)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	for {
		m := s.mqtt()
		m.mu.Lock()
		got := slices.Clone(m.received[name])
		m.mu.Unlock()
		if slices.Contains(got, topic) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%q received %v within %d s, nothing on %s", name, got, secs, topic)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---- live sessions ----

// iAmConnected opens the scenario tenant's connection (kept open).
func (s *scenario) iAmConnected() error {
	_, err := s.client("")
	return err
}

func (s *scenario) myTenantIsDisabled(ctx context.Context) error {
	t, err := s.tenant("")
	if err != nil {
		return err
	}
	yes := true
	_, err = s.srv.tenancy.UpdateTenant(ctx, audit.CLI(), t.slug, nil, &yes)
	return err
}

// withinSecondsMyConnectionIsClosed waits for the broker to close the
// connection opened by "I am connected", without re-dialling it.
func (s *scenario) withinSecondsMyConnectionIsClosed(secs int) error {
	m := s.mqtt()
	m.mu.Lock()
	c := m.clients[""]
	m.mu.Unlock()
	if c == nil {
		return errors.New(`no connection of mine ("I am connected" first)`)
	}
	start := time.Now()
	deadline := start.Add(time.Duration(secs) * time.Second)
	for c.IsConnectionOpen() {
		if time.Now().After(deadline) {
			return fmt.Errorf("my connection is still open %d s later", secs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func (s *scenario) theSubscriptionIsRefused() error {
	if code := s.mqtt().suback; code != 0x80 {
		return fmt.Errorf("SUBACK %#x, want 0x80 (failure)", code)
	}
	return nil
}

func (s *scenario) tenantReceivedNothing(name string) error {
	time.Sleep(200 * time.Millisecond) // the broker delivers before the ingestor's batch is even stored
	m := s.mqtt()
	m.mu.Lock()
	defer m.mu.Unlock()
	if got := m.received[name]; len(got) > 0 {
		return fmt.Errorf("%q received %d message(s): %v", name, len(got), got)
	}
	return nil
}

// ---- queries ----

// waitPoints polls tenant's query of metric until it has want points.
func (s *scenario) waitPoints(ctx context.Context, tenantName, metric string, want int, bound time.Duration) error {
	deadline := time.Now().Add(bound)
	for {
		q, err := s.query(ctx, tenantName, metric, "")
		if err != nil {
			return err
		}
		got := q.points()
		switch {
		case got == want:
			return nil
		case got > want:
			return fmt.Errorf("tenant %q: %q has %d points, want %d", tenantName, metric, got, want)
		case time.Now().After(deadline):
			return fmt.Errorf("tenant %q: %q has %d points after %s, want %d", tenantName, metric, got, bound, want)
		}
		time.Sleep(pollEvery)
	}
}

// mqttBarrier publishes a fresh sample as the tenant and waits until it is
// stored: what the broker accepted before it has reached the ingestor.
func (s *scenario) mqttBarrier(ctx context.Context, name string) error {
	m := s.mqtt()
	m.barrier++
	metric := fmt.Sprintf("barrier.mqtt.n%d", m.barrier)
	t, err := s.tenant(name)
	if err != nil {
		return err
	}
	c, err := s.client(name)
	if err != nil {
		return fmt.Errorf("barrier: %w", err)
	}
	if err := publishQoS1(c, "metrics/"+t.slug+"/barrier", fmt.Appendf(nil, `{"name":%q,"value":1}`, metric)); err != nil {
		return fmt.Errorf("barrier: %w", err)
	}
	if err := s.waitPoints(ctx, name, metric, 1, mqttSettle); err != nil {
		return fmt.Errorf("barrier: %w", err)
	}
	return nil
}

// afterMyBarrierNoPoint publishes the barrier and queries with a second
// token of the tenant (its first one may be revoked).
func (s *scenario) afterMyBarrierNoPoint(ctx context.Context, metric string) error {
	if _, ok := s.tenants["barrier"]; !ok {
		if err := s.aSecondToken(ctx, "", "barrier", 0); err != nil {
			return err
		}
	}
	if err := s.mqttBarrier(ctx, "barrier"); err != nil {
		return err
	}
	return s.tenantSeesNoSeries(ctx, "barrier", metric)
}

func (s *scenario) afterBarrierSeesNoSeries(ctx context.Context, publisher, viewer, metric string) error {
	if err := s.mqttBarrier(ctx, publisher); err != nil {
		return err
	}
	return s.tenantSeesNoSeries(ctx, viewer, metric)
}

func (s *scenario) thereIsNoPointOf(ctx context.Context, metric string) error {
	q, err := s.query(ctx, "", metric, "")
	if err != nil {
		return err
	}
	if n := q.points(); n != 0 {
		return fmt.Errorf("%d point(s) of %q were stored: %s", n, metric, truncate(s.last.body))
	}
	return nil
}

func (s *scenario) withinSecondsTenantSees(ctx context.Context, secs int, name string, want int, metric string) error {
	return s.waitPoints(ctx, name, metric, want, time.Duration(secs)*time.Second)
}

func (s *scenario) onceDrainedTenantHasNone(ctx context.Context, name string, want int, metric string, value float64) error {
	if err := s.waitDrained(ctx); err != nil {
		return err
	}
	q, err := s.query(ctx, name, metric, "")
	if err != nil {
		return err
	}
	if got := q.points(); got != want {
		return fmt.Errorf("%q has %d points once the queue is drained, want %d", metric, got, want)
	}
	for _, sr := range q.Series {
		for _, p := range sr.Points {
			if p.Value == value {
				return fmt.Errorf("the sample numbered %g was stored: %s", value, truncate(s.last.body))
			}
		}
	}
	return nil
}
