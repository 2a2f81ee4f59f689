// Package agentloop is pulse-agent's one use case: every interval it
// collects a batch of host metrics and ships it to Pulse; a batch the
// broker does not acknowledge goes to the spool, and the spool drains,
// oldest first and at a bounded rate, before any newer batch is sent live.
package agentloop

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/pulsemetrics/pulse/domain/agentmetric"
)

// Collector measures the host. Collect is called from one goroutine only.
type Collector interface {
	Collect(ctx context.Context) ([]agentmetric.Sample, error)
}

// Publisher sends one encoded batch and returns nil only once the broker
// acknowledged it. It must be safe for concurrent use.
type Publisher interface {
	Publish(ctx context.Context, topic string, payload []byte) error
	Connected() bool
}

// Spooled is one batch waiting in the spool.
type Spooled struct {
	Seq     uint64
	At      time.Time
	Payload []byte
}

// SpoolStats is the spool's size and its drop count.
type SpoolStats struct {
	Batches int
	Bytes   int64
	Dropped uint64
}

// Spool is the durable queue of unacknowledged batches. Append must be
// durable when it returns; Oldest returns the oldest batch (ok false when
// empty); Remove is called only after the broker acknowledged that batch.
// It must be safe for concurrent use.
type Spool interface {
	Append(at time.Time, payload []byte) (dropped int, err error)
	Oldest() (Spooled, bool, error)
	Remove(seq uint64) error
	Stats() SpoolStats
}

// Encoder turns a batch into the payload published (Pulse's sample JSON).
type Encoder func(agentmetric.Batch) ([]byte, error)

// Clock is the time source.
type Clock func() time.Time

// Config is how the loop runs.
type Config struct {
	Topic    string            // metrics/{tenant}/system/{agent_id}
	Interval time.Duration     // between collections
	Tags     map[string]string // on every sample: host, agent_id and the --tag ones
	// DrainRate is how many spooled batches per second are sent at most
	// while the spool drains (default 10).
	DrainRate float64
	// RetryEvery is how often a connected agent retries a spooled batch the
	// broker refused or did not acknowledge (default 1 s).
	RetryEvery time.Duration
}

// Counters are the loop's own running figures (for /metrics).
type Counters struct {
	Collected, CollectErrors, PublishedLive, PublishedSpooled, Spooled, PublishErrors, Dropped atomic.Uint64
}

// Service runs the loop.
type Service struct {
	cfg      Config
	col      Collector
	pub      Publisher
	spool    Spool
	enc      Encoder
	now      Clock
	log      *slog.Logger
	Counters Counters
}

// New builds the loop.
func New(cfg Config, col Collector, pub Publisher, spool Spool, enc Encoder, now Clock, log *slog.Logger) *Service {
	if cfg.DrainRate <= 0 {
		cfg.DrainRate = 10
	}
	if cfg.RetryEvery <= 0 {
		cfg.RetryEvery = time.Second
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{cfg: cfg, col: col, pub: pub, spool: spool, enc: enc, now: now, log: log}
}

// Once collects one batch and returns it encoded (for --once).
func (s *Service) Once(ctx context.Context) (agentmetric.Batch, []byte, error) {
	b, err := s.collect(ctx)
	if err != nil {
		return b, nil, err
	}
	p, err := s.enc(b)
	return b, p, err
}

// collect measures the host and adds the tags and the spool's own figures.
func (s *Service) collect(ctx context.Context) (agentmetric.Batch, error) {
	at := s.now().Truncate(time.Millisecond)
	samples, err := s.col.Collect(ctx)
	if err != nil && len(samples) == 0 {
		return agentmetric.Batch{}, err
	}
	if err != nil {
		s.Counters.CollectErrors.Add(1)
		s.log.Warn("some collectors failed", "err", err)
	}
	st := s.spool.Stats()
	samples = append(samples,
		agentmetric.Sample{Name: agentmetric.SpoolDropped, Value: float64(st.Dropped)},
		agentmetric.Sample{Name: agentmetric.SpoolBatches, Value: float64(st.Batches)},
		agentmetric.Sample{Name: agentmetric.SpoolBytes, Value: float64(st.Bytes)},
	)
	b := agentmetric.Batch{At: at, Samples: samples}.WithTags(s.cfg.Tags)
	if err := b.Validate(); err != nil {
		return agentmetric.Batch{}, err
	}
	s.Counters.Collected.Add(1)
	return b, nil
}

// Run collects every interval (the first batch at once) until ctx ends.
// Collection and shipping run in two goroutines joined by a small buffer,
// so a slow broker never delays a measurement.
func (s *Service) Run(ctx context.Context) error {
	batches := make(chan agentmetric.Batch, 16)
	shipped := make(chan struct{})
	go func() {
		defer close(shipped)
		s.ship(ctx, batches)
	}()
	defer func() { <-shipped }()
	ticker := time.NewTicker(s.cfg.Interval)
	defer ticker.Stop()
	for {
		b, err := s.collect(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.Counters.CollectErrors.Add(1)
			s.log.Error("collect", "err", err)
		case err == nil:
			select {
			case batches <- b:
			case <-ctx.Done():
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// ship sends each new batch live when the spool is empty and the broker
// connected, and spools it otherwise (or when the live send fails); between
// batches it drains the spool, oldest first, at most DrainRate per second.
func (s *Service) ship(ctx context.Context, batches <-chan agentmetric.Batch) {
	drainGap := time.Duration(float64(time.Second) / s.cfg.DrainRate)
	var next time.Time // earliest time of the next spooled send
	for {
		var wake <-chan time.Time
		if st := s.spool.Stats(); st.Batches > 0 {
			d := time.Until(next)
			if !s.pub.Connected() {
				d = max(d, 200*time.Millisecond) // poll the connection
			}
			wake = time.After(max(d, 0))
		}
		select {
		case <-ctx.Done():
			s.flushOnStop(batches)
			return
		case b := <-batches:
			s.handleLive(ctx, b)
		case <-wake:
			if !s.pub.Connected() {
				continue
			}
			sent, err := s.drainOne(ctx)
			switch {
			case err != nil:
				next = s.now().Add(s.cfg.RetryEvery)
			case sent:
				next = s.now().Add(drainGap)
			}
		}
	}
}

// flushOnStop spools the batches collected but not shipped when the agent stops.
func (s *Service) flushOnStop(batches <-chan agentmetric.Batch) {
	for {
		select {
		case b := <-batches:
			s.toSpool(b, nil)
		default:
			return
		}
	}
}

func (s *Service) handleLive(ctx context.Context, b agentmetric.Batch) {
	payload, err := s.enc(b)
	if err != nil {
		s.log.Error("encode batch", "err", err)
		return
	}
	if s.spool.Stats().Batches > 0 || !s.pub.Connected() {
		s.toSpool(b, payload)
		return
	}
	if err := s.pub.Publish(ctx, s.cfg.Topic, payload); err != nil {
		s.Counters.PublishErrors.Add(1)
		s.log.Warn("live publish failed; spooling the batch", "err", err)
		s.toSpool(b, payload)
		return
	}
	s.Counters.PublishedLive.Add(1)
}

func (s *Service) toSpool(b agentmetric.Batch, payload []byte) {
	if payload == nil {
		var err error
		if payload, err = s.enc(b); err != nil {
			s.log.Error("encode batch", "err", err)
			return
		}
	}
	dropped, err := s.spool.Append(b.At, payload)
	if dropped > 0 {
		s.Counters.Dropped.Add(uint64(dropped))
		s.log.Warn("spool full or expired: dropped the oldest batches", "dropped", dropped)
	}
	if err != nil {
		s.log.Error("spool a batch", "err", err, "at", b.At)
		return
	}
	s.Counters.Spooled.Add(1)
}

// drainOne sends the oldest spooled batch and removes it once acknowledged.
func (s *Service) drainOne(ctx context.Context) (sent bool, err error) {
	e, ok, err := s.spool.Oldest()
	if err != nil || !ok {
		return false, err
	}
	if err := s.pub.Publish(ctx, s.cfg.Topic, e.Payload); err != nil {
		if !errors.Is(err, context.Canceled) {
			s.Counters.PublishErrors.Add(1)
			s.log.Warn("spooled batch not acknowledged; it stays in the spool", "at", e.At, "err", err)
		}
		return false, err
	}
	if err := s.spool.Remove(e.Seq); err != nil {
		s.log.Error("remove an acknowledged batch from the spool (it will be sent again)", "err", err)
		return true, err
	}
	s.Counters.PublishedSpooled.Add(1)
	return true, nil
}
