package wiring

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/wire"

	"github.com/pulsemetrics/pulse/adapter/store/users"
	"github.com/pulsemetrics/pulse/domain/account"
	"github.com/pulsemetrics/pulse/domain/alert"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/dashboard"
	"github.com/pulsemetrics/pulse/domain/synth"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
	"github.com/pulsemetrics/pulse/usecase/accounts"
	"github.com/pulsemetrics/pulse/usecase/alerting"
	"github.com/pulsemetrics/pulse/usecase/dashboards"
	"github.com/pulsemetrics/pulse/usecase/rollupjob"
)

// Demo is what `pulse demo` sets up the demo tenant with.
type Demo struct {
	Writer     SyntheticWriter
	Users      *users.Store
	Accounts   *accounts.Service
	Dashboards *dashboards.Service
	Alerts     *alerting.Service
	Rollup     *rollupjob.Service
}

// DemoSet builds a Demo (the CLI's injector).
var DemoSet = wire.NewSet(SyntheticSet, ProvideAccounts, ProvideDashboards, ProvideAlerting, ProvideRegistry, ProvideRollupJob,
	wire.Struct(new(Demo), "*"))

// The demo's fixed names.
const (
	DemoTenant    = "demo"
	DemoEmail     = "admin@demo.local"
	DemoDashboard = "Hosts overview"
	DemoRule      = "High CPU"
	// DemoStateFile, in the data dir (mode 0600), keeps the demo token and
	// the backfill's range, so that a second run makes nothing new.
	DemoStateFile = "demo.json"
	// DemoEvery and DemoDays are the backfill: a sample a minute per
	// series for a week (10,080 points per series).
	DemoEvery = time.Minute
	DemoDays  = 7
)

// demoState is DemoStateFile.
type demoState struct {
	TenantID int64  `json:"tenant_id"`
	Token    string `json:"token"`
	// Backfill is set before the backfill starts (so a rerun after an
	// interruption writes the very same samples, stored once) and Done
	// once all of it is stored.
	Backfill *demoBackfill `json:"backfill,omitempty"`
}

type demoBackfill struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Done    bool      `json:"done"`
	Samples int64     `json:"samples,omitempty"`
	Series  int       `json:"series,omitempty"`
}

// DemoSpecs are the demo's generated metrics over [from, to): three hosts
// (host=web-1…3) with the pulse-agent's metric names and tags, fixed seeds.
func DemoSpecs(from, to time.Time) []synth.Spec {
	day := 24 * time.Hour
	spec := func(name string, p synth.Pattern, offset, amplitude, noise float64, period time.Duration, seed uint64, tags ...string) synth.Spec {
		if len(tags) == 0 || !strings.HasPrefix(tags[0], "host=") {
			tags = append([]string{"host=web-{1..3}"}, tags...)
		}
		return synth.Spec{Name: name, Pattern: p, Offset: offset, Amplitude: amplitude, Noise: noise, Period: period,
			Tags: tags, Every: DemoEvery, Start: from, End: to, Seed: seed}
	}
	return []synth.Spec{
		// A daily cycle of load between about 10 % and 75 %; web-3 is
		// busier and goes over 90 % for a few hours a day (the alert rule).
		spec("system.cpu.utilization", synth.Sine, 0.4, 0.3, 0.05, day, 101, "host=web-{1..2}", "cpu=total"),
		spec("system.cpu.utilization", synth.Sine, 0.55, 0.38, 0.05, day, 106, "host=web-3", "cpu=total"),
		// Memory wanders around 60 %.
		spec("system.memory.utilization", synth.RandomWalk, 0.6, 0.05, 0.005, 0, 102),
		// Traffic in and out, bytes per second, with the daily cycle.
		spec("system.network.io.rate", synth.Sine, 2.5e6, 1.8e6, 3e5, day, 103, "device=eth0", "direction={receive,transmit}"),
		// The root file system fills up over two days, then is cleaned.
		spec("system.filesystem.utilization", synth.Sawtooth, 0.55, 0.2, 0.003, 2*day, 104, "device=sda1", "mountpoint=/"),
		// Load average follows the CPU's cycle.
		spec("system.cpu.load_average.1m", synth.Sine, 1.6, 1.1, 0.25, day, 105),
	}
}

// demoWidgets are the dashboard's panels (the widget model charts one
// metric with tag filters; a counter cannot be drawn as a rate, so the
// network panels chart the agent's own rate gauge).
var demoWidgets = []dashboard.WidgetSpec{
	{Title: "CPU utilisation per host", Metric: "system.cpu.utilization", Tags: map[string]string{"cpu": "total"}, Agg: "avg", Chart: "line"},
	{Title: "Memory utilisation", Metric: "system.memory.utilization", Agg: "avg", Chart: "area"},
	{Title: "Network received (bytes/s)", Metric: "system.network.io.rate", Tags: map[string]string{"direction": "receive"}, Agg: "avg", Chart: "line"},
	{Title: "Network transmitted (bytes/s)", Metric: "system.network.io.rate", Tags: map[string]string{"direction": "transmit"}, Agg: "avg", Chart: "line"},
	{Title: "Disk usage of /", Metric: "system.filesystem.utilization", Tags: map[string]string{"mountpoint": "/"}, Agg: "max", Chart: "line"},
	{Title: "Load average (1m)", Metric: "system.cpu.load_average.1m", Agg: "avg", Chart: "bar"},
}

func demoRule() alert.Rule {
	return alert.Rule{
		Name: DemoRule, Metric: "system.cpu.utilization",
		Matchers: alert.Matchers{{Tag: "cpu", Op: alert.MatchEqual, Value: "total"}},
		Agg:      alert.AggAvg, Window: 5 * time.Minute, Op: alert.GT, Threshold: 0.9,
		Cadence: time.Minute, For: 5 * time.Minute, NoData: alert.NoDataOK, GroupBy: []string{"host"},
		Severity:    alert.SeverityWarning,
		Annotations: map[string]string{"summary": "CPU of {{.Labels.host}} at {{.Value}} (over 90 % for 5 minutes)"},
	}
}

// DemoProgress is told the backfill's progress: samples stored of total.
type DemoProgress func(done, total int64)

// SetUpDemo makes the demo on the configured store, idempotently: the
// tenant demo, an ingest+read token (kept in DemoStateFile), the user
// admin@demo.local with a generated password (printed once), the dashboard
// "Hosts overview", the alert rule "High CPU" and a week of generated
// samples for three hosts through WriteSynthetic (then one rollup pass).
// Whatever exists is left as it is; what it did goes to out, and a run
// that made nothing says "demo already set up: nothing changed".
func SetUpDemo(ctx context.Context, d Demo, out io.Writer, progress DemoProgress) error {
	changed := false
	ten := d.Writer.Tenancy
	tenantID, err := ten.TenantIDBySlug(ctx, DemoTenant)
	switch {
	case errors.Is(err, tenant.ErrDisabled):
		return fmt.Errorf("tenant %s is disabled: enable it (pulse tenant update %s --enable) or remove it", DemoTenant, DemoTenant)
	case errors.Is(err, tenant.ErrNotFound):
		t, err := ten.CreateTenant(ctx, audit.CLI(), DemoTenant, "Demo", tenant.DefaultRetentionDays)
		if err != nil {
			return fmt.Errorf("create tenant %s: %w", DemoTenant, err)
		}
		tenantID, changed = t.ID, true
		fmt.Fprintf(out, "created tenant %s (id %d, retention %d days)\n", t.Slug, t.ID, t.RetentionDays)
	case err != nil:
		return err
	default:
		fmt.Fprintf(out, "tenant %s exists (id %d)\n", DemoTenant, tenantID)
	}

	statePath := filepath.Join(d.Writer.Config.DataDir, DemoStateFile)
	st, err := loadDemoState(statePath)
	if err != nil {
		return err
	}
	if st.TenantID != tenantID { // another database, or the tenant was made again
		st = demoState{TenantID: tenantID}
	}
	if ok, err := demoTokenActive(ctx, d, st.Token); err != nil {
		return err
	} else if ok {
		fmt.Fprintf(out, "token (ingest, read; kept in %s): %s\n", statePath, st.Token)
	} else {
		issued, err := ten.CreateToken(ctx, audit.CLI(), DemoTenant, token.Spec{Name: "demo", Scopes: []token.Scope{token.ScopeIngest, token.ScopeRead}})
		if err != nil {
			return fmt.Errorf("create the demo token: %w", err)
		}
		st.Token, st.Backfill, changed = issued.Plain, nil, true
		if err := saveDemoState(statePath, st); err != nil {
			return err
		}
		fmt.Fprintf(out, "created token pulse_%s (ingest, read; kept in %s, mode 0600): %s\n", issued.Token.ID, statePath, issued.Plain)
	}

	made, err := demoUser(ctx, d, out)
	if err != nil {
		return err
	}
	changed = changed || made
	actor := dashboards.Actor{TenantID: tenantID, Role: account.RoleAdmin}
	if made, err = demoDashboard(ctx, d.Dashboards, actor, out); err != nil {
		return err
	}
	changed = changed || made
	if made, err = demoAlertRule(ctx, d.Alerts, alerting.Actor{TenantID: tenantID, Admin: true}, out); err != nil {
		return err
	}
	changed = changed || made

	if st.Backfill != nil && st.Backfill.Done {
		fmt.Fprintf(out, "backfill done: %d samples in %d series (%s → %s)\n", st.Backfill.Samples, st.Backfill.Series,
			st.Backfill.From.Format(time.RFC3339), st.Backfill.To.Format(time.RFC3339))
	} else {
		if err := demoBackfillRun(ctx, d, &st, statePath, out, progress); err != nil {
			return err
		}
		changed = true
	}
	if changed {
		fmt.Fprintf(out, "demo ready: with pulse serve running (make run), open http://localhost%s and log in as %s\n", displayAddr(d.Writer.Config.HTTPAddr), DemoEmail)
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

func loadDemoState(path string) (demoState, error) {
	var st demoState
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return demoState{}, fmt.Errorf("read %s: %w (remove it to make a new demo token)", path, err)
	}
	return st, nil
}

// saveDemoState writes the state to a temp file and renames it, mode 0600.
func saveDemoState(path string, st demoState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil { // an older tmp keeps its mode through WriteFile
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// demoTokenActive tells whether the stored token is one of the tenant's
// and not revoked (read from the token list: authenticating would record
// a use).
func demoTokenActive(ctx context.Context, d Demo, plain string) (bool, error) {
	if plain == "" {
		return false, nil
	}
	p, err := token.Parse(plain)
	if err != nil {
		return false, nil
	}
	after := ""
	for {
		page, err := d.Writer.Tenancy.ListTokensOf(ctx, DemoTenant, after, 500)
		if err != nil {
			return false, fmt.Errorf("list the demo tokens: %w", err)
		}
		for _, t := range page {
			if t.ID == p.ID {
				return t.RevokedAt == nil, nil
			}
			after = t.ID
		}
		if len(page) < 500 {
			return false, nil
		}
	}
}

func demoUser(ctx context.Context, d Demo, out io.Writer) (bool, error) {
	_, err := d.Users.UserByEmail(ctx, DemoEmail)
	if err == nil {
		fmt.Fprintf(out, "user %s exists: its password is the one the first pulse demo printed (pulse demo never changes it; to start over, stop pulse and remove the data dir)\n", DemoEmail)
		return false, nil
	}
	if !errors.Is(err, account.ErrNotFound) {
		return false, fmt.Errorf("look up %s: %w", DemoEmail, err)
	}
	password := rand.Text() // 26 characters of base32: 130 bits
	if _, err := d.Accounts.CreateUser(ctx, audit.CLI(), accounts.NewUserSpec{Email: DemoEmail, Password: password, TenantSlug: DemoTenant, Role: string(account.RoleAdmin)}); err != nil {
		return false, fmt.Errorf("create user %s: %w", DemoEmail, err)
	}
	fmt.Fprintf(out, "created user %s (admin of %s), password: %s (shown once: store it now)\n", DemoEmail, DemoTenant, password)
	return true, nil
}

func demoDashboard(ctx context.Context, svc *dashboards.Service, a dashboards.Actor, out io.Writer) (bool, error) {
	var found *dashboard.Summary
	for page := 1; found == nil; page++ {
		p, err := svc.List(ctx, a, page)
		if err != nil {
			return false, fmt.Errorf("list dashboards: %w", err)
		}
		for i := range p.Items {
			if p.Items[i].Name == DemoDashboard {
				found = &p.Items[i]
				break
			}
		}
		if page >= p.LastPage {
			break
		}
	}
	var d dashboard.Dashboard
	var err error
	made := false
	if found == nil {
		if d, err = svc.Create(ctx, a, DemoDashboard); err != nil {
			return false, fmt.Errorf("create dashboard %q: %w", DemoDashboard, err)
		}
		made = true
	} else if d, err = svc.Get(ctx, a, found.ID); err != nil {
		return false, fmt.Errorf("read dashboard %q: %w", DemoDashboard, err)
	}
	have := map[string]bool{}
	for _, w := range d.Widgets {
		have[w.Title] = true
	}
	added := 0
	for _, spec := range demoWidgets { // a run cut short between the dashboard and its widgets is completed
		if have[spec.Title] {
			continue
		}
		if _, err := svc.AddWidget(ctx, a, d.ID, spec); err != nil {
			return false, fmt.Errorf("add widget %q: %w", spec.Title, err)
		}
		added++
	}
	switch {
	case made:
		fmt.Fprintf(out, "created dashboard %q (id %d) with %d widgets\n", DemoDashboard, d.ID, added)
	case added > 0:
		fmt.Fprintf(out, "dashboard %q exists (id %d): added %d missing widgets\n", DemoDashboard, d.ID, added)
	default:
		fmt.Fprintf(out, "dashboard %q exists (id %d)\n", DemoDashboard, d.ID)
	}
	return made || added > 0, nil
}

func demoAlertRule(ctx context.Context, svc *alerting.Service, a alerting.Actor, out io.Writer) (bool, error) {
	for page := 1; ; page++ {
		p, err := svc.List(ctx, a, page, alerting.MaxPerPage)
		if err != nil {
			return false, fmt.Errorf("list alert rules: %w", err)
		}
		for _, r := range p.Rules {
			if r.Name == DemoRule {
				fmt.Fprintf(out, "alert rule %q exists (id %d)\n", DemoRule, r.ID)
				return false, nil
			}
		}
		if page*p.PerPage >= p.Total || len(p.Rules) == 0 {
			break
		}
	}
	r, err := svc.Create(ctx, a, demoRule())
	if err != nil {
		return false, fmt.Errorf("create alert rule %q: %w", DemoRule, err)
	}
	fmt.Fprintf(out, "created alert rule %q (id %d): %s avg over %s %s %g for %s, per host\n", DemoRule, r.ID, r.Metric, r.Window, r.Op, r.Threshold, r.For)
	return true, nil
}

// demoBackfillRun writes the week of samples (the range fixed in the state
// before it starts), then folds them into the rollups.
func demoBackfillRun(ctx context.Context, d Demo, st *demoState, statePath string, out io.Writer, progress DemoProgress) error {
	if st.Backfill == nil {
		to := time.Now().UTC().Truncate(DemoEvery)
		st.Backfill = &demoBackfill{From: to.Add(-DemoDays * 24 * time.Hour), To: to}
		if err := saveDemoState(statePath, *st); err != nil {
			return err
		}
	}
	bf := st.Backfill
	var plans []synth.Plan
	var total int64
	series := 0
	for _, s := range DemoSpecs(bf.From, bf.To) {
		p, err := synth.NewPlan(s)
		if err != nil {
			return fmt.Errorf("demo spec %s: %w", s.Name, err)
		}
		plans, total, series = append(plans, p), total+p.Samples(), series+len(p.Series)
	}
	var base int64
	for _, p := range plans {
		n, err := WriteSynthetic(ctx, d.Writer, DemoTenant, p, SyntheticOptions{}, func(done int64) {
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
	if err := saveDemoState(statePath, *st); err != nil {
		return err
	}
	fmt.Fprintf(out, "backfilled %d samples in %d series (%s → %s, one every %s)\n", base, series,
		bf.From.Format(time.RFC3339), bf.To.Format(time.RFC3339), DemoEvery)
	line, err := RunRollupOnce(ctx, d.Rollup)
	if err != nil {
		// The scheduler of pulse serve folds them later; the charts read raw meanwhile.
		fmt.Fprintf(out, "rollup: %v (pulse serve's scheduler does it within %s)\n", err, d.Writer.Config.RollupEvery)
		return nil
	}
	fmt.Fprintln(out, line)
	return nil
}
