package notification

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/notify"
)

// Attempt results, for metrics.
const (
	ResultSent  = "sent"
	ResultRetry = "retry"
	ResultDead  = "dead"
)

// maxError caps a stored error: enough for the UI.
const maxError = 2000

// SendOnce claims the messages due now, sends them (Senders at once) and
// records each outcome; it answers how many it claimed.
func (s *Service) SendOnce(ctx context.Context) (int, error) {
	claimed, err := s.store.ClaimMessages(ctx, s.nowMS(), s.opts.ClaimBatch, max(s.opts.ClaimBatch/4, 1), s.opts.Holder, s.opts.Lease)
	if err != nil || len(claimed) == 0 {
		return 0, err
	}
	chans := s.channelsOf(ctx, claimed)
	// Outcomes are recorded a few at a time, as they come: a sender that
	// dies mid-round leaves only its last few sent messages to be sent
	// again (under the same webhook-id) once their claims end.
	for start := 0; start < len(claimed); start += s.opts.Senders {
		part := claimed[start:min(start+s.opts.Senders, len(claimed))]
		outcomes := make([]Outcome, len(part))
		var g errgroup.Group
		for i, m := range part {
			g.Go(func() error {
				outcomes[i] = s.attempt(ctx, m, chans[chanKey{m.TenantID, m.ChannelID}])
				return nil
			})
		}
		_ = g.Wait() // attempts never fail the group: each outcome says what happened
		if ctx.Err() != nil {
			// Shutting down mid-send: what was not recorded is sent again once
			// the claims end, under the same webhook-id.
			return len(claimed), ctx.Err()
		}
		if err := s.store.Finish(context.WithoutCancel(ctx), outcomes); err != nil {
			return len(claimed), fmt.Errorf("record %d delivery outcomes: %w", len(outcomes), err)
		}
	}
	return len(claimed), nil
}

// loadedChannel is a channel with its sealed secret, or why it could not
// be loaded.
type loadedChannel struct {
	ch     notify.Channel
	sealed string
	err    error
}

// channelsOf loads each channel of a claimed batch once.
func (s *Service) channelsOf(ctx context.Context, claimed []Claimed) map[chanKey]loadedChannel {
	out := map[chanKey]loadedChannel{}
	for _, m := range claimed {
		k := chanKey{m.TenantID, m.ChannelID}
		if _, ok := out[k]; !ok {
			ch, sealed, err := s.channels.GetChannel(ctx, m.TenantID, m.ChannelID)
			out[k] = loadedChannel{ch: ch, sealed: sealed, err: err}
		}
	}
	return out
}

// attempt sends one claimed message over its channel and decides its
// outcome.
func (s *Service) attempt(ctx context.Context, m Claimed, lc loadedChannel) Outcome {
	start := s.now()
	now := start.UnixMilli()
	out := Outcome{MessageID: m.ID, Holder: s.opts.Holder, Attempts: m.Attempts + 1, FirstAttempt: m.FirstAttemptAt, At: now}
	if out.FirstAttempt == 0 {
		out.FirstAttempt = now
	}
	ch, sealed, err := lc.ch, lc.sealed, lc.err
	if err != nil {
		// A deleted channel is final; a store that failed is retried.
		return s.failed(out, m, "", Result{}, fmt.Errorf("channel %d: %w", m.ChannelID, err), !errors.Is(err, notify.ErrNotFound))
	}
	secret, err := s.open(ch, sealed)
	if err != nil {
		return s.failed(out, m, ch.Kind, Result{}, err, false)
	}
	res, err := s.deliver.Deliver(ctx, ch, secret, s.outgoing(m))
	took := s.now().Sub(start)
	switch {
	case err == nil && res.Delivered:
		out.Status, out.LastStatus = StatusSent, res.Status
		s.observe(ch.Kind, ResultSent, took)
		if first := firstAt(m); first > 0 && m.Kind == MessageAlerts && s.opts.Observer != nil {
			s.opts.Observer.Latency(time.Duration(now-first)*time.Millisecond + took)
		}
		return out
	case err != nil:
		return s.failed(out, m, ch.Kind, res, err, res.Retryable)
	}
	return s.failed(out, m, ch.Kind, res, nil, res.Retryable)
}

// failed records a failed attempt: retried with backoff while the
// failure is transient and the retry window lasts, else dead.
func (s *Service) failed(out Outcome, m Claimed, kind notify.Kind, res Result, err error, retryable bool) Outcome {
	out.LastStatus = res.Status
	out.LastError = errorText(res, err)
	if retryable {
		if at, dead := notify.NextAttempt(out.Attempts, out.FirstAttempt, out.At, res.RetryAfter, s.opts.Jitter()); !dead {
			out.Status, out.NextAttemptAt = StatusQueued, at
			s.observe(kind, ResultRetry, 0)
			return out
		}
		out.LastError = "gave up after " + notify.RetryFor.String() + " of retries: " + out.LastError
	}
	out.Status = StatusDead
	s.observe(kind, ResultDead, 0)
	s.log.Warn("notification dead", "tenant", m.TenantID, "channel", m.ChannelID, "message", m.ID,
		"attempts", out.Attempts, "status", out.LastStatus, "error", out.LastError)
	return out
}

func (s *Service) observe(kind notify.Kind, result string, took time.Duration) {
	if s.opts.Observer != nil {
		s.opts.Observer.Delivered(kind, result, took)
	}
}

func errorText(res Result, err error) string {
	text := res.Answer
	switch {
	case err != nil && text != "" && !strings.Contains(err.Error(), text):
		text = err.Error() + ": " + text
	case err != nil:
		text = err.Error()
	case res.Status != 0 && text == "":
		text = "answered " + strconv.Itoa(res.Status)
	}
	if len(text) > maxError {
		text = text[:maxError]
		for !utf8.ValidString(text) {
			text = text[:len(text)-1]
		}
	}
	return text
}

// outgoing renders a claimed message for the Deliverer. Its id is the
// message's, so every attempt carries the same webhook-id.
func (s *Service) outgoing(m Claimed) Outgoing {
	o := Outgoing{ID: "msg_" + strconv.FormatInt(m.ID, 10), Kind: m.Kind, Status: notify.NoticeResolved,
		Notifications: decodeItems(m.Items), ExternalURL: s.opts.ExternalURL, TenantID: m.TenantID}
	for _, n := range o.Notifications {
		if n.Kind != alert.NotifyResolved {
			o.Status = notify.NoticeFiring
		}
	}
	if m.Kind == MessageDigest {
		d := digestOf(o.Notifications)
		o.Digest = &d
	}
	return o
}

// digestOf folds a digest's notifications by rule.
func digestOf(ns []Notification) notify.Digest {
	held := make([]notify.Held, 0, len(ns))
	for _, n := range ns {
		at, _ := time.Parse(time.RFC3339Nano, n.At)
		held = append(held, notify.Held{RuleID: n.RuleID, Rule: n.Rule, At: at.UnixMilli(), Count: 1})
	}
	return notify.Fold(held)
}

// firstAt is the oldest transition time among a message's items (Unix
// ms), 0 when none parses: where its delivery latency starts.
func firstAt(m Claimed) int64 {
	var first int64
	for _, n := range decodeItems(m.Items) {
		if at, err := time.Parse(time.RFC3339Nano, n.At); err == nil && (first == 0 || at.UnixMilli() < first) {
			first = at.UnixMilli()
		}
	}
	return first
}
