package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pulsemetrics/pulse/adapter/mqtt/dynsec"
	"github.com/pulsemetrics/pulse/adapter/mqtt/ingestor"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/infrastructure/testservice"
	"github.com/pulsemetrics/pulse/infrastructure/wiring"
)

// mqttWorkload is the MQTT mode's load: messages of samplesPerMessage
// samples, published at QoS 1 by publishers paho clients.
type mqttWorkload struct {
	messages, samplesPerMessage, publishers int
	// window is the QoS 1 publishes a client keeps in flight.
	window int
	// inflight overrides Mosquitto's max_inflight_messages ("" = the
	// shipped value): the unacknowledged messages it sends one subscriber.
	inflight string
}

// payloads renders every message up front: message i carries one sample per
// series (host-j) at time base + i×10 ms (Unix milliseconds), so nothing is
// deduplicated away and 100,000 messages span under 17 minutes.
func (w mqttWorkload) payloads(base time.Time) [][]byte {
	out := make([][]byte, w.messages)
	for i := range out {
		var b bytes.Buffer
		b.WriteByte('[')
		ts := strconv.FormatInt(base.UnixMilli()+int64(i)*10, 10)
		for j := 0; j < w.samplesPerMessage; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"name":"bench.mqtt.load","value":%d.%03d,"tags":{"host":"host-%04d"},"ts":%s}`, j, (i*7+j)%1000, j, ts)
		}
		b.WriteByte(']')
		out[i] = b.Bytes()
	}
	return out
}

// runMQTT measures distributed mode's MQTT path: a private Mosquitto with
// dynamic security (the shipped configuration), the pipeline's MQTT door
// subscribed to it as the ingestor, timed until every sample is durable in
// the queue (Redis Streams) with the workers not yet running, beside the
// ceiling: a plain paho subscriber receiving the same messages from the same
// broker. The workers then drain the backlog into MariaDB, and the table
// must hold every sample.
func runMQTT(ctx context.Context, w mqttWorkload) error {
	fmt.Printf("\n== mqtt: Mosquitto (dynsec) → MQTT door → Redis Streams, then MariaDB ==\n")
	var overrides map[string]string
	if w.inflight != "" {
		overrides = map[string]string{"max_inflight_messages": w.inflight}
	}
	broker, err := testservice.StartMosquitto(testservice.MosquittoOptions{Overrides: overrides, Quiet: true})
	if err != nil {
		return err
	}
	defer broker.Close()
	inflight := w.inflight
	if inflight == "" {
		inflight = "shipped"
	}
	fmt.Printf("%d messages × %d samples, %d publishers (QoS 1, %d in flight each), max_inflight_messages %s\n",
		w.messages, w.samplesPerMessage, w.publishers, w.window, inflight)

	dsn, dropDB, err := newMariaDB()
	if err != nil {
		return err
	}
	defer dropDB()
	stream := testservice.UniqueName("pulse-bench:")
	defer deleteRedisKeys(stream)
	cfg, err := loadConfig(map[string]string{
		"PULSE_DATABASE_URL":   "mysql://" + mysqlURLFromDSN(dsn),
		"PULSE_REDIS_URL":      "redis://" + testservice.RedisAddr() + "/0",
		"PULSE_QUEUE_STREAM":   stream,
		"PULSE_LIVE_STREAM":    stream + ":live",
		"PULSE_MQTT_URL":       broker.URL,
		"PULSE_MQTT_USERNAME":  broker.IngestorUser,
		"PULSE_MQTT_PASSWORD":  broker.IngestorPwd,
		"PULSE_MQTT_CLIENT_ID": testservice.UniqueName("pulse-bench-ingestor-"),
	})
	if err != nil {
		return err
	}
	p, cleanup, err := wiring.AssemblePipeline(ctx, cfg, "bench")
	if err != nil {
		return err
	}
	defer cleanup()
	if _, err := p.Tenancy.CreateTenant(ctx, audit.CLI(), "bench", "Bench", 3650); err != nil {
		return err
	}
	issued, err := p.Tenancy.CreateToken(ctx, audit.CLI(), "bench", token.Spec{Name: "bench", Scopes: []token.Scope{token.ScopeIngest}})
	if err != nil {
		return err
	}
	prov, err := dynsec.New(dynsec.Options{BrokerURL: broker.URL, Username: broker.AdminUser, Password: broker.AdminPass})
	if err != nil {
		return err
	}
	defer prov.Close()
	if err := prov.ProvisionToken(ctx, issued.Token.ID, "bench", issued.Plain); err != nil {
		return err
	}
	pubUser, pubPass := "pulse_"+issued.Token.ID, issued.Plain

	// The ceiling first, while no ingestor session exists on the broker.
	ceiling, err := measureSubscriberCeiling(ctx, w, broker, pubUser, pubPass)
	if err != nil {
		return fmt.Errorf("ceiling: %w", err)
	}

	// (n) The MQTT door alone, as the HTTP bench's (a) with the workers
	// paused: from the first publish until the ingestor made every sample
	// durable in the queue (Redis Streams). Nothing drains the stream yet, so
	// neither the workers nor MariaDB compete for the CPU.
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	doorErr := make(chan error, 1)
	wg.Add(1)
	go func() { defer wg.Done(); doorErr <- p.MQTT.Run(runCtx) }()
	select {
	case <-p.MQTT.Started():
	case err := <-doorErr:
		return fmt.Errorf("MQTT door: %w", err)
	}
	if err := waitIngestorSubscribed(ctx, broker.URL, pubUser, pubPass, p.Registry.Registry); err != nil {
		return err
	}

	accepted := ingestor.AcceptedSamples(p.Registry.Registry) // the counter the door's ingestor adds to
	base := testutil.ToFloat64(accepted)                      // the probes
	total := float64(w.messages * w.samplesPerMessage)
	payloads := w.payloads(time.Now().Add(-2 * time.Hour))
	stopQueueProfile := startProfile(*acceptProfile) // -accept-cpuprofile: the door alone
	defer stopQueueProfile()
	start := time.Now()
	published, err := publishAll(broker.URL, pubUser, pubPass, payloads, w)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for testutil.ToFloat64(accepted)-base < total {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %.0f of %.0f samples durable in the queue after 5 minutes", testutil.ToFloat64(accepted)-base, total)
		}
		time.Sleep(2 * time.Millisecond)
	}
	queued := time.Since(start)
	stopQueueProfile()
	if got := testutil.ToFloat64(accepted) - base; got != total {
		return fmt.Errorf("the ingestor accepted %.0f samples, %.0f were published", got, total)
	}

	// Then the workers drain the backlog into MariaDB (probes included).
	want := testutil.ToFloat64(accepted)
	stopDrainProfile := startProfile(*persistProfile) // -persist-cpuprofile: the workers draining
	defer stopDrainProfile()
	drainStart := time.Now()
	for _, l := range p.Workers {
		wg.Add(1)
		go func() { defer wg.Done(); _ = l.Run(runCtx) }()
	}
	deadline = time.Now().Add(5 * time.Minute)
	for testutil.ToFloat64(p.Registry.Flush(nil).Samples) < want {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %.0f of %.0f samples committed after 5 minutes", testutil.ToFloat64(p.Registry.Flush(nil).Samples), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	drained := time.Since(drainStart)
	stopDrainProfile()
	// The counter counts what was written; the table must hold exactly that,
	// which is every sample the ingestor accepted.
	db, err := openCounter(cfg, "")
	if err != nil {
		return err
	}
	defer db.Close()
	if n, err := countRows(ctx, db); err != nil || float64(n) != testutil.ToFloat64(p.Registry.Flush(nil).Samples) || float64(n) != want {
		return fmt.Errorf("samples table holds %d rows (err %v), the workers counted %.0f, the ingestor accepted %.0f",
			n, err, testutil.ToFloat64(p.Registry.Flush(nil).Samples), want)
	}
	msgRate := float64(w.messages) / queued.Seconds()
	fmt.Printf("(m) published (all PUBACKs):                      %10.0f messages/s (%s)\n", float64(w.messages)/published.Seconds(), published.Round(time.Millisecond))
	fmt.Printf("(n) ingestor to queue (durable in Redis):         %10.0f messages/s, %.0f samples/s (%s)\n", msgRate, msgRate*float64(w.samplesPerMessage), queued.Round(time.Millisecond))
	fmt.Printf("(o) ceiling, plain paho subscriber (QoS 1):       %10.0f messages/s\n", ceiling)
	fmt.Printf("    ratio ingestor/ceiling (n)/(o):               %10.2f\n", msgRate/ceiling)
	fmt.Printf("    then drained into MariaDB by the workers:     %10.0f samples/s (%s, every sample counted in the table)\n", want/drained.Seconds(), drained.Round(time.Millisecond))
	return nil
}

// waitIngestorSubscribed publishes probes until the ingestor has made one
// durable in the queue (its subscription is made just after it connects), then lets the
// probes in flight settle.
func waitIngestorSubscribed(ctx context.Context, url, user, pass string, reg prometheus.Gatherer) error {
	c, err := dialBench(url, testservice.UniqueName("pulse-bench-probe-"), user, pass, nil)
	if err != nil {
		return err
	}
	defer c.Disconnect(50)
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; counterValue(reg, "pulse_mqtt_samples_accepted_total") == 0; i++ {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return errors.New("the ingestor queued no probe within 30s: is it subscribed to Mosquitto?")
		}
		body := fmt.Sprintf(`{"name":"bench.mqtt.probe","value":%d,"ts":%d}`, i, time.Now().Add(-time.Hour).Unix()-int64(i))
		if tok := c.Publish("metrics/bench/probe", 1, false, body); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			return fmt.Errorf("probe publish: %v", tok.Error())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	return nil
}

func dialBench(url, clientID, user, pass string, onMessage paho.MessageHandler) (paho.Client, error) {
	o := paho.NewClientOptions().AddBroker(url).SetClientID(clientID).
		SetUsername(user).SetPassword(pass).SetProtocolVersion(4).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(10 * time.Second).SetKeepAlive(60 * time.Second).
		SetMaxResumePubInFlight(0)
	if onMessage != nil {
		o.SetDefaultPublishHandler(onMessage)
	}
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("connect %s as %s: timed out", url, user)
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("connect %s as %s: %w", url, user, err)
	}
	return c, nil
}

// publishAll sends every payload once at QoS 1 with w.publishers clients,
// each keeping up to w.window publishes in flight, and returns once every
// PUBACK has arrived.
func publishAll(url, user, pass string, payloads [][]byte, w mqttWorkload) (time.Duration, error) {
	clients := make([]paho.Client, w.publishers)
	for i := range clients {
		c, err := dialBench(url, testservice.UniqueName("pulse-bench-pub-"), user, pass, nil)
		if err != nil {
			return 0, err
		}
		defer c.Disconnect(50)
		clients[i] = c
	}
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for ci, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			topic := fmt.Sprintf("metrics/bench/system/agent-%d", ci)
			pending := make([]paho.Token, 0, w.window)
			wait := func(t paho.Token) bool {
				if !t.WaitTimeout(time.Minute) || t.Error() != nil {
					once.Do(func() { firstErr = fmt.Errorf("publish: no PUBACK within a minute or %v", t.Error()) })
					return false
				}
				return true
			}
			for {
				i := int(next.Add(1)) - 1
				if i >= len(payloads) {
					break
				}
				if len(pending) == w.window {
					if !wait(pending[0]) {
						return
					}
					pending = pending[1:]
				}
				pending = append(pending, c.Publish(topic, 1, false, payloads[i]))
			}
			for _, t := range pending {
				if !wait(t) {
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), firstErr
}

// measureSubscriberCeiling is the broker's own rate for this load: a plain
// paho subscriber (the ingestor's account, QoS 1, acknowledging each
// message as it arrives) receiving the same messages, from the first
// publish to the last delivery.
func measureSubscriberCeiling(ctx context.Context, w mqttWorkload, broker *testservice.Mosquitto, user, pass string) (float64, error) {
	var got atomic.Int64
	done := make(chan struct{})
	sub, err := dialBench(broker.URL, testservice.UniqueName("pulse-bench-ceiling-"), broker.IngestorUser, broker.IngestorPwd,
		func(_ paho.Client, _ paho.Message) {
			if got.Add(1) == int64(w.messages) {
				close(done)
			}
		})
	if err != nil {
		return 0, err
	}
	defer sub.Disconnect(50)
	if tok := sub.Subscribe("metrics/+/#", 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return 0, fmt.Errorf("subscribe: %v", tok.Error())
	}
	payloads := w.payloads(time.Now().Add(-4 * time.Hour))
	start := time.Now()
	if _, err := publishAll(broker.URL, user, pass, payloads, w); err != nil {
		return 0, err
	}
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		return 0, fmt.Errorf("the subscriber received %d of %d messages in 5 minutes", got.Load(), w.messages)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return float64(w.messages) / time.Since(start).Seconds(), nil
}

// counterValue sums the counter name's series in g (0 when absent).
func counterValue(g prometheus.Gatherer, name string) float64 {
	mfs, err := g.Gather()
	if err != nil {
		return 0
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
