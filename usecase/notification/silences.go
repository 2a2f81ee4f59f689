package notification

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pulsemetrics/pulse/domain/notify"
	"github.com/pulsemetrics/pulse/usecase/alerting"
)

// DefaultSilence is how long a silence lasts when no end is given (the
// UI's "silence 1 h").
const DefaultSilence = time.Hour

// CreateSilence validates and stores a silence; a start of 0 is now, an
// end of 0 is an hour after the start. The creator is the actor.
func (s *Service) CreateSilence(ctx context.Context, a Actor, in notify.Silence) (notify.Silence, error) {
	if err := requireAdmin(a, "create a silence"); err != nil {
		return notify.Silence{}, err
	}
	now := s.nowMS()
	in.ID, in.TenantID, in.CreatedAt, in.CreatedBy = 0, a.TenantID, now, a.Name
	if in.StartsAt == 0 {
		in.StartsAt = now
	}
	if in.EndsAt == 0 {
		in.EndsAt = in.StartsAt + DefaultSilence.Milliseconds()
	}
	if err := in.Validate(); err != nil {
		return notify.Silence{}, err
	}
	if in.RuleID != 0 && s.opts.RuleExists != nil {
		switch err := s.opts.RuleExists(ctx, a.TenantID, in.RuleID); {
		case errors.Is(err, alerting.ErrNotFound):
			return notify.Silence{}, &notify.InvalidSilenceError{Fields: notify.FieldErrors{"rule_id": fmt.Sprintf("no alert rule %d in this tenant", in.RuleID)}}
		case err != nil:
			return notify.Silence{}, err
		}
	}
	out, err := s.store.CreateSilence(ctx, in)
	if err == nil {
		s.log.Info("silence created", "tenant", a.TenantID, "silence", out.ID, "rule", out.RuleID, "ends_at", time.UnixMilli(out.EndsAt).UTC())
	}
	return out, err
}

// ListSilences is the tenant's silences, newest first (activeOnly: those
// that have not ended).
func (s *Service) ListSilences(ctx context.Context, a Actor, activeOnly bool) ([]notify.Silence, error) {
	return s.store.ListSilences(ctx, a.TenantID, activeOnly, s.nowMS())
}

// EndSilence ends a silence now; it stays in the history. What it held
// and is still firing is notified on the planner's next pass.
func (s *Service) EndSilence(ctx context.Context, a Actor, id int64) error {
	if err := requireAdmin(a, "end a silence"); err != nil {
		return err
	}
	return s.store.EndSilence(ctx, a.TenantID, id, s.nowMS())
}

// NowMS is the use case's clock, for answers that say whether a silence
// is active.
func (s *Service) NowMS() int64 { return s.nowMS() }
