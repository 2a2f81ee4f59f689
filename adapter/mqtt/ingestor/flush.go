package ingestor

import (
	"errors"
	"fmt"
	"sort"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// flush hands a batch to the ingest use case. If some of its messages break
// a domain rule, those (named by the error's sample indices) are rejected and
// the rest accepted again as one batch; should the indices not tell, the
// batch falls back to one Accept per message. One bad message never sinks
// the others.
func (i *Ingestor) flush(b *batch) {
	b.assemble()
	err := i.accept(b.tenantID, b.slug, b.inputs, b.msgs)
	var verr *metric.ValidationError
	switch {
	case err == nil:
		i.accepted(b.msgs, len(b.inputs))
		return
	case errors.As(err, &verr) && len(b.msgs) > 1:
		bad, rest := split(b, verr)
		if len(bad) == 0 || rest == nil {
			for _, m := range b.msgs {
				i.flushOne(b, m)
			}
			return
		}
		for m, errs := range bad {
			i.refused(b.slug, b.msgs[m], &metric.ValidationError{Errors: errs})
		}
		i.flush(rest)
		return
	}
	for _, m := range b.msgs {
		i.refused(b.slug, m, err)
	}
}

// split sorts a refused batch by verr's sample indices: the field errors of
// each bad message (indices made relative to the message), and a batch of
// the other messages (nil when none is left).
func split(b *batch, verr *metric.ValidationError) (map[int][]metric.FieldError, *batch) {
	bad := map[int][]metric.FieldError{}
	for _, fe := range verr.Errors {
		m := sort.Search(len(b.msgs), func(k int) bool { return b.msgs[k].to > fe.Index })
		if m == len(b.msgs) || fe.Index < b.msgs[m].from {
			return nil, nil // an index outside the batch: the error does not tell
		}
		fe.Index -= b.msgs[m].from
		bad[m] = append(bad[m], fe)
	}
	if len(bad) == len(b.msgs) {
		return bad, nil
	}
	rest := &batch{tenantID: b.tenantID, slug: b.slug}
	for k, m := range b.msgs {
		if _, isBad := bad[k]; isBad {
			continue
		}
		from := len(rest.inputs)
		rest.inputs = append(rest.inputs, b.inputs[m.from:m.to]...)
		m.from, m.to = from, len(rest.inputs)
		rest.msgs = append(rest.msgs, m)
	}
	return bad, rest
}

func (i *Ingestor) flushOne(b *batch, m message) {
	inputs := b.inputs[m.from:m.to]
	one := message{from: 0, to: len(inputs), arrived: m.arrived}
	if err := i.accept(b.tenantID, b.slug, inputs, []message{one}); err != nil {
		i.refused(b.slug, m, err)
		return
	}
	i.accepted([]message{m}, len(inputs))
}

// refused handles a message whose Accept failed for good: rejected and acked
// when the failure is the message's or its tenant's, left unacked (for the
// broker to redeliver) when the ingestor gave up retrying.
func (i *Ingestor) refused(slug string, m message, err error) {
	var verr *metric.ValidationError
	var lerr *metric.LimitError
	switch {
	case errors.As(err, &verr):
		i.reject(m.topic, slug, ReasonInvalidSample, err.Error(), m.ack)
	case errors.As(err, &lerr):
		i.reject(m.topic, slug, ReasonTooLarge, err.Error(), m.ack)
	case errors.Is(err, tenant.ErrNotFound), errors.Is(err, tenant.ErrDisabled):
		i.reject(m.topic, slug, ReasonTenant, err.Error(), m.ack)
	default:
		i.log.Warn("mqtt message not enqueued; the broker will deliver it again", "topic", m.topic, "err", err)
	}
}

func (i *Ingestor) accepted(msgs []message, samples int) {
	for _, m := range msgs {
		m.ack()
	}
	i.met.messages.WithLabelValues("accepted").Add(float64(len(msgs)))
	i.met.samples.Add(float64(samples))
}

// accept calls Accept, retrying with backoff while the failure is transient
// (back-pressure, quota, a broken queue), until the ingestor gives up.
// Each message is one part of the request, at its own arrival time.
func (i *Ingestor) accept(tenantID int64, slug string, inputs []metric.Input, msgs []message) error {
	parts := make([]ingest.Part, len(msgs))
	for k, m := range msgs {
		parts[k] = ingest.Part{End: m.to, ArrivedAt: m.arrived}
	}
	req := ingest.Request{
		Caller: ingest.Caller{TenantID: tenantID, Key: i.opts.QuotaKey(slug)},
		Inputs: inputs,
		Parts:  parts,
	}
	wait := i.opts.RetryMin
	for {
		_, err := i.ing.Accept(i.ctx, req)
		if err == nil || permanent(err) {
			return err
		}
		var rerr *ingest.RateLimitError
		pause := wait
		if errors.As(err, &rerr) && rerr.RetryAfter > pause {
			pause = min(rerr.RetryAfter, i.opts.RetryMax)
		}
		i.log.Debug("mqtt batch not accepted, retrying", "tenant", slug, "samples", len(inputs), "in", pause, "err", err)
		if !sleep(i.ctx, pause) {
			return fmt.Errorf("gave up retrying tenant=%s: %w", slug, err)
		}
		wait = min(2*wait, i.opts.RetryMax)
	}
}

// permanent tells the failures that another attempt cannot cure.
func permanent(err error) bool {
	var verr *metric.ValidationError
	var lerr *metric.LimitError
	return errors.As(err, &verr) || errors.As(err, &lerr) ||
		errors.Is(err, tenant.ErrNotFound) || errors.Is(err, tenant.ErrDisabled)
}
