package demo

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/pulsemetrics/pulse/domain/account"
	"github.com/pulsemetrics/pulse/domain/synth"
)

// user makes admin@demo.local unless it exists.
func (s *Service) user(ctx context.Context, _ int64, out io.Writer) (bool, error) {
	ok, err := s.p.Users.Exists(ctx, Email)
	if err != nil {
		return false, fmt.Errorf("look up %s: %w", Email, err)
	}
	if ok {
		fmt.Fprintf(out, "user %s exists: its password is the one the first pulse demo printed (pulse demo never changes it; to start over, stop pulse and remove the data dir)\n", Email)
		return false, nil
	}
	password := s.o.Password()
	if err := s.p.Users.Create(ctx, Email, password, Tenant, account.RoleAdmin); err != nil {
		return false, fmt.Errorf("create user %s: %w", Email, err)
	}
	fmt.Fprintf(out, "created user %s (admin of %s), password: %s (shown once: store it now)\n", Email, Tenant, password)
	return true, nil
}

// dashboard makes "Hosts overview" unless it exists, and adds the widgets
// it lacks (a run cut short between the dashboard and its widgets is
// completed).
func (s *Service) dashboard(ctx context.Context, tenantID int64, out io.Writer) (bool, error) {
	d, found, err := s.p.Dashboards.FindByName(ctx, tenantID, Dashboard)
	if err != nil {
		return false, fmt.Errorf("look up dashboard %q: %w", Dashboard, err)
	}
	if !found {
		if d, err = s.p.Dashboards.Create(ctx, tenantID, Dashboard); err != nil {
			return false, fmt.Errorf("create dashboard %q: %w", Dashboard, err)
		}
	}
	have := map[string]bool{}
	for _, w := range d.Widgets {
		have[w.Title] = true
	}
	added := 0
	for _, spec := range Widgets() {
		if have[spec.Title] {
			continue
		}
		if err := s.p.Dashboards.AddWidget(ctx, tenantID, d.ID, spec); err != nil {
			return false, fmt.Errorf("add widget %q: %w", spec.Title, err)
		}
		added++
	}
	switch {
	case !found:
		fmt.Fprintf(out, "created dashboard %q (id %d) with %d widgets\n", Dashboard, d.ID, added)
	case added > 0:
		fmt.Fprintf(out, "dashboard %q exists (id %d): added %d missing widgets\n", Dashboard, d.ID, added)
	default:
		fmt.Fprintf(out, "dashboard %q exists (id %d)\n", Dashboard, d.ID)
	}
	return !found || added > 0, nil
}

// rule makes "High CPU" unless it exists.
func (s *Service) rule(ctx context.Context, tenantID int64, out io.Writer) (bool, error) {
	id, found, err := s.p.Rules.FindByName(ctx, tenantID, RuleName)
	if err != nil {
		return false, fmt.Errorf("look up alert rule %q: %w", RuleName, err)
	}
	if found {
		fmt.Fprintf(out, "alert rule %q exists (id %d)\n", RuleName, id)
		return false, nil
	}
	r, err := s.p.Rules.Create(ctx, tenantID, Rule())
	if err != nil {
		return false, fmt.Errorf("create alert rule %q: %w", RuleName, err)
	}
	fmt.Fprintf(out, "created alert rule %q (id %d): %s avg over %s %s %g for %s, per host\n", RuleName, r.ID, r.Metric, r.Window, r.Op, r.Threshold, r.For)
	return true, nil
}

// backfill writes the week of samples (the range fixed in the state
// before it starts), then folds them into the rollups.
func (s *Service) backfill(ctx context.Context, st *Saved, out io.Writer, progress Progress) error {
	if st.Backfill == nil {
		to := s.o.Now().UTC().Truncate(Every)
		st.Backfill = &BackfillRange{From: to.Add(-Days * 24 * time.Hour), To: to}
		if err := s.p.State.Save(ctx, *st); err != nil {
			return err
		}
	}
	bf := st.Backfill
	var plans []synth.Plan
	var total int64
	series := 0
	for _, spec := range Specs(bf.From, bf.To) {
		p, err := synth.NewPlan(spec)
		if err != nil {
			return fmt.Errorf("demo spec %s: %w", spec.Name, err)
		}
		plans, total, series = append(plans, p), total+p.Samples(), series+len(p.Series)
	}
	var base int64
	for _, p := range plans {
		n, err := s.p.Backfill.Write(ctx, Tenant, p, func(done int64) {
			if progress != nil {
				progress(base+done, total)
			}
		})
		if err != nil {
			return fmt.Errorf("backfill %s: %w (run pulse demo again to finish it)", p.Spec.Name, err)
		}
		base += n
	}
	bf.Done, bf.Samples, bf.Series = true, base, series
	if err := s.p.State.Save(ctx, *st); err != nil {
		return err
	}
	fmt.Fprintf(out, "backfilled %d samples in %d series (%s → %s, one every %s)\n", base, series,
		bf.From.Format(time.RFC3339), bf.To.Format(time.RFC3339), Every)
	line, err := s.p.Rollup.RunOnce(ctx)
	if err != nil {
		// The scheduler of pulse serve folds them later; the charts read raw meanwhile.
		fmt.Fprintf(out, "rollup: %v (pulse serve's scheduler does it within %s)\n", err, s.o.RollupEvery)
		return nil
	}
	fmt.Fprintln(out, line)
	return nil
}
