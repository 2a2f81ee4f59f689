// Package selfmetrics records Pulse's own pipeline figures (dogfood): every
// interval a process gathers its Prometheus registry, turns it into pulse.*
// samples (package figures) tagged with its role and instance, and ingests
// them into the internal tenant (tenant.InternalSlug) through the ingest
// use case, like any client's samples: validated, charged to a quota,
// queued and flushed. The Health page charts them.
package selfmetrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pulsemetrics/pulse/domain/metric"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/infrastructure/selfmetrics/figures"
	"github.com/pulsemetrics/pulse/usecase/ingest"
)

// Ingester is the ingest use case (ingest.Service).
type Ingester interface {
	Accept(ctx context.Context, req ingest.Request) (ingest.Result, error)
}

// QuotaKey is the quota the figures are charged to, shared by every
// process (a few dozen samples per process and interval).
const QuotaKey = "internal:" + tenant.InternalSlug

// maxTickTime bounds one tick, so that a stalled database or queue delays
// the next figures, never the process.
const maxTickTime = 5 * time.Second

// Options tune a Recorder.
type Options struct {
	Every    time.Duration // 0: Run records nothing
	Role     string        // the role tag
	Instance string        // the instance tag; "" = host/pid
	Now      func() time.Time
	Log      *slog.Logger
	// Registerer gets pulse_health_figures_total{result}; nil: not exposed.
	Registerer prometheus.Registerer
}

// Recorder is the figures loop of one process (an app.Loop).
type Recorder struct {
	gather   prometheus.Gatherer
	ingest   Ingester
	tenantID func(ctx context.Context) (int64, error)
	opts     Options
	results  *prometheus.CounterVec

	mu      sync.Mutex // one tick at a time (Run, and tests calling Tick)
	state   figures.State
	failing bool // the last tick failed: log the next failures at debug
}

// New returns a recorder of g's figures into the tenant tenantID answers
// (tenancy.Service.InternalTenantID, which creates it on first use).
func New(g prometheus.Gatherer, in Ingester, tenantID func(ctx context.Context) (int64, error), o Options) *Recorder {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Instance == "" {
		o.Instance = Instance()
	}
	r := &Recorder{gather: g, ingest: in, tenantID: tenantID, opts: o, state: figures.NewState(o.Now())}
	r.results = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pulse_health_figures_total",
		Help: "Samples of Pulse's own figures the recorder offered to the internal tenant, by result (refused: dropped, not retried).",
	}, []string{"result"})
	for _, res := range []string{"accepted", "refused"} {
		r.results.WithLabelValues(res)
	}
	if o.Registerer != nil {
		if err := o.Registerer.Register(r.results); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				if prev, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
					r.results = prev
				}
			}
		}
	}
	return r
}

// Instance names this process: host/pid.
func Instance() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	s := fmt.Sprintf("%s/%d", host, os.Getpid())
	if len(s) > 200 {
		s = s[len(s)-200:] // the pid end tells processes apart
	}
	return s
}

// Run records every Options.Every until ctx ends. A tick that fails is
// logged and dropped: the process goes on whatever ingest answers.
func (r *Recorder) Run(ctx context.Context) error {
	if r.opts.Every <= 0 {
		return nil
	}
	t := time.NewTicker(r.opts.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			_, _ = r.Tick(ctx)
		}
	}
}

// Tick gathers and records once, and returns how many samples ingest
// accepted. Its error is logged already; tests read it.
func (r *Recorder) Tick(ctx context.Context) (accepted int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() {
		if v := recover(); v != nil { // a bug here must not take the process down
			err = fmt.Errorf("health figures: panic: %v", v)
			r.opts.Log.Error("health figures: panic", "panic", v)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, min(max(r.opts.Every, time.Second), maxTickTime))
	defer cancel()
	fams, gerr := r.gather.Gather() // partial on error: record what was gathered
	if gerr != nil {
		r.opts.Log.Debug("health figures: gather", "err", gerr)
	}
	now := r.opts.Now()
	figs, next := figures.Convert(fams, r.state, now)
	r.state = next
	if len(figs) == 0 {
		return 0, nil
	}
	id, err := r.tenantID(ctx)
	if err != nil {
		r.failed(len(figs), fmt.Errorf("health figures: internal tenant: %w", err))
		return 0, err
	}
	inputs := r.inputs(figs, now)
	res, err := r.ingest.Accept(ctx, ingest.Request{Caller: ingest.Caller{TenantID: id, Key: QuotaKey}, Inputs: inputs})
	if err != nil {
		r.failed(len(inputs), fmt.Errorf("health figures: ingest refused %d samples: %w", len(inputs), err))
		return 0, err
	}
	r.results.WithLabelValues("accepted").Add(float64(res.Accepted))
	if r.failing {
		r.opts.Log.Info("health figures: recording again")
		r.failing = false
	}
	return res.Accepted, nil
}

func (r *Recorder) inputs(figs []figures.Figure, now time.Time) []metric.Input {
	ts := now.Truncate(time.Millisecond)
	out := make([]metric.Input, len(figs))
	for i, f := range figs {
		tags := make(map[string]string, len(f.Tags)+2)
		for k, v := range f.Tags {
			tags[k] = v
		}
		tags["role"], tags["instance"] = r.opts.Role, r.opts.Instance
		out[i] = metric.Input{Name: f.Name, Value: f.Value, HasValue: true, Tags: tags, TS: ts, HasTS: true}
	}
	return out
}

// failed counts a dropped tick and logs it: at warn when recording stops,
// at debug while it stays stopped (an outage must not flood the log), at
// debug for the refusals that say "later" (back-pressure, quota).
func (r *Recorder) failed(n int, err error) {
	r.results.WithLabelValues("refused").Add(float64(n))
	var rerr *ingest.RateLimitError
	later := errors.Is(err, ingest.ErrBackpressure) || errors.As(err, &rerr)
	if r.failing || later {
		r.opts.Log.Debug("health figures not recorded", "err", err)
	} else {
		r.opts.Log.Warn("health figures not recorded", "err", err)
	}
	r.failing = !later || r.failing
}
