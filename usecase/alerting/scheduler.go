package alerting

import (
	"context"
	"time"
)

// firingEvery is how often the scheduler refreshes pulse_alerts_firing.
const firingEvery = 10 * time.Second

// Scheduler is RunScheduler reporting to obs (the metrics of the role
// that evaluates; an API replica builds the use case without them).
func (s *Service) Scheduler(obs Observer) func(ctx context.Context, tick time.Duration) error {
	withObs := *s
	withObs.opts.Observer = obs
	return withObs.RunScheduler
}

// RunScheduler evaluates due rules every tick until ctx ends (pulse serve
// and pulse-scheduler run it; any number of replicas share the rules
// through their claims). A failing database is logged once per outage and
// retried on the next tick.
func (s *Service) RunScheduler(ctx context.Context, tick time.Duration) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	var (
		failing    bool
		lastFiring time.Time
	)
	for {
		round, err := s.RunDue(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && !failing:
			failing = true
			s.log.Error("alert scheduler cannot claim rules; retrying every tick", "err", err)
		case err == nil && failing:
			failing = false
			s.log.Info("alert scheduler claims rules again")
		}
		if round.Claimed > 0 {
			s.log.Debug("alert round", "claimed", round.Claimed, "results", round.Results,
				"transitions", round.Transitions, "notifications", round.Notified)
		}
		if o := s.opts.Observer; o != nil && time.Since(lastFiring) >= firingEvery {
			if byTenant, err := s.sched.FiringByTenant(ctx); err == nil {
				o.Firing(byTenant)
				lastFiring = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
