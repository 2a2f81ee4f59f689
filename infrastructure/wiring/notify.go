package wiring

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/pulsemetrics/pulse/adapter/notify/deliverer"
	"github.com/pulsemetrics/pulse/adapter/notify/egress"
	"github.com/pulsemetrics/pulse/adapter/notify/secretbox"
	"github.com/pulsemetrics/pulse/adapter/notify/webhook"
	alertstore "github.com/pulsemetrics/pulse/adapter/store/alerts"
	"github.com/pulsemetrics/pulse/adapter/store/channels"
	"github.com/pulsemetrics/pulse/adapter/store/leases"
	notifstore "github.com/pulsemetrics/pulse/adapter/store/notifications"
	"github.com/pulsemetrics/pulse/infrastructure/app"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/telemetry"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// keyFileName is the embedded mode's generated PULSE_SECRET_KEY, in the data dir.
const keyFileName = "secret.key"

// ProvideSealer is the box channel secrets are sealed with, under the
// deployment's secret key (secretKey).
func ProvideSealer(cfg *config.Config, log *slog.Logger) (*secretbox.Box, error) {
	key, err := secretKey(cfg, log)
	if err != nil {
		return nil, err
	}
	return secretbox.New(key)
}

// secretKey is PULSE_SECRET_KEY, or (when it is unset, which only `pulse
// serve` allows) a key generated into the data dir on first start, 0600:
// channel secrets are sealed and export links signed under keys derived
// from it.
func secretKey(cfg *config.Config, log *slog.Logger) ([]byte, error) {
	if cfg.Notify.SecretKey != "" {
		return secretbox.ParseKey(cfg.Notify.SecretKey)
	}
	// With MariaDB and Redis nothing else makes the data dir.
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("PULSE_SECRET_KEY is not set and the data dir for its key file cannot be made: %w", err)
	}
	path := filepath.Join(cfg.DataDir, keyFileName)
	key, created, err := secretbox.LoadOrCreateKeyFile(path, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("PULSE_SECRET_KEY is not set and the key file cannot be used: %w", err)
	}
	if created {
		log.Warn("PULSE_SECRET_KEY is not set: generated a key for notification channels' secrets and export links; back it up with the database", "path", path)
	}
	return key, nil
}

// ProvideDeliverer sends over the SSRF-safe egress client;
// PULSE_NOTIFY_ALLOW_HOSTS exempts development receivers.
func ProvideDeliverer(cfg *config.Config) (*deliverer.Deliverer, error) {
	hosts, err := egress.ParseAllowHosts(cfg.Notify.AllowHosts)
	if err != nil {
		return nil, fmt.Errorf("PULSE_NOTIFY_ALLOW_HOSTS: %w", err)
	}
	return deliverer.New(egress.Policy{AllowHosts: hosts}), nil
}

// externalURL is PULSE_EXTERNAL_URL, or the local address of the API.
func externalURL(cfg *config.Config) string {
	if cfg.Notify.ExternalURL != "" {
		return cfg.Notify.ExternalURL
	}
	_, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil || port == "" {
		port = "8080"
	}
	return "http://localhost:" + port
}

// ProvideNotifications is the notification use case.
func ProvideNotifications(cfg *config.Config, st *notifstore.Store, ch *channels.Store, box *secretbox.Box, ls *leases.Store,
	d *deliverer.Deliverer, rules *alertstore.Store, reg *telemetry.Registry, log *slog.Logger, clock Clock, role Role) *notification.Service {
	return notification.New(st, ch, box, ls, d, notification.Clock(clock), notification.Options{
		Holder: holderName(role), ExternalURL: externalURL(cfg), PerMinute: cfg.Notify.PerMinute, Senders: cfg.Notify.Senders,
		NewWebhookSecret: func() (string, error) { return webhook.NewSecret(rand.Reader) },
		Mask:             secretbox.Mask, Observer: reg.Notifications(), Logger: log.With("job", "notify"),
		RuleExists: func(ctx context.Context, tenantID, ruleID int64) error {
			_, err := rules.GetRule(ctx, tenantID, ruleID)
			return err
		},
	})
}

// NotifyLoops are the dispatcher's loops: the planner (leased: one
// process plans at a time) and the senders.
type NotifyLoops []app.Loop

// ProvideNotifyLoops runs the dispatcher every PULSE_NOTIFY_TICK.
func ProvideNotifyLoops(cfg *config.Config, svc *notification.Service) NotifyLoops {
	tick := cfg.Notify.Tick
	return NotifyLoops{
		loopFunc(func(ctx context.Context) error { return svc.RunPlanner(ctx, tick) }),
		loopFunc(func(ctx context.Context) error { return svc.RunSenders(ctx, tick) }),
	}
}

type loopFunc func(ctx context.Context) error

func (f loopFunc) Run(ctx context.Context) error { return f(ctx) }
