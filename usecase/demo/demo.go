package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
)

// Ports are what the use case sets the demo up with.
type Ports struct {
	Tenants    Tenants
	Tokens     Tokens
	Users      Users
	Dashboards Dashboards
	Rules      Rules
	Backfill   Backfill
	Rollup     Rollup
	State      State
}

// Options are the use case's settings.
type Options struct {
	// HTTPAddr is pulse serve's listen address (for the closing line).
	HTTPAddr string
	// RollupEvery is pulse serve's rollup cadence (told when the one
	// rollup pass fails).
	RollupEvery time.Duration
	// Now is the clock (the backfill ends at Now, to the minute).
	Now func() time.Time
	// Password generates the demo user's password.
	Password func() string
}

// Progress is told the backfill's progress: samples stored of total.
type Progress func(done, total int64)

// Service is the demo use case.
type Service struct {
	p Ports
	o Options
}

// New is the use case on ports.
func New(p Ports, o Options) *Service {
	return &Service{p: p, o: o}
}

// Run sets the demo up; what it did goes to out, and a run that made
// nothing says "demo already set up: nothing changed".
func (s *Service) Run(ctx context.Context, out io.Writer, progress Progress) error {
	tenantID, changed, err := s.tenant(ctx, out)
	if err != nil {
		return err
	}
	st, err := s.p.State.Load(ctx)
	if err != nil {
		return err
	}
	if st.TenantID != tenantID { // another database, or the tenant was made again
		st = Saved{TenantID: tenantID}
	}
	made, err := s.token(ctx, &st, out)
	if err != nil {
		return err
	}
	changed = changed || made
	for _, step := range []func(context.Context, int64, io.Writer) (bool, error){s.user, s.dashboard, s.rule} {
		made, err := step(ctx, tenantID, out)
		if err != nil {
			return err
		}
		changed = changed || made
	}
	if bf := st.Backfill; bf != nil && bf.Done {
		fmt.Fprintf(out, "backfill done: %d samples in %d series (%s → %s)\n", bf.Samples, bf.Series,
			bf.From.Format(time.RFC3339), bf.To.Format(time.RFC3339))
	} else {
		if err := s.backfill(ctx, &st, out, progress); err != nil {
			return err
		}
		changed = true
	}
	if changed {
		fmt.Fprintf(out, "demo ready: with pulse serve running (make run), open http://localhost%s and log in as %s\n", displayAddr(s.o.HTTPAddr), Email)
	} else {
		fmt.Fprintln(out, "demo already set up: nothing changed")
	}
	return nil
}

func displayAddr(addr string) string {
	if len(addr) > 0 && addr[0] == ':' {
		return addr
	}
	return "/ (" + addr + ")"
}

// tenant finds or makes the tenant demo.
func (s *Service) tenant(ctx context.Context, out io.Writer) (int64, bool, error) {
	id, err := s.p.Tenants.TenantIDBySlug(ctx, Tenant)
	switch {
	case errors.Is(err, tenant.ErrDisabled):
		return 0, false, fmt.Errorf("tenant %s is disabled: enable it (pulse tenant update %s --enable) or remove it", Tenant, Tenant)
	case errors.Is(err, tenant.ErrNotFound):
		t, err := s.p.Tenants.CreateTenant(ctx, audit.CLI(), Tenant, TenantName, tenant.DefaultRetentionDays)
		if err != nil {
			return 0, false, fmt.Errorf("create tenant %s: %w", Tenant, err)
		}
		fmt.Fprintf(out, "created tenant %s (id %d, retention %d days)\n", t.Slug, t.ID, t.RetentionDays)
		return t.ID, true, nil
	case err != nil:
		return 0, false, fmt.Errorf("look up tenant %s: %w", Tenant, err)
	}
	fmt.Fprintf(out, "tenant %s exists (id %d)\n", Tenant, id)
	return id, false, nil
}

// token keeps the stored token while it is active, else issues one (and
// saves it, with the backfill to do again).
func (s *Service) token(ctx context.Context, st *Saved, out io.Writer) (bool, error) {
	where := s.p.State.Where()
	if ok, err := s.tokenActive(ctx, st.Token); err != nil {
		return false, err
	} else if ok {
		fmt.Fprintf(out, "token (ingest, read; kept in %s): %s\n", where, st.Token)
		return false, nil
	}
	issued, err := s.p.Tokens.CreateToken(ctx, audit.CLI(), Tenant, token.Spec{Name: TokenName, Scopes: []token.Scope{token.ScopeIngest, token.ScopeRead}})
	if err != nil {
		return false, fmt.Errorf("create the demo token: %w", err)
	}
	st.Token, st.Backfill = issued.Plain, nil
	if err := s.p.State.Save(ctx, *st); err != nil {
		return false, err
	}
	fmt.Fprintf(out, "created token pulse_%s (ingest, read; kept in %s, mode 0600): %s\n", issued.Token.ID, where, issued.Plain)
	return true, nil
}

// tokenPage is how many tokens tokenActive reads at a time.
const tokenPage = 500

// tokenActive tells whether the stored token is one of the tenant's and
// not revoked (read from the token list: authenticating would record a use).
func (s *Service) tokenActive(ctx context.Context, plain string) (bool, error) {
	if plain == "" {
		return false, nil
	}
	p, err := token.Parse(plain)
	if err != nil {
		return false, nil
	}
	after := ""
	for {
		page, err := s.p.Tokens.ListTokensOf(ctx, Tenant, after, tokenPage)
		if err != nil {
			return false, fmt.Errorf("list the demo tokens: %w", err)
		}
		for _, t := range page {
			if t.ID == p.ID {
				return t.RevokedAt == nil, nil
			}
			after = t.ID
		}
		if len(page) < tokenPage {
			return false, nil
		}
	}
}
