package telemetry

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/outage"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// Accepter is a door's view of the ingest use case (ingest.Service).
type Accepter interface {
	Accept(ctx context.Context, req ingest.Request) (ingest.Result, error)
}

// Ingest is the doors' figures: samples accepted and refused per door and
// tenant, and how long accepted requests took to be durable. The counts
// are kept by tenant id and labelled with the slug at scrape time, so the
// request path never waits for a tenant's name.
type Ingest struct {
	tenantName func(id int64) string
	duration   *prometheus.HistogramVec
	accDesc    *prometheus.Desc
	refDesc    *prometheus.Desc

	mu       sync.Mutex
	accepted map[doorTenant]float64
	refused  map[refusal]float64

	namesMu sync.Mutex
	names   map[int64]string // slugs never change: resolved once
}

type doorTenant struct {
	door   string
	tenant int64
}

type refusal struct {
	doorTenant
	reason string
}

// Ingest registers (once) and returns the doors' figures; tenantName
// labels them (nil or "": the tenant id).
func (r *Registry) Ingest(tenantName func(id int64) string) *Ingest {
	return registerShared(r, &Ingest{
		tenantName: tenantName,
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pulse_ingest_accept_duration_seconds",
			Help:    "Time the ingest use case took to make an accepted request durable (quota, validation, queue), by door.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"door"}),
		accDesc: prometheus.NewDesc("pulse_ingest_accepted_samples_total",
			"Samples accepted (durable in the queue), by door and tenant.", []string{"door", "tenant"}, nil),
		refDesc: prometheus.NewDesc("pulse_ingest_refused_samples_total",
			"Samples of refused ingest attempts, by door, tenant and reason (invalid, quota, backpressure, idempotency, tenant, unavailable, error). An MQTT batch retried or split counts at each attempt.",
			[]string{"door", "tenant", "reason"}, nil),
		accepted: map[doorTenant]float64{},
		refused:  map[refusal]float64{},
		names:    map[int64]string{},
	})
}

// Door wraps a door's ingester (door = "http" or "mqtt") so that its
// requests are counted. The figures recorder ingests around it, unwrapped,
// so that Pulse's own samples do not show in the doors' figures.
func (m *Ingest) Door(door string, next Accepter) Accepter {
	m.duration.WithLabelValues(door)
	return &doorIngester{m: m, door: door, next: next}
}

type doorIngester struct {
	m    *Ingest
	door string
	next Accepter
}

func (d *doorIngester) Accept(ctx context.Context, req ingest.Request) (ingest.Result, error) {
	start := time.Now()
	res, err := d.next.Accept(ctx, req)
	d.m.observe(d.door, req, res, err, time.Since(start))
	return res, err
}

func (m *Ingest) observe(door string, req ingest.Request, res ingest.Result, err error, took time.Duration) {
	key := doorTenant{door: door, tenant: req.Caller.TenantID}
	if err == nil {
		if res.Replayed {
			return // an Idempotency-Key replay enqueued nothing
		}
		m.duration.WithLabelValues(door).Observe(took.Seconds())
		m.mu.Lock()
		m.accepted[key] += float64(res.Accepted)
		m.mu.Unlock()
		return
	}
	m.mu.Lock()
	m.refused[refusal{key, refusalReason(err)}] += float64(len(req.Inputs))
	m.mu.Unlock()
}

// refusalReason names why Accept refused, in a bounded set of labels.
func refusalReason(err error) string {
	var (
		verr *metric.ValidationError
		lerr *metric.LimitError
		rerr *ingest.RateLimitError
		ierr *ingest.IdempotencyError
	)
	switch {
	case errors.As(err, &verr), errors.As(err, &lerr):
		return "invalid"
	case errors.As(err, &rerr):
		return "quota"
	case errors.Is(err, ingest.ErrBackpressure):
		return "backpressure"
	case errors.As(err, &ierr):
		return "idempotency"
	case errors.Is(err, tenant.ErrDisabled), errors.Is(err, tenant.ErrNotFound):
		return "tenant"
	case errors.Is(err, outage.ErrUnavailable):
		return "unavailable"
	}
	return "error"
}

// Describe is prometheus.Collector.
func (m *Ingest) Describe(ch chan<- *prometheus.Desc) {
	m.duration.Describe(ch)
	ch <- m.accDesc
	ch <- m.refDesc
}

// Collect is prometheus.Collector.
func (m *Ingest) Collect(ch chan<- prometheus.Metric) {
	m.duration.Collect(ch)
	m.mu.Lock()
	accepted := make(map[doorTenant]float64, len(m.accepted))
	for k, v := range m.accepted {
		accepted[k] = v
	}
	refused := make(map[refusal]float64, len(m.refused))
	for k, v := range m.refused {
		refused[k] = v
	}
	m.mu.Unlock()
	for k, v := range accepted {
		ch <- prometheus.MustNewConstMetric(m.accDesc, prometheus.CounterValue, v, k.door, m.label(k.tenant))
	}
	for k, v := range refused {
		ch <- prometheus.MustNewConstMetric(m.refDesc, prometheus.CounterValue, v, k.door, m.label(k.tenant), k.reason)
	}
}

// label is the tenant's slug, remembered once known; "id:<id>" until then
// (a bare id could equal another tenant's all-digit slug).
func (m *Ingest) label(id int64) string {
	m.namesMu.Lock()
	name, ok := m.names[id]
	m.namesMu.Unlock()
	if ok {
		return name
	}
	if m.tenantName != nil {
		name = m.tenantName(id)
	}
	if name == "" {
		return "id:" + strconv.FormatInt(id, 10)
	}
	m.namesMu.Lock()
	m.names[id] = name
	m.namesMu.Unlock()
	return name
}
