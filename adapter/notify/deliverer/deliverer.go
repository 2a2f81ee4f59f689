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
	"net"
	"net/http"
	"os"
	"strconv"
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
	d := &Deliverer{policy: policy, client: c, webhook: webhook.NewSender(c), now: time.Now}
	d.email = &email.Sender{Dial: d.dialSMTP}
	for _, hp := range policy.AllowHosts {
		if i := strings.LastIndexByte(hp, ':'); i > 0 {
			d.plainHosts = append(d.plainHosts, strings.Trim(hp[:i], "[]"))
		}
	}
	return d
}

// Check refuses URLs the egress policy refuses and email settings the
// sender would (plain SMTP off loopback and the allowed hosts), or whose
// SMTP server the egress dial would (an internal address, a loopback name
// or address whose host:port is not allowed).
func (d *Deliverer) Check(ch notify.Channel, secret string) error {
	field, url := "", ""
	switch ch.Kind {
	case notify.KindWebhook:
		field, url = "webhook.url", ch.Webhook.URL
	case notify.KindSlack:
		field, url = "slack.url", secret
	case notify.KindEmail:
		cfg := d.emailConfig(ch, secret)
		if err := cfg.Validate(); err != nil {
			return &notify.InvalidChannelError{Fields: notify.FieldErrors{"email": err.Error()}}
		}
		return invalid("email.host", d.checkSMTP(cfg))
	}
	return invalid(field, d.policy.CheckURL(url))
}

// invalid is a refusal as the channel's field error (nil for nil).
func invalid(field string, err error) error {
	if err == nil {
		return nil
	}
	var refused *egress.RefusedError
	if errors.As(err, &refused) {
		return &notify.InvalidChannelError{Fields: notify.FieldErrors{field: "refused: " + refused.Reason}}
	}
	return &notify.InvalidChannelError{Fields: notify.FieldErrors{field: err.Error()}}
}

// checkSMTP is the egress policy's save-time check of the SMTP server's
// host:port, as of a URL's: a literal address must be public and a
// loopback name is refused, unless host:port is allowed. (Plain SMTP to
// loopback passes email.Config, but the egress dial refuses loopback
// unless it is allowed: without this, such a channel is saved and then
// never delivered.)
func (d *Deliverer) checkSMTP(cfg email.Config) error {
	hp := net.JoinHostPort(strings.Trim(cfg.Host, "[]"), strconv.Itoa(smtpPort(cfg)))
	if err := d.policy.CheckURL("https://" + hp + "/"); err != nil {
		var refused *egress.RefusedError
		if errors.As(err, &refused) {
			return &egress.RefusedError{URL: "smtp://" + hp, Reason: refused.Reason}
		}
		return err
	}
	return nil
}

// smtpPort is the port the email sender dials (email.Config's default for
// a zero Port).
func smtpPort(cfg email.Config) int {
	switch {
	case cfg.Port != 0:
		return cfg.Port
	case cfg.Security == email.SecurityTLS:
		return 465
	case cfg.Security == email.SecurityPlain:
		return 25
	}
	return 587
}

// dialSMTP is the email sender's dial: the egress client's, with its
// refusal of an address made a *egress.RefusedError. Client.Dial, unlike
// Client.Do, returns the guard's refusal as a dial *net.OpError, which the
// email sender would classify as a network failure and retry; a refused
// destination is final.
func (d *Deliverer) dialSMTP(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := d.client.Dial(ctx, network, addr)
	if op, ok := refusedDial(err); ok {
		return nil, &egress.RefusedError{URL: "smtp://" + addr, Reason: op.Err.Error()}
	}
	return conn, err
}

// refusedDial tells the egress guard's refusal from a network failure: a
// dial *net.OpError whose cause is the guard's own error, where a network
// failure's cause is a system call's (*os.SyscallError, syscall.Errno) or
// another net.Error (a timeout), or the context's.
func refusedDial(err error) (*net.OpError, bool) {
	var op *net.OpError
	if err == nil || !errors.As(err, &op) || op.Op != "dial" || op.Err == nil {
		return nil, false
	}
	var sys *os.SyscallError
	var ne net.Error
	if errors.As(op.Err, &sys) || errors.As(op.Err, &ne) || errors.Is(op.Err, context.Canceled) || errors.Is(op.Err, context.DeadlineExceeded) {
		return nil, false
	}
	return op, true
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
	cfg := d.emailConfig(ch, password)
	if err := d.checkSMTP(cfg); err != nil {
		return notification.Result{Answer: err.Error()}, err
	}
	res, err := d.email.Send(ctx, cfg, emailMessage(m))
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
