package notification

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/notify"
)

// ChannelInput is a channel as a client sends it. Secret is the email
// channel's SMTP password or the Slack channel's webhook URL (nil on an
// update keeps the stored one); a webhook channel's signing secret is made
// by Pulse, on creation or when RotateSecret asks.
type ChannelInput struct {
	Channel      notify.Channel
	Secret       *string
	RotateSecret bool
}

// ChannelView is a channel as shown: its secret masked, never in full.
type ChannelView struct {
	notify.Channel
	SecretSet  bool
	SecretHint string
}

func aad(tenantID int64) []byte { return fmt.Appendf(nil, "pulse/notification-channel/%d", tenantID) }

func (s *Service) view(c notify.Channel, sealed string) ChannelView {
	v := ChannelView{Channel: c, SecretSet: sealed != ""}
	if sealed != "" {
		if plain, err := s.sealer.Open(sealed, aad(c.TenantID)); err == nil {
			v.SecretHint = s.opts.Mask(string(plain))
		} else {
			v.SecretHint = "(cannot be opened with this PULSE_SECRET_KEY)"
		}
	}
	return v
}

// ListChannels is the tenant's channels, by name.
func (s *Service) ListChannels(ctx context.Context, a Actor) ([]ChannelView, error) {
	cs, err := s.channels.ListChannels(ctx, a.TenantID)
	if err != nil {
		return nil, err
	}
	out := make([]ChannelView, 0, len(cs))
	for _, c := range cs {
		// The list does not open secrets: it only says whether one is set.
		_, sealed, err := s.channels.GetChannel(ctx, a.TenantID, c.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, s.view(c, sealed))
	}
	return out, nil
}

// GetChannel is one of the tenant's channels.
func (s *Service) GetChannel(ctx context.Context, a Actor, id int64) (ChannelView, error) {
	c, sealed, err := s.channels.GetChannel(ctx, a.TenantID, id)
	if err != nil {
		return ChannelView{}, err
	}
	return s.view(c, sealed), nil
}

// CreateChannel validates and stores a channel. shownOnce is the webhook
// channel's signing secret, which is never shown again ("" otherwise).
func (s *Service) CreateChannel(ctx context.Context, a Actor, in ChannelInput) (v ChannelView, shownOnce string, err error) {
	if err := requireAdmin(a, "create a notification channel"); err != nil {
		return ChannelView{}, "", err
	}
	c := in.Channel.Normalize()
	c.TenantID, c.ID = a.TenantID, 0
	secret, shownOnce, err := s.secretFor(c, in, "")
	if err != nil {
		return ChannelView{}, "", err
	}
	c = withURLKey(c, secret)
	sealed, err := s.check(c, secret)
	if err != nil {
		return ChannelView{}, "", err
	}
	stored, err := s.channels.CreateChannel(ctx, c, sealed, s.nowMS())
	if err != nil {
		return ChannelView{}, "", err
	}
	s.log.Info("notification channel created", "tenant", a.TenantID, "channel", stored.ID, "kind", stored.Kind)
	return s.view(stored, sealed), shownOnce, nil
}

// UpdateChannel replaces a channel's settings; its secret stays unless
// the input gives one, asks for a new one, or the kind changes.
func (s *Service) UpdateChannel(ctx context.Context, a Actor, id int64, in ChannelInput) (v ChannelView, shownOnce string, err error) {
	if err := requireAdmin(a, "change a notification channel"); err != nil {
		return ChannelView{}, "", err
	}
	old, oldSealed, err := s.channels.GetChannel(ctx, a.TenantID, id)
	if err != nil {
		return ChannelView{}, "", err
	}
	c := in.Channel.Normalize()
	c.TenantID, c.ID, c.CreatedAt = a.TenantID, id, old.CreatedAt
	keep := ""
	// The stored secret is opened only to be kept: one that no longer opens
	// (PULSE_SECRET_KEY changed) can still be replaced.
	replaced := in.RotateSecret && c.Kind == notify.KindWebhook || in.Secret != nil && c.Kind != notify.KindWebhook
	if c.Kind == old.Kind && oldSealed != "" && !replaced {
		plain, err := s.sealer.Open(oldSealed, aad(a.TenantID))
		if err != nil {
			return ChannelView{}, "", fmt.Errorf("open the stored secret of channel %d: %w", id, err)
		}
		keep = string(plain)
	}
	secret, shownOnce, err := s.secretFor(c, in, keep)
	if err != nil {
		return ChannelView{}, "", err
	}
	c = withURLKey(c, secret)
	sealed, err := s.check(c, secret)
	if err != nil {
		return ChannelView{}, "", err
	}
	now := s.nowMS()
	if err := s.channels.UpdateChannel(ctx, c, sealed, now); err != nil {
		return ChannelView{}, "", err
	}
	c.UpdatedAt = now
	return s.view(c, sealed), shownOnce, nil
}

// secretFor is the secret the channel will hold: the client's, a new
// webhook secret, or the kept one.
func (s *Service) secretFor(c notify.Channel, in ChannelInput, keep string) (secret, shownOnce string, err error) {
	switch {
	case c.Kind == notify.KindWebhook && (keep == "" || in.RotateSecret):
		if s.opts.NewWebhookSecret == nil {
			return "", "", errors.New("no webhook secret generator configured")
		}
		secret, err = s.opts.NewWebhookSecret()
		return secret, secret, err
	case c.Kind == notify.KindWebhook:
		return keep, "", nil
	case in.Secret != nil:
		return *in.Secret, "", nil
	}
	return keep, "", nil
}

// withURLKey gives a Slack channel the key of its URL (a copy of its
// settings: the caller's are not touched).
func withURLKey(c notify.Channel, secret string) notify.Channel {
	if c.Kind == notify.KindSlack && c.Slack != nil {
		sl := *c.Slack
		sl.URLKey = notify.SlackURLKey(secret)
		c.Slack = &sl
	}
	return c
}

// check validates the channel with its secret and seals the secret.
func (s *Service) check(c notify.Channel, secret string) (sealed string, err error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	if c.Kind == notify.KindSlack && secret == "" {
		return "", &notify.InvalidChannelError{Fields: notify.FieldErrors{"slack.url": "is required: the Slack incoming-webhook URL"}}
	}
	if err := s.deliver.Check(c, secret); err != nil {
		return "", err
	}
	if secret == "" {
		return "", nil
	}
	return s.sealer.Seal([]byte(secret), aad(c.TenantID))
}

// DeleteChannel removes a channel. Rules naming it keep the id; their
// notifications to it are counted as dropped (and logged) while it is
// gone.
func (s *Service) DeleteChannel(ctx context.Context, a Actor, id int64) error {
	if err := requireAdmin(a, "delete a notification channel"); err != nil {
		return err
	}
	return s.channels.DeleteChannel(ctx, a.TenantID, id)
}

// TestResult is what a test message came to.
type TestResult struct {
	Result
	Error string // a failure without an answer (a refused URL, a timeout)
	Took  time.Duration
}

// TestChannel sends a sample notification over the channel now, outside
// the queue and budgets, and tells what the receiver answered.
func (s *Service) TestChannel(ctx context.Context, a Actor, id int64) (TestResult, error) {
	if err := requireAdmin(a, "test a notification channel"); err != nil {
		return TestResult{}, err
	}
	c, sealed, err := s.channels.GetChannel(ctx, a.TenantID, id)
	if err != nil {
		return TestResult{}, err
	}
	secret, err := s.open(c, sealed)
	if err != nil {
		return TestResult{}, err
	}
	start := s.now()
	m := Outgoing{ID: fmt.Sprintf("test_%d_%d", id, start.UnixNano()), Kind: "test", Status: notify.NoticeFiring,
		Notifications: []Notification{sampleNotification(c, start)}, ExternalURL: s.opts.ExternalURL, TenantID: a.TenantID}
	res, err := s.deliver.Deliver(ctx, c, secret, m)
	out := TestResult{Result: res, Took: s.now().Sub(start)}
	if err != nil {
		out.Error = err.Error()
	}
	return out, nil
}

func (s *Service) open(c notify.Channel, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	plain, err := s.sealer.Open(sealed, aad(c.TenantID))
	if err != nil {
		return "", fmt.Errorf("open the secret of channel %d (was PULSE_SECRET_KEY changed?): %w", c.ID, err)
	}
	return string(plain), nil
}

func sampleNotification(c notify.Channel, at time.Time) Notification {
	v := 93.5
	return Notification{
		TenantID: c.TenantID, Rule: "Test notification from Pulse", Kind: alert.NotifyFiring, State: alert.Firing, Severity: alert.SeverityInfo,
		Instance: "host=example", Labels: map[string]string{"alertname": "Test notification from Pulse", "host": "example", "channel": c.Name},
		Annotations: map[string]string{"summary": "This is a test of channel " + c.Name + "; no rule fired."},
		Value:       &v, Threshold: 90, Condition: "avg(cpu.utilization)[5m] > 90", At: at.UTC().Format(time.RFC3339Nano),
	}
}
