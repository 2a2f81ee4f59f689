package api

import (
	"fmt"
	"time"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/usecase/notification"
)

// channelBody is a notification channel's settings on the wire. Exactly
// the object of its kind is set (slack's is {}: its one setting, the URL,
// is the secret); durations are Go duration strings written shortest
// (10s, 4h), as alert rules' are.
type channelBody struct {
	Name           string       `json:"name"`
	Kind           string       `json:"kind"`
	Email          *emailBody   `json:"email"`
	Webhook        *webhookBody `json:"webhook"`
	Slack          *slackBody   `json:"slack"`
	SendResolved   bool         `json:"send_resolved"`
	GroupWait      string       `json:"group_wait"`
	RepeatInterval string       `json:"repeat_interval"`
}

type emailBody struct {
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	Security string   `json:"security"`
	Auth     string   `json:"auth,omitempty"`
	Username string   `json:"username"`
	To       []string `json:"to"`
	From     string   `json:"from"`
}

type webhookBody struct {
	URL string `json:"url"`
}

type slackBody struct{}

// channelRequest is a channel as a client sends it: the settings, the
// secret (the SMTP password or the Slack webhook URL; absent on an update
// keeps the stored one) and, for a webhook, whether to make a new signing
// secret. What Pulse computes (id, secret_set, secret_hint, times) is an
// unknown field here, refused like any other.
type channelRequest struct {
	channelBody
	Secret       *string `json:"secret"`
	RotateSecret bool    `json:"rotate_secret"`
}

// newChannelRequest is what a request body is decoded into: the defaults
// of notify.Defaults, so an omitted send_resolved, group_wait or
// repeat_interval takes its default and an explicit false or 0s stays.
func newChannelRequest() channelRequest {
	d := notify.Defaults()
	return channelRequest{channelBody: channelBody{
		SendResolved: d.SendResolved, GroupWait: shortDuration(d.GroupWait), RepeatInterval: shortDuration(d.RepeatInterval),
	}}
}

// toInput reads a request into the use case's input, with every field it
// could not parse (the durations) by its JSON name.
func (b channelRequest) toInput() (notification.ChannelInput, notify.FieldErrors) {
	bad := notify.FieldErrors{}
	dur := func(field, v string) time.Duration {
		if v == "" {
			return 0
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			bad[field] = fmt.Sprintf("%q is not a duration (e.g. 10s, 5m, 4h)", truncateForMessage(v))
		}
		return d
	}
	c := notify.Channel{
		Name: b.Name, Kind: notify.Kind(b.Kind), SendResolved: b.SendResolved,
		GroupWait: dur("group_wait", b.GroupWait), RepeatInterval: dur("repeat_interval", b.RepeatInterval),
	}
	if e := b.Email; e != nil {
		c.Email = &notify.EmailSettings{Host: e.Host, Port: e.Port, Security: e.Security, Auth: e.Auth, Username: e.Username, To: e.To, From: e.From}
	}
	if b.Webhook != nil {
		c.Webhook = &notify.WebhookSettings{URL: b.Webhook.URL}
	}
	if b.Slack != nil {
		c.Slack = &notify.SlackSettings{}
	}
	return notification.ChannelInput{Channel: c, Secret: b.Secret, RotateSecret: b.RotateSecret}, bad
}

// invalidChannel merges the adapter's parse errors with the domain's
// validation, so one answer lists every bad field.
func invalidChannel(c notify.Channel, parse notify.FieldErrors) error {
	all := notify.FieldErrors{}
	if ie, ok := c.Normalize().Validate().(*notify.InvalidChannelError); ok {
		all = ie.Fields
	}
	for k, v := range parse {
		all[k] = v
	}
	return &notify.InvalidChannelError{Fields: all}
}

// channelAnswer is a stored channel as shown: its secret masked. Secret is
// set only in the one answer that shows a webhook's new signing secret.
type channelAnswer struct {
	ID int64 `json:"id"`
	channelBody
	SecretSet  bool    `json:"secret_set"`
	SecretHint string  `json:"secret_hint"`
	CreatedAt  *string `json:"created_at"`
	UpdatedAt  *string `json:"updated_at"`
	Secret     string  `json:"secret,omitempty"`
}

func channelAnswerOf(v notification.ChannelView, shownOnce string) channelAnswer {
	c := v.Channel
	a := channelAnswer{
		ID: c.ID,
		channelBody: channelBody{
			Name: c.Name, Kind: string(c.Kind), SendResolved: c.SendResolved,
			GroupWait: shortDuration(c.GroupWait), RepeatInterval: shortDuration(c.RepeatInterval),
		},
		SecretSet: v.SecretSet, SecretHint: v.SecretHint,
		CreatedAt: msTime(c.CreatedAt), UpdatedAt: msTime(c.UpdatedAt), Secret: shownOnce,
	}
	if e := c.Email; e != nil {
		to := e.To
		if to == nil {
			to = []string{}
		}
		a.Email = &emailBody{Host: e.Host, Port: e.Port, Security: e.Security, Auth: e.Auth, Username: e.Username, To: to, From: e.From}
	}
	if c.Webhook != nil {
		a.Webhook = &webhookBody{URL: c.Webhook.URL}
	}
	if c.Slack != nil {
		a.Slack = &slackBody{}
	}
	return a
}

// testAnswer is what a test message came to; a failed delivery is an
// answer too, not an error.
type testAnswer struct {
	Delivered bool   `json:"delivered"`
	Status    int    `json:"status"`
	Answer    string `json:"answer"`
	Error     string `json:"error"`
	Retryable bool   `json:"retryable"`
	TookMS    int64  `json:"took_ms"`
}

func testAnswerOf(r notification.TestResult) testAnswer {
	return testAnswer{Delivered: r.Delivered, Status: r.Status, Answer: r.Answer, Error: r.Error, Retryable: r.Retryable,
		TookMS: r.Took.Milliseconds()}
}

// silenceBody is a silence as a client sends it. Times are RFC 3339;
// starts_at defaults to now, the end to ends_at, or starts_at plus
// duration, or an hour after the start.
type silenceBody struct {
	RuleID   int64         `json:"rule_id"`
	Matchers []matcherBody `json:"matchers"`
	StartsAt string        `json:"starts_at"`
	EndsAt   string        `json:"ends_at"`
	Duration string        `json:"duration"`
	Comment  string        `json:"comment"`
}

// toSilence reads a body into a silence, with every field it could not
// parse by its JSON name; nowMS is the use case's clock, the start of a
// silence given only a duration.
func (b silenceBody) toSilence(nowMS func() int64) (notify.Silence, notify.FieldErrors) {
	bad := notify.FieldErrors{}
	at := func(field, v string) int64 {
		if v == "" {
			return 0
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		switch {
		case err != nil:
			bad[field] = fmt.Sprintf("%q is not an RFC 3339 time (e.g. 2026-11-25T10:00:00Z)", truncateForMessage(v))
		case t.UnixMilli() <= 0:
			bad[field] = "must be after 1970-01-01T00:00:00Z"
		}
		return max(t.UnixMilli(), 0)
	}
	s := notify.Silence{RuleID: b.RuleID, Comment: b.Comment, StartsAt: at("starts_at", b.StartsAt), EndsAt: at("ends_at", b.EndsAt)}
	for _, m := range b.Matchers {
		s.Matchers = append(s.Matchers, alert.Matcher{Tag: m.Tag, Op: alert.MatchOp(m.Op), Value: m.Value})
	}
	if b.Duration != "" {
		d, err := time.ParseDuration(b.Duration)
		switch {
		case b.EndsAt != "":
			bad["duration"] = "give ends_at or duration, not both"
		case err != nil:
			bad["duration"] = fmt.Sprintf("%q is not a duration (e.g. 30m, 2h)", truncateForMessage(b.Duration))
		case d <= 0:
			bad["duration"] = "must be positive (e.g. 1h)"
		case d > time.Duration(notify.MaxSilenceSpan)*time.Millisecond:
			bad["duration"] = "a silence lasts at most a year"
		default:
			if s.StartsAt == 0 {
				s.StartsAt = nowMS()
			}
			s.EndsAt = s.StartsAt + d.Milliseconds()
		}
	}
	return s, bad
}

// invalidSilence merges the adapter's parse errors with the domain's
// validation (the use case's defaults applied), so one answer lists every
// bad field.
func invalidSilence(s notify.Silence, parse notify.FieldErrors, nowMS int64) error {
	s.Matchers = append(alert.Matchers(nil), s.Matchers...) // Validate compiles them in place
	if s.StartsAt == 0 {
		s.StartsAt = nowMS
	}
	if s.EndsAt == 0 {
		s.EndsAt = s.StartsAt + notification.DefaultSilence.Milliseconds()
	}
	all := notify.FieldErrors{}
	if ie, ok := s.Validate().(*notify.InvalidSilenceError); ok {
		all = ie.Fields
	}
	for k, v := range parse {
		all[k] = v
	}
	return &notify.InvalidSilenceError{Fields: all}
}

type silenceAnswer struct {
	ID        int64         `json:"id"`
	RuleID    int64         `json:"rule_id"`
	Matchers  []matcherBody `json:"matchers"`
	StartsAt  *string       `json:"starts_at"`
	EndsAt    *string       `json:"ends_at"`
	Comment   string        `json:"comment"`
	CreatedBy string        `json:"created_by"`
	CreatedAt *string       `json:"created_at"`
	Active    bool          `json:"active"`
}

func silenceAnswerOf(s notify.Silence, nowMS int64) silenceAnswer {
	a := silenceAnswer{ID: s.ID, RuleID: s.RuleID, Matchers: make([]matcherBody, 0, len(s.Matchers)),
		StartsAt: msTime(s.StartsAt), EndsAt: msTime(s.EndsAt), Comment: s.Comment, CreatedBy: s.CreatedBy,
		CreatedAt: msTime(s.CreatedAt), Active: s.Active(nowMS)}
	for _, m := range s.Matchers {
		a.Matchers = append(a.Matchers, matcherBody{Tag: m.Tag, Op: string(m.Op), Value: m.Value})
	}
	return a
}

// messageAnswer is a notification message as listed: one send (or its
// attempts) to one channel.
type messageAnswer struct {
	ID            int64   `json:"id"`
	ChannelID     int64   `json:"channel_id"`
	RuleID        int64   `json:"rule_id"`
	Kind          string  `json:"kind"`
	Status        string  `json:"status"`
	Items         int     `json:"items"`
	Attempts      int     `json:"attempts"`
	NextAttemptAt *string `json:"next_attempt_at"`
	LastStatus    int     `json:"last_status"`
	LastError     string  `json:"last_error"`
	CreatedAt     *string `json:"created_at"`
	SentAt        *string `json:"sent_at"`
}

func messageAnswerOf(m notification.MessageRow) messageAnswer {
	return messageAnswer{ID: m.ID, ChannelID: m.ChannelID, RuleID: m.RuleID, Kind: m.Kind, Status: m.Status, Items: m.Items,
		Attempts: m.Attempts, NextAttemptAt: msTime(m.NextAttemptAt), LastStatus: m.LastStatus, LastError: m.LastError,
		CreatedAt: msTime(m.CreatedAt), SentAt: msTime(m.SentAt)}
}

// settingsBody is the tenant's notification settings.
type settingsBody struct {
	PerMinute *int `json:"per_minute"`
}
