package wiring

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/pulsemetrics/pulse/adapter/idempotency/sqlidempotency"
	"github.com/pulsemetrics/pulse/adapter/store/leases"
	"github.com/pulsemetrics/pulse/adapter/store/samples"
	"github.com/pulsemetrics/pulse/adapter/store/users"
	"github.com/pulsemetrics/pulse/infrastructure/app"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/telemetry"
	"github.com/pulsemetrics/pulse/usecase/accounts"
	"github.com/pulsemetrics/pulse/usecase/alerting"
	"github.com/pulsemetrics/pulse/usecase/retention"
	"github.com/pulsemetrics/pulse/usecase/rollupjob"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// SchedulerLoops are the scheduler role's periodic jobs.
type SchedulerLoops []app.Loop

// holderName names one job instance in leases: host, role, pid and a
// random suffix, so two instances in one process are told apart too.
func holderName(role Role) string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return fmt.Sprintf("%s/%s/%d/%s", host, role, os.Getpid(), rand.Text()[:8])
}

// ProvideRollupJob is the downsampling job over the store.
func ProvideRollupJob(cfg *config.Config, st *samples.Store, ls *leases.Store, reg *telemetry.Registry, log *slog.Logger, role Role) (*rollupjob.Service, error) {
	job, err := rollupjob.New(st, ls, rollupjob.Options{Steps: cfg.RollupSteps, Holder: holderName(role)}, log.With("job", "rollup"))
	if err != nil {
		return nil, err
	}
	job.OnPass = reg.Rollup().ObservePass
	return job, nil
}

// ProvideRetention is the retention job over the store.
func ProvideRetention(cfg *config.Config, st RetentionStore, log *slog.Logger) (*retention.Service, error) {
	days := make(map[time.Duration]int, len(cfg.RollupRetentionDays))
	for step, d := range cfg.RollupRetentionDays {
		days[time.Duration(step)*time.Millisecond] = d
	}
	return retention.New(st, retention.Options{RollupDays: days, PartitionsAhead: cfg.PartitionsAhead}, log.With("job", "retention"))
}

// RetentionJob is what `pulse retention run` needs.
type RetentionJob struct {
	Leases    *leases.Store
	Retention *retention.Service
}

// retentionLeaseTTL covers one retention run; a replica that dies holding
// it delays the next run by at most this.
const retentionLeaseTTL = 30 * time.Minute

// RunRetentionOnce runs retention under its lease (one replica at a time)
// and returns a summary; skipped is true when another process holds the lease.
func RunRetentionOnce(ctx context.Context, st *leases.Store, ret *retention.Service, role Role) (summary string, skipped bool, err error) {
	holder := holderName(role)
	ok, err := st.AcquireLease(ctx, "retention", holder, retentionLeaseTTL)
	if err != nil || !ok {
		return "", err == nil, err
	}
	defer func() { _ = st.ReleaseLease(context.WithoutCancel(ctx), "retention", holder) }()
	rep, err := ret.Run(ctx, time.Now())
	summary = fmt.Sprintf("retention: %d partitions created, %d dropped, %d raw samples and %d rollup rows deleted over %d tenants",
		len(rep.PartitionsCreated), len(rep.PartitionsDropped), rep.RawDeleted, rep.RollupsDeleted, len(rep.Tenants))
	return summary, false, err
}

// ProvideSchedulerLoops runs the alert rules when they are due (every
// PULSE_ALERT_TICK it claims them), the rollup job every PULSE_ROLLUP_EVERY,
// retention every PULSE_RETENTION_EVERY, and hourly the purge of expired
// dedupe ids, idempotency keys, ended login sessions, old login failures
// and exports older than PULSE_EXPORT_TTL.
func ProvideSchedulerLoops(cfg *config.Config, st *samples.Store, ls *leases.Store, us *users.Store, idem *sqlidempotency.Store,
	job *rollupjob.Service, ret *retention.Service, alerts *alerting.Service, ten *tenancy.Service, ex ExportPurger, reg *telemetry.Registry,
	log *slog.Logger, role Role) SchedulerLoops {
	return SchedulerLoops{
		newAlertScheduler(cfg, alerts, reg, ten),
		&periodic{name: "retention", every: cfg.RetentionEvery, log: log, reg: reg, run: func(ctx context.Context) error {
			_, skipped, err := RunRetentionOnce(ctx, ls, ret, role)
			if err == nil && !skipped {
				reg.JobSucceeded("retention", time.Now()) // its age is a Health figure
			}
			return err
		}},
		&periodic{name: "rollup", every: cfg.RollupEvery, log: log, reg: reg, run: func(ctx context.Context) error {
			_, err := job.Run(ctx)
			if n, perr := st.PendingRollups(ctx); perr == nil {
				reg.Rollup().Pending.Set(float64(n))
			}
			return err
		}},
		&periodic{name: "purge-expired", every: time.Hour, log: log, reg: reg, run: func(ctx context.Context) error {
			now := time.Now()
			n, err := st.PurgeDedupe(ctx, now)
			k, ierr := idem.Purge(ctx, now)
			n += k
			err = errors.Join(err, ierr)
			if n > 0 {
				log.Info("purged expired dedupe ids and idempotency keys", "rows", n)
			}
			m, aerr := us.PurgeAccounts(ctx, now, now.Add(-accounts.FailureWindow))
			if m > 0 {
				log.Info("purged ended sessions and old login failures", "rows", m)
			}
			return errors.Join(err, aerr, purgeExports(ctx, ex, log))
		}},
	}
}

// periodic runs a job now and then every interval until ctx ends. A failed
// run is logged and counted; the next one runs on schedule.
type periodic struct {
	name  string
	every time.Duration
	run   func(ctx context.Context) error
	log   *slog.Logger
	reg   *telemetry.Registry
}

func (p *periodic) Run(ctx context.Context) error {
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		err := p.run(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			p.reg.Rollup().JobRuns.WithLabelValues(p.name, "error").Inc()
			p.log.Error("scheduled job failed", "job", p.name, "err", err)
		default:
			p.reg.Rollup().JobRuns.WithLabelValues(p.name, "ok").Inc()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// NewSchedulerApp is `pulse-scheduler`: the periodic jobs and the ops endpoints.
func NewSchedulerApp(cfg *config.Config, role Role, h http.Handler, loops SchedulerLoops, cache CacheListener, health HealthRecorder, log *slog.Logger) OpsApp {
	all := append([]app.Loop{cache, health}, loops...)
	return OpsApp{&app.App{Name: string(role), Addr: cfg.HTTPAddr, Handler: h, Loops: all, Log: log, ShutdownTimeout: cfg.ShutdownTimeout}}
}

// RunRollupOnce runs the rollup job for `pulse rollup run`, waiting (up to a
// lease's lifetime) while a scheduler replica holds the lease, and returns
// a summary line.
func RunRollupOnce(ctx context.Context, job *rollupjob.Service) (string, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		rep, err := job.Run(ctx)
		if err != nil {
			return "", err
		}
		if !rep.Skipped {
			return fmt.Sprintf("rolled up %d raw samples of %d pending ranges into %d buckets in %s",
				rep.RawRows, rep.Pending, rep.Buckets, rep.Duration.Round(time.Millisecond)), nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("another process has held the %q lease for 2 minutes", rollupjob.LeaseName)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
