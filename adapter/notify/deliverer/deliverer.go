// Package deliverer delivers the notification use case's messages over a
// channel's kind: a signed Alertmanager-style webhook, a Slack Block Kit
// message, or an email, all through the SSRF-safe egress client (SMTP
// too: its dial is checked as a webhook's is).
package deliverer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pulsemetrics/pulse/adapter/notify/egress"
	"github.com/pulsemetrics/pulse/adapter/notify/email"
	"github.com/pulsemetrics/pulse/adapter/notify/webhook"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// Deliverer implements notification.Deliverer.
type Deliverer struct {
	policy  egress.Policy
	client  *egress.Client
	webhook *webhook.Sender
	email   *email.Sender
	// plainHosts are the allowed hosts an email channel may reach without
	// TLS (besides loopback): the hosts of PULSE_NOTIFY_ALLOW_HOSTS.
	plainHosts []string
	now        func() time.Time
}

// New delivers under policy.
func New(policy egress.Policy) *Deliverer {
	c := egress.NewClient(policy)
	d := &Deliverer{policy: policy, client: c, webhook: webhook.NewSender(c), email: &email.Sender{Dial: c.Dial}, now: time.Now}
	for _, hp := range policy.AllowHosts {
		if i := strings.LastIndexByte(hp, ':'); i > 0 {
			d.plainHosts = append(d.plainHosts, strings.Trim(hp[:i], "[]"))
		}
	}
	return d
}

// Check refuses URLs the egress policy refuses and email settings the
// sender would (plain SMTP off loopback and the allowed hosts).
func (d *Deliverer) Check(ch notify.Channel, secret string) error {
	field, url := "", ""
	switch ch.Kind {
	case notify.KindWebhook:
		field, url = "webhook.url", ch.Webhook.URL
	case notify.KindSlack:
		field, url = "slack.url", secret
	case notify.KindEmail:
		if err := d.emailConfig(ch, secret).Validate(); err != nil {
			return &notify.InvalidChannelError{Fields: notify.FieldErrors{"email": err.Error()}}
		}
		return nil
	}
	if err := d.policy.CheckURL(url); err != nil {
		var refused *egress.RefusedError
		if errors.As(err, &refused) {
			return &notify.InvalidChannelError{Fields: notify.FieldErrors{field: "refused: " + refused.Reason}}
		}
		return &notify.InvalidChannelError{Fields: notify.FieldErrors{field: err.Error()}}
	}
	return nil
}

// Deliver sends m over ch.
func (d *Deliverer) Deliver(ctx context.Context, ch notify.Channel, secret string, m notification.Outgoing) (notification.Result, error) {
	switch ch.Kind {
	case notify.KindWebhook:
		return d.deliverWebhook(ctx, ch, secret, m)
	case notify.KindSlack:
		return d.deliverSlack(ctx, secret, m)
	case notify.KindEmail:
		return d.deliverEmail(ctx, ch, secret, m)
	}
	return notification.Result{}, fmt.Errorf("channel %d: unknown kind %q", ch.ID, ch.Kind)
}

func (d *Deliverer) deliverWebhook(ctx context.Context, ch notify.Channel, secret string, m notification.Outgoing) (notification.Result, error) {
	body, err := webhookBody(ch, m)
	if err != nil {
		return notification.Result{}, err
	}
	res, err := d.webhook.Send(ctx, ch.Webhook.URL, secret, m.ID, body)
	return fromHTTP(res), err
}

func (d *Deliverer) deliverSlack(ctx context.Context, url string, m notification.Outgoing) (notification.Result, error) {
	body, err := slackBody(m)
	if err != nil {
		return notification.Result{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return notification.Result{}, &egress.RefusedError{URL: "(unparsable)", Reason: "not a valid URL"}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if resp.Status == 0 {
		var refused *egress.RefusedError
		if errors.As(err, &refused) {
			return notification.Result{}, err
		}
		return notification.Result{Retryable: true}, fmt.Errorf("slack delivery: %w", err)
	}
	return fromHTTP(webhook.Classify(resp, d.now())), nil
}

func (d *Deliverer) deliverEmail(ctx context.Context, ch notify.Channel, password string, m notification.Outgoing) (notification.Result, error) {
	res, err := d.email.Send(ctx, d.emailConfig(ch, password), emailMessage(m))
	out := notification.Result{Delivered: res.Delivered, Retryable: res.Retryable, Status: res.Code, Answer: res.Answer}
	if err != nil && res.Delivered {
		err = nil
	}
	return out, err
}

func (d *Deliverer) emailConfig(ch notify.Channel, password string) email.Config {
	e := ch.Email
	if e == nil {
		return email.Config{}
	}
	return email.Config{Host: e.Host, Port: e.Port, Security: email.Security(e.Security), Auth: email.Auth(e.Auth), Username: e.Username, Password: password,
		From: e.From, To: e.To, AllowPlainHosts: d.plainHosts}
}

func fromHTTP(r webhook.Result) notification.Result {
	return notification.Result{Delivered: r.Delivered, Retryable: r.Retryable, RetryAfter: r.RetryAfter, Status: r.Status, Answer: r.Body}
}
