package wiring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/pulsemetrics/pulse/adapter/mqtt/broker"
	"github.com/pulsemetrics/pulse/adapter/mqtt/dynsec"
	"github.com/pulsemetrics/pulse/adapter/mqtt/ingestor"
	"github.com/pulsemetrics/pulse/adapter/samplejson"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/telemetry"
	"github.com/pulsemetrics/pulse/usecase/ingest"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// MQTTDoor is a process's MQTT door, run as one of its loops: the embedded
// broker with the ingestor subscribed in-process (no PULSE_MQTT_URL), or a
// persistent-session subscriber to the external broker.
type MQTTDoor struct {
	cfg     *config.Config
	ten     *tenancy.Service
	ing     *ingestor.Ingestor
	limiter ingest.RateLimiter
	reg     *telemetry.Registry
	log     *slog.Logger

	// Broker is the embedded broker once Run has started it (nil with an
	// external broker); tests read its address.
	Broker  *broker.Broker
	sub     *ingestor.PahoSubscriber
	started chan struct{}
	stop    func(context.Context) error // set by Bind
}

// Ready is the door's readiness check: the embedded broker listens, or
// the subscriber holds a connection to the external broker.
func (d *MQTTDoor) Ready(context.Context) error {
	select {
	case <-d.started:
	default:
		return errors.New("MQTT door not started")
	}
	if d.sub != nil && !d.sub.Connected() {
		return fmt.Errorf("not connected to %s", d.cfg.MQTTURL)
	}
	return nil
}

// ProvideMQTTDoor builds the MQTT door; nothing listens or connects before Run.
func ProvideMQTTDoor(cfg *config.Config, ten *tenancy.Service, in *ingest.Service, limiter ingest.RateLimiter,
	q Queue, reg *telemetry.Registry, log *slog.Logger) *MQTTDoor {
	log = log.With("door", "mqtt")
	reg.RegisterQueue(q)
	return &MQTTDoor{
		cfg: cfg, ten: ten, limiter: limiter, reg: reg, log: log,
		// Behind an external broker the publishing token is unknown to the
		// ingestor, so the quota falls back to one per tenant ("mqtt:<slug>");
		// the embedded broker charges each publish to its token instead.
		ing:     ingestor.NewIngestor(reg.Ingest(ten.TenantName).Door("mqtt", in), ten, reg, log, ingestor.Options{TenantQuota: cfg.MQTTURL != ""}),
		started: make(chan struct{}),
	}
}

// Started is closed once the door listens (embedded) or has started connecting.
func (d *MQTTDoor) Started() <-chan struct{} { return d.started }

// Bind starts the embedded broker's listeners (a taken port is an error
// naming PULSE_MQTT_LISTEN) or the subscriber's connection; Run serves.
func (d *MQTTDoor) Bind(ctx context.Context) error {
	if d.stop != nil {
		return nil
	}
	stop, err := d.start(ctx)
	if err != nil {
		return err
	}
	d.stop = stop
	close(d.started)
	return nil
}

// Run serves MQTT until ctx ends (binding first if Bind was not called),
// then drains the ingestor's pending batches.
func (d *MQTTDoor) Run(ctx context.Context) error {
	if err := d.Bind(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.cfg.ShutdownTimeout)
	defer cancel()
	return d.stop(dctx)
}

func (d *MQTTDoor) start(ctx context.Context) (func(context.Context) error, error) {
	if d.cfg.MQTTURL != "" {
		return d.startSubscriber(ctx)
	}
	b, err := broker.New(d.ten, broker.Options{
		Listen: d.cfg.MQTTListen, TLSListen: d.cfg.MQTTTLSListen,
		TLSCertFile: d.cfg.MQTTTLSCert, TLSKeyFile: d.cfg.MQTTTLSKey,
		OnPublish: d.takeQuota, Registerer: d.reg, Logger: d.log,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded MQTT broker: %w", err)
	}
	if err := b.Start(ctx); err != nil {
		return nil, fmt.Errorf("embedded MQTT broker (PULSE_MQTT_LISTEN=%s): %w", d.cfg.MQTTListen, err)
	}
	if err := b.Subscribe(ingestor.TopicFilter, d.ing.HandleInline); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("embedded MQTT broker: subscribe the ingestor: %w", err)
	}
	d.Broker = b
	d.log.Info("mqtt: embedded broker", "listen", b.Addr(), "tls", b.TLSAddr())
	return func(ctx context.Context) error {
		err := b.Close() // no new messages, then drain what is pending
		if cerr := d.ing.Close(ctx); err == nil {
			err = cerr
		}
		return err
	}, nil
}

func (d *MQTTDoor) startSubscriber(ctx context.Context) (func(context.Context) error, error) {
	id := d.cfg.MQTTClientID
	if id == "" {
		host, _ := os.Hostname()
		id = "pulse-ingestor-" + host
	}
	s, err := ingestor.NewPahoSubscriber(ingestor.PahoOptions{
		BrokerURL: d.cfg.MQTTURL, ClientID: id, Username: d.cfg.MQTTUsername, Password: d.cfg.MQTTPassword,
		SharedGroup: d.cfg.MQTTShareGroup, Logger: d.log,
	}, d.ing)
	if err != nil {
		return nil, fmt.Errorf("PULSE_MQTT_URL: %w", err)
	}
	if err := s.Start(ctx); err != nil {
		return nil, fmt.Errorf("MQTT subscriber to %s: %w", d.cfg.MQTTURL, err)
	}
	d.sub = s
	d.log.Info("mqtt: subscribed to external broker", "url", d.cfg.MQTTURL, "filter", s.Filter(), "client_id", id)
	return s.Stop, nil
}

// takeQuota charges an authorised publish to its token's quota (the same
// quota as HTTP): over it, the broker drops the message with MQTT 5 reason
// 0x97 (Quota exceeded) and counts it.
func (d *MQTTDoor) takeQuota(p tenancy.Principal, _ string, payload []byte) error {
	n := int64(max(samplejson.Count(payload), 1)) // counted, not decoded: the ingestor decodes once
	q := ingest.Quota{SamplesPerMinute: p.SamplesPerMinute}
	if q.SamplesPerMinute == 0 {
		q.SamplesPerMinute = d.cfg.RateLimitSamples
	}
	q.RequestsPerMinute = d.cfg.RateLimitRequests
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	dec, err := d.limiter.Take(ctx, p.TokenID, n, q)
	if err != nil {
		return fmt.Errorf("quota of token %s: %w", p.TokenID, err)
	}
	if !dec.Allowed {
		return &ingest.RateLimitError{Limit: dec.Limit, Max: dec.Max, RetryAfter: dec.RetryAfter}
	}
	return nil
}

// ProvideBrokerAccounts connects to the external Mosquitto's dynamic-security
// API when PULSE_MQTT_DYNSEC_USERNAME is set; nil otherwise (the embedded
// broker checks tokens itself).
func ProvideBrokerAccounts(cfg *config.Config, log *slog.Logger) (tenancy.BrokerAccounts, func(), error) {
	if cfg.MQTTDynsecUsername == "" {
		return nil, func() {}, nil
	}
	p, err := dynsec.New(dynsec.Options{
		BrokerURL: cfg.MQTTURL, Username: cfg.MQTTDynsecUsername, Password: cfg.MQTTDynsecPassword, Logger: log,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("Mosquitto dynamic security at PULSE_MQTT_URL=%s: %w", cfg.MQTTURL, err)
	}
	return p, p.Close, nil
}
