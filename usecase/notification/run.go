package notification

import (
	"context"
	"time"
)

// RunPlanner plans every tick while ctx lasts, when this process holds the
// planner's lease (replicas stand by and take over within the lease when
// the holder dies). A failed pass is logged; the next one runs on time.
func (s *Service) RunPlanner(ctx context.Context, tick time.Duration) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	lastDepth := time.Time{}
	for {
		rep, ran, err := s.PlanOnce(ctx)
		switch {
		case ctx.Err() != nil:
			_ = s.leases.ReleaseLease(context.WithoutCancel(ctx), plannerLease, s.opts.Holder)
			return nil
		case err != nil:
			s.log.Error("notification planner pass failed", "err", err)
		case rep.Messages+rep.Held+rep.Silenced+rep.Dropped > 0:
			s.log.Info("notifications planned", "messages", rep.Messages, "digests", rep.Digests, "repeats", rep.Repeats,
				"held", rep.Held, "silenced", rep.Silenced, "released", rep.Released, "dropped", rep.Dropped)
		}
		if ran && s.opts.Observer != nil && s.now().Sub(lastDepth) >= 5*time.Second {
			if d, err := s.store.Depth(ctx); err == nil {
				s.opts.Observer.Depth(d)
				lastDepth = s.now()
			}
		}
		select {
		case <-ctx.Done():
			_ = s.leases.ReleaseLease(context.WithoutCancel(ctx), plannerLease, s.opts.Holder)
			return nil
		case <-t.C:
		}
	}
}

// RunSenders sends what is due every tick while ctx lasts, and at once
// again while claims bring work (a claim takes a few messages per tenant,
// so one tenant's backlog never fills a round others wait behind).
func (s *Service) RunSenders(ctx context.Context, tick time.Duration) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		n, err := s.SendOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			s.log.Error("notification send round failed", "err", err)
		case n > 0:
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
