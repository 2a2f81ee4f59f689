// Package ingestor is the MQTT door of ingest: it takes the payloads
// published to metrics/{tenant}/{anything...}, validates them with the same
// decoder as the HTTP door (adapter/samplejson) and hands them, batched, to
// the same ingest use case and queue.
//
// The transport-independent core is Ingestor (Handle a topic, a payload and
// an ack); PahoSubscriber feeds it from an external broker (Mosquitto), and
// HandleInline from an in-process broker hook.
package ingestor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsemetrics/pulse/adapter/samplejson"
	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// TenantResolver turns the tenant slug of a topic into the tenant id. It
// returns an error wrapping tenant.ErrNotFound for an unknown slug; any other
// error is taken as transient and retried. Implementations must be safe for
// concurrent use; the Ingestor caches their answers.
type TenantResolver interface {
	TenantIDBySlug(ctx context.Context, slug string) (int64, error)
}

// Ingester is the ingest use case (ingest.Service). Accept returns only once
// the batch is durable. It must be safe for concurrent use.
type Ingester interface {
	Accept(ctx context.Context, req ingest.Request) (ingest.Result, error)
}

// Options tunes an Ingestor; zero fields take the defaults.
type Options struct {
	// MaxBatchSamples flushes a tenant's pending batch once it holds this
	// many samples (default 5,000).
	MaxBatchSamples int
	// MaxBatchMessages flushes a tenant's pending batch once it holds this
	// many messages (default 1,000). Messages are acknowledged only after
	// their batch is durable, so this must stay below the broker's window of
	// unacknowledged messages per client (Mosquitto: max_inflight_messages,
	// default 20 — raise it, e.g. to 1000, for throughput).
	MaxBatchMessages int
	// Linger flushes a pending batch this long after its first message
	// (default 20 ms).
	Linger time.Duration
	// MaxSamplesPerMessage is the samples-per-request limit applied to one
	// payload (default 10,000, as HTTP).
	MaxSamplesPerMessage int
	// MaxPayloadBytes refuses larger payloads (default 5 MiB, as HTTP).
	MaxPayloadBytes int
	// TenantCacheTTL is how long a resolved slug is remembered (default
	// 2 s, so that a disabled tenant is refused within seconds; the
	// resolver caches too); an unknown slug is remembered for a tenth of that.
	TenantCacheTTL time.Duration
	// RetryMin and RetryMax bound the backoff between attempts when the
	// queue pushes back or fails (defaults 50 ms and 5 s).
	RetryMin, RetryMax time.Duration
	// TenantQuota charges every batch of a tenant to the quota key
	// "mqtt:<slug>" (the default quota). Leave it off when the broker
	// enforces per-token quotas itself (the embedded broker does).
	TenantQuota bool
	// Now is the clock that stamps each message's arrival (default
	// time.Now): samples without ts take their own message's arrival time.
	Now func() time.Time
}

// QuotaKey is the ingest quota key of a tenant's batches ("" = none).
func (o Options) QuotaKey(slug string) string {
	if !o.TenantQuota {
		return ""
	}
	return quotaKeyPrefix + slug
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxBatchSamples, 5000)
	def(&o.MaxBatchMessages, 1000)
	def(&o.MaxSamplesPerMessage, 10000)
	def(&o.MaxPayloadBytes, 5<<20)
	defD(&o.Linger, 20*time.Millisecond)
	defD(&o.TenantCacheTTL, 2*time.Second)
	defD(&o.RetryMin, 50*time.Millisecond)
	defD(&o.RetryMax, 5*time.Second)
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Reasons a message is rejected, the values of the reason label.
const (
	ReasonTopic         = "bad_topic"      // not metrics/<tenant>/<more>
	ReasonUnknownTenant = "unknown_tenant" // no tenant has the slug
	ReasonTenant        = "tenant_refused" // the tenant is disabled or gone
	ReasonTooLarge      = "too_large"      // payload bytes or samples over the limit
	ReasonMalformed     = "malformed"      // not one sample object or an array of them
	ReasonEmpty         = "empty"          // an empty array
	ReasonInvalidSample = "invalid_sample" // a field fails to decode or breaks a domain rule
	unknownTenantLabel  = "unknown"        // the tenant label of messages with no known tenant
	quotaKeyPrefix      = "mqtt:"          // + slug: the quota key of MQTT batches
	topicRoot           = "metrics/"       // the topic space of samples
	lingerJitterFloor   = time.Millisecond // a timer never fires sooner
)

// Ingestor validates MQTT payloads and hands them in per-tenant batches to
// the ingest use case. A message's ack is called once it is durable (its
// batch accepted) or definitively rejected (counted and logged); a message
// whose batch could not be enqueued is not acked, so the broker delivers it
// again after a reconnect.
//
// Quotas: the ingestor does not know which token published a message (the
// broker authenticated it). Per-token limits are the broker's job (the
// embedded broker charges each publish to its token's quota); with
// Options.TenantQuota every batch of a tenant is also charged to the quota
// key "mqtt:<slug>" with the default quota (for an external broker).
//
// Handle may be called from many goroutines at once.
type Ingestor struct {
	ing   Ingester
	res   TenantResolver
	log   *slog.Logger
	opts  Options
	met   *metrics
	cache *tenantCache

	ctx    context.Context // cancelled when Close gives up waiting
	cancel context.CancelFunc

	mu      sync.Mutex
	pending map[int64]*batch
	closed  bool
	flushes sync.WaitGroup
}

// batch is a tenant's pending messages.
type batch struct {
	tenantID int64
	slug     string
	// parts holds each message's decoded inputs while the batch fills;
	// inputs is their concatenation, made once when the batch is flushed
	// (appending to one growing slice would copy every input twice over).
	parts   [][]metric.Input
	samples int // in parts
	inputs  []metric.Input
	msgs    []message
	timer   *time.Timer
}

// assemble concatenates the parts into inputs.
func (b *batch) assemble() {
	if b.parts == nil {
		return
	}
	b.inputs = make([]metric.Input, 0, b.samples)
	for _, p := range b.parts {
		b.inputs = append(b.inputs, p...)
	}
	b.parts = nil
}

// message is one payload's share of a batch.
type message struct {
	topic   string
	from    int // inputs[from:to] of the batch
	to      int
	arrived time.Time // the time its samples without ts take
	ack     func()
}

// NewIngestor returns an Ingestor feeding ing. Its metrics are registered
// with reg (nil: not registered); log may be nil.
func NewIngestor(ing Ingester, res TenantResolver, reg prometheus.Registerer, log *slog.Logger, opts Options) *Ingestor {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Ingestor{
		ing: ing, res: res, log: log, opts: opts,
		met:     newMetrics(reg),
		cache:   newTenantCache(opts.TenantCacheTTL),
		ctx:     ctx,
		cancel:  cancel,
		pending: map[int64]*batch{},
	}
}

func (i *Ingestor) now() time.Time { return i.opts.Now() }

// HandleInline takes a message from an in-process broker hook, which has no
// acknowledgement to give back: the message is as durable as the hook's own
// delivery guarantee until its batch is accepted.
func (i *Ingestor) HandleInline(topic string, payload []byte) {
	i.Handle(topic, payload, nil)
}

// Handle takes one published message. ack (which may be nil) is called once
// the message is durable or rejected for good, never before. Handle may
// block while the queue pushes back: that slows the subscription down
// instead of dropping. After Close, Handle neither accepts nor acks.
func (i *Ingestor) Handle(topic string, payload []byte, ack func()) {
	if ack == nil {
		ack = func() {}
	}
	slug, ok := tenantSlug(topic)
	if !ok {
		i.reject(topic, unknownTenantLabel, ReasonTopic, "topic must be metrics/<tenant>/<anything>", ack)
		return
	}
	tenantID, err := i.resolve(slug)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		i.reject(topic, unknownTenantLabel, ReasonUnknownTenant, "no tenant has this slug", ack)
		return
	case err != nil: // closing: leave the message to the broker
		return
	}
	if len(payload) > i.opts.MaxPayloadBytes {
		i.reject(topic, slug, ReasonTooLarge, fmt.Sprintf("payload exceeds the limit max_body_bytes=%d", i.opts.MaxPayloadBytes), ack)
		return
	}
	inputs, fieldErrs, err := samplejson.Decode(payload, i.opts.MaxSamplesPerMessage)
	var lerr *metric.LimitError
	switch {
	case errors.As(err, &lerr):
		i.reject(topic, slug, ReasonTooLarge, lerr.Error(), ack)
		return
	case err != nil:
		i.reject(topic, slug, ReasonMalformed, err.Error(), ack)
		return
	case len(fieldErrs) > 0:
		i.reject(topic, slug, ReasonInvalidSample, (&metric.ValidationError{Errors: fieldErrs}).Error(), ack)
		return
	case len(inputs) == 0:
		i.reject(topic, slug, ReasonEmpty, "no samples in the payload", ack)
		return
	}
	i.add(tenantID, slug, message{topic: topic, arrived: i.now(), ack: ack}, inputs)
}

// add appends a decoded message to its tenant's batch and flushes the batch
// when it is full.
func (i *Ingestor) add(tenantID int64, slug string, m message, inputs []metric.Input) {
	i.mu.Lock()
	if i.closed {
		i.mu.Unlock()
		return
	}
	b := i.pending[tenantID]
	if b == nil {
		b = &batch{tenantID: tenantID, slug: slug}
		i.pending[tenantID] = b
		b.timer = time.AfterFunc(max(i.opts.Linger, lingerJitterFloor), func() { i.flushIfPending(b) })
	}
	m.from = b.samples
	b.parts = append(b.parts, inputs)
	b.samples += len(inputs)
	m.to = b.samples
	b.msgs = append(b.msgs, m)
	full := b.samples >= i.opts.MaxBatchSamples || len(b.msgs) >= i.opts.MaxBatchMessages
	if full {
		i.detach(b)
	}
	i.mu.Unlock()
	if full {
		defer i.flushes.Done()
		i.flush(b)
	}
}

// detach takes b out of pending; the caller then flushes it and calls
// i.flushes.Done. i.mu must be held.
func (i *Ingestor) detach(b *batch) {
	b.timer.Stop()
	delete(i.pending, b.tenantID)
	i.flushes.Add(1)
}

func (i *Ingestor) flushIfPending(b *batch) {
	i.mu.Lock()
	if i.pending[b.tenantID] != b {
		i.mu.Unlock()
		return
	}
	i.detach(b)
	i.mu.Unlock()
	defer i.flushes.Done()
	i.flush(b)
}

// resolve maps a slug to a tenant id, retrying transient failures until the
// ingestor gives up.
func (i *Ingestor) resolve(slug string) (int64, error) {
	wait := i.opts.RetryMin
	for {
		id, err := i.cache.get(i.ctx, slug, i.res)
		if err == nil || errors.Is(err, tenant.ErrNotFound) {
			return id, err
		}
		i.log.Warn("resolve mqtt tenant, retrying", "tenant", slug, "err", err)
		if !sleep(i.ctx, wait) {
			return 0, err
		}
		wait = min(2*wait, i.opts.RetryMax)
	}
}

func (i *Ingestor) reject(topic, tenantLabel, reason, msg string, ack func()) {
	i.met.messages.WithLabelValues("rejected").Inc()
	i.met.rejected.WithLabelValues(tenantLabel, reason).Inc()
	i.log.Warn("mqtt message rejected", "topic", topic, "tenant", tenantLabel, "reason", reason, "err", msg)
	ack()
}

// Close stops taking messages and flushes the pending batches, waiting for
// them until ctx ends; then it stops retrying, leaving what is not durable
// unacknowledged for the broker to deliver again, and returns ctx's error.
func (i *Ingestor) Close(ctx context.Context) error {
	i.mu.Lock()
	i.closed = true
	var todo []*batch
	for _, b := range i.pending {
		i.detach(b)
		todo = append(todo, b)
	}
	i.mu.Unlock()
	for _, b := range todo {
		go func() {
			defer i.flushes.Done()
			i.flush(b)
		}()
	}
	done := make(chan struct{})
	go func() {
		i.flushes.Wait()
		close(done)
	}()
	select {
	case <-done:
		i.cancel()
		return nil
	case <-ctx.Done():
		i.cancel()
		<-done
		return fmt.Errorf("drain mqtt ingestor: %w", ctx.Err())
	}
}

// tenantSlug reads the tenant of metrics/<slug>/<at least one more level>.
func tenantSlug(topic string) (string, bool) {
	rest, ok := strings.CutPrefix(topic, topicRoot)
	if !ok {
		return "", false
	}
	slug, below, ok := strings.Cut(rest, "/")
	if !ok || slug == "" || below == "" || strings.ContainsAny(slug, "+#") {
		return "", false
	}
	return slug, true
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
