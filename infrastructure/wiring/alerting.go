package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	alertstore "github.com/pulsemetrics/pulse/adapter/store/alerts"
	"github.com/pulsemetrics/pulse/adapter/store/channels"
	"github.com/pulsemetrics/pulse/adapter/store/samples"
	"github.com/pulsemetrics/pulse/infrastructure/config"
	"github.com/pulsemetrics/pulse/infrastructure/telemetry"
	"github.com/pulsemetrics/pulse/usecase/alerting"
	"github.com/pulsemetrics/pulse/usecase/tenancy"
)

// ProvideAlerting is the alerting use case on the alert store; windows
// are read through the samples store, as charts are.
func ProvideAlerting(cfg *config.Config, st *alertstore.Store, sm *samples.Store, ch *channels.Store, log *slog.Logger, clock Clock, role Role) *alerting.Service {
	return alerting.New(st, st, st, sm, alerting.Clock(clock), alerting.Options{
		MinCadence: cfg.AlertMinCadence, Steps: cfg.RollupSteps, Holder: holderName(role), Logger: log.With("job", "alerts"), Channels: ch,
	})
}

// newAlertScheduler is the scheduler role's alert loop; its metrics
// register here, so only the roles that evaluate expose them.
func newAlertScheduler(cfg *config.Config, svc *alerting.Service, reg *telemetry.Registry, ten *tenancy.Service) alertScheduler {
	return alertScheduler{run: svc.Scheduler(reg.Alerts(ten.TenantName)), tick: cfg.AlertTick}
}

type alertScheduler struct {
	run  func(ctx context.Context, tick time.Duration) error
	tick time.Duration
}

func (a alertScheduler) Run(ctx context.Context) error { return a.run(ctx, a.tick) }

// EvalAlertsOnce is `pulse alerts eval`: one scheduler round (ruleID 0)
// or one rule at at, summarised in a line.
func EvalAlertsOnce(ctx context.Context, svc *alerting.Service, ruleID int64, at time.Time) (string, error) {
	var (
		round alerting.Round
		err   error
	)
	if ruleID == 0 {
		round, err = svc.RunDue(ctx)
	} else {
		round, err = svc.EvaluateRule(ctx, ruleID, at)
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("evaluated %d rule(s): %d ok, %d error, %d conflict, %d failed; %d transition(s), %d notification(s) queued",
		round.Claimed, round.Results[alerting.ResultOK], round.Results[alerting.ResultError], round.Results[alerting.ResultConflict],
		round.Results[alerting.ResultFailed], round.Transitions, round.Notified), nil
}
