package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pulsemetrics/pulse/domain/synth"
)

// WriteLocalFunc writes a plan into the configured store for the tenant
// with the slug, through the ingest use case, and returns once all of it
// is stored (wiring.WriteSynthetic). progress is told the samples accepted
// so far.
type WriteLocalFunc func(ctx context.Context, tenantSlug string, plan synth.Plan, batch, concurrency int, progress func(done int64)) (int64, error)

// generateFlags are the flags of `pulse generate`.
type generateFlags struct {
	name, pattern            string
	amplitude, offset, noise float64
	period, every            time.Duration
	tags                     []string
	duration, backfill       time.Duration
	from, to                 string
	seed                     uint64
	batch, concurrency       int
	url, token, tenant       string
}

// Bounds of --batch and --concurrency.
const (
	maxBatch       = 100_000
	maxConcurrency = 64
)

func generateCmd(deps Deps) *cobra.Command {
	var f generateFlags
	cmd := &cobra.Command{
		Use:   "generate --name NAME (--duration D | --backfill D | --from T --to T) (--url URL --token TOKEN | --tenant SLUG)",
		Short: "Generate synthetic samples: POST them to a running Pulse, or write them into the local store",
		Long: `Generate synthetic samples of one metric over tag-templated series at a fixed interval
(deterministic: the same flags make the same samples).

The range is one of:
  --duration D         the last D: [now-D, now)
  --backfill D         the same range, meant as history (days or weeks, for rollups and long charts)
  --from T --to T      [T1, T2), RFC 3339

Target:
  --url URL --token T  POST /api/metrics of a running Pulse (X-API-Token, a JSON array per request);
                       429 and 503 are retried after their Retry-After, never dropped
  --tenant SLUG        without --url: the configured store (PULSE_DATA_DIR, PULSE_DATABASE_URL…, as every
                       command), through the ingest use case; the queue is drained into storage before it
                       returns, so the samples are queryable even when no pulse serve runs

Series: --tag k=template is repeatable; a template may hold {a..b} and {x,y}
alternatives ('host=web-{1..3}', 'dc={eu,us}': quote them, or the shell expands the
braces); the series are the product.
Patterns: ` + patternList() + `.`,
		Example: `  pulse generate --url http://localhost:8080 --token "$TOKEN" --name cpu.load --tag 'host=web-{1..5}' --duration 1h
  pulse generate --tenant acme --name temp --pattern random-walk --offset 20 --amplitude 2 --backfill 720h --every 1m`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			if strings.Contains(args[0], "=") {
				return fmt.Errorf("unexpected argument %q: quote tag templates, or the shell expands their braces: --tag 'host=web-{1..3}'", args[0])
			}
			return fmt.Errorf("unexpected argument %q: pulse generate takes flags only", args[0])
		},
		RunE: func(c *cobra.Command, _ []string) error {
			plan, err := f.plan(c, time.Now())
			if err != nil {
				return err
			}
			if err := f.checkTarget(deps); err != nil {
				return err
			}
			return runGenerate(c.Context(), deps, f, plan, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "metric name (required)")
	fl.StringVar(&f.pattern, "pattern", string(synth.Sine), "shape: "+patternList())
	fl.Float64Var(&f.amplitude, "amplitude", 1, "height of the pattern (sine: half the swing; counter: about the increase per sample)")
	fl.Float64Var(&f.offset, "offset", 0, "value the pattern moves around")
	fl.Float64Var(&f.noise, "noise", 0, "uniform noise of ±noise added to every value")
	f.period = time.Hour
	fl.Var(daysDuration{&f.period}, "period", "period of sine, step, spike, sawtooth and counter resets")
	fl.StringArrayVar(&f.tags, "tag", nil, "tag template k=v, repeatable: host=web-{1..3}, dc={eu,us}")
	f.every = 10 * time.Second
	fl.Var(daysDuration{&f.every}, "every", "interval between two samples of a series")
	fl.Var(daysDuration{&f.duration}, "duration", "generate the last D: [now-D, now), e.g. 1h (also 7d, 2w)")
	fl.Var(daysDuration{&f.backfill}, "backfill", "the same as --duration, for history (rollups, long ranges): e.g. 7d or 168h")
	fl.StringVar(&f.from, "from", "", "start of the range, RFC 3339 (with --to)")
	fl.StringVar(&f.to, "to", "", "end of the range, RFC 3339, excluded (with --from)")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the noise and of the series' phase shifts")
	fl.IntVar(&f.batch, "batch", 5000, "samples per request (per delivery to the queue without --url)")
	fl.IntVar(&f.concurrency, "concurrency", 4, "requests in flight")
	fl.StringVar(&f.url, "url", "", "base URL of a running Pulse, e.g. http://localhost:8080 (needs --token)")
	fl.StringVar(&f.token, "token", "", "API token with the ingest scope (with --url)")
	fl.StringVar(&f.tenant, "tenant", "", "slug of the tenant to write to in the local store (without --url)")
	return cmd
}

func patternList() string {
	s := make([]string, len(synth.Patterns))
	for i, p := range synth.Patterns {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

// plan checks the flags and makes the plan; every error names its flag.
func (f *generateFlags) plan(c *cobra.Command, now time.Time) (synth.Plan, error) {
	changed := c.Flags().Changed
	if strings.TrimSpace(f.name) == "" {
		return synth.Plan{}, errors.New("--name is required: the metric name, e.g. --name cpu.load")
	}
	if f.batch < 1 || f.batch > maxBatch {
		return synth.Plan{}, fmt.Errorf("--batch %d: want 1 to %d samples per request", f.batch, maxBatch)
	}
	if f.concurrency < 1 || f.concurrency > maxConcurrency {
		return synth.Plan{}, fmt.Errorf("--concurrency %d: want 1 to %d", f.concurrency, maxConcurrency)
	}
	var forms []string
	for _, fl := range []string{"duration", "backfill", "from", "to"} {
		if changed(fl) {
			forms = append(forms, "--"+fl)
		}
	}
	var start, end time.Time
	switch {
	case len(forms) == 0:
		return synth.Plan{}, errors.New("give the range: --duration D, --backfill D, or --from T --to T")
	case changed("duration") || changed("backfill"):
		if len(forms) > 1 {
			return synth.Plan{}, fmt.Errorf("%s: give only one of --duration, --backfill, or --from with --to", strings.Join(forms, " and "))
		}
		flag, d := "--duration", f.duration
		if changed("backfill") {
			flag, d = "--backfill", f.backfill
		}
		if d <= 0 {
			return synth.Plan{}, fmt.Errorf("%s %s: want a positive duration, e.g. 1h or 168h", flag, d)
		}
		end = now.Truncate(time.Millisecond)
		start = end.Add(-d)
	default:
		if !changed("from") || !changed("to") {
			return synth.Plan{}, errors.New("--from and --to go together: give both (RFC 3339, e.g. 2026-11-25T00:00:00Z)")
		}
		var err error
		if start, err = time.Parse(time.RFC3339Nano, f.from); err != nil {
			return synth.Plan{}, fmt.Errorf("--from %q: want an RFC 3339 time, e.g. 2026-11-25T00:00:00Z", f.from)
		}
		if end, err = time.Parse(time.RFC3339Nano, f.to); err != nil {
			return synth.Plan{}, fmt.Errorf("--to %q: want an RFC 3339 time, e.g. 2026-11-26T00:00:00Z", f.to)
		}
		if !end.After(start) {
			return synth.Plan{}, fmt.Errorf("--to %s is not after --from %s", f.to, f.from)
		}
	}
	plan, err := synth.NewPlan(synth.Spec{
		Name: f.name, Pattern: synth.Pattern(f.pattern), Amplitude: f.amplitude, Offset: f.offset, Noise: f.noise,
		Period: f.period, Tags: f.tags, Every: f.every, Start: start, End: end, Seed: f.seed,
	})
	if err != nil {
		var ie *synth.InvalidSpecError
		if errors.As(err, &ie) {
			probs := make([]string, len(ie.Problems))
			for i, p := range ie.Problems {
				probs[i] = flagProblem(p)
			}
			return synth.Plan{}, fmt.Errorf("invalid flags: %s", strings.Join(probs, "; "))
		}
		return synth.Plan{}, err
	}
	return plan, nil
}

// flagProblem names the flag a problem of synth.NewPlan is about.
func flagProblem(p string) string {
	for _, name := range []string{"pattern", "amplitude", "offset", "noise", "period", "every"} {
		if strings.HasPrefix(p, name+" ") {
			return "--" + p
		}
	}
	switch {
	case strings.HasPrefix(p, "tag template"):
		return "--tag: " + p
	case strings.HasPrefix(p, "series "):
		if _, rest, ok := strings.Cut(p, ": "); ok {
			if strings.HasPrefix(rest, "name") {
				return "--name: " + strings.TrimPrefix(strings.TrimPrefix(rest, "name"), ": ")
			}
			return "--tag: " + rest
		}
	case strings.HasPrefix(p, "the range"):
		return "range: " + p
	}
	return p
}

// checkTarget checks that exactly one target is named.
func (f *generateFlags) checkTarget(deps Deps) error {
	switch {
	case f.url != "" && f.tenant != "":
		return errors.New("--tenant is for the local store; with --url the token names the tenant: drop --tenant")
	case f.url != "" && f.token == "":
		return errors.New("--url needs --token: an API token with the ingest scope")
	case f.url != "":
		if !strings.HasPrefix(f.url, "http://") && !strings.HasPrefix(f.url, "https://") {
			return fmt.Errorf("--url %q: want http://host:port or https://host", f.url)
		}
	case f.token != "":
		return errors.New("--token goes with --url; to write into the local store give --tenant SLUG instead")
	case f.tenant == "":
		return errors.New("give a target: --url URL --token TOKEN (a running Pulse) or --tenant SLUG (the local store)")
	case deps.WriteLocal == nil:
		return errors.New("this binary cannot write into the local store: use --url and --token")
	}
	return nil
}

func runGenerate(ctx context.Context, deps Deps, f generateFlags, plan synth.Plan, out, errOut io.Writer) error {
	total := plan.Samples()
	prog := newProgress(errOut, total, "generate")
	began := time.Now()
	var (
		n   int64
		err error
	)
	if f.url != "" {
		s := &httpSink{
			url: strings.TrimRight(f.url, "/") + "/api/metrics", token: f.token, batch: f.batch, concurrency: f.concurrency,
			client: &http.Client{Transport: newTransport(f.concurrency)}, warn: prog.Warn,
		}
		n, err = s.send(ctx, plan, prog.Set)
	} else {
		n, err = deps.WriteLocal(ctx, f.tenant, plan, f.batch, f.concurrency, prog.Set)
	}
	prog.Finish()
	if err != nil {
		return fmt.Errorf("generate: %w (%d of %d samples written)", err, n, total)
	}
	took := time.Since(began)
	fmt.Fprintf(out, "generated %d samples in %d series (%s → %s) at %.0f samples/s in %s\n", n, len(plan.Series),
		plan.Spec.Start.UTC().Format(time.RFC3339), plan.Spec.End.UTC().Format(time.RFC3339),
		float64(n)/max(took.Seconds(), 1e-9), took.Round(time.Millisecond))
	return nil
}

// demoCmd is `pulse demo`.
func demoCmd(deps Deps) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Set up a demo on the local store: tenant demo, a token, a user, a dashboard, an alert rule and a week of data",
		Long: `Set up a demo on the configured store (PULSE_DATA_DIR…): the tenant demo, an ingest+read token
(printed, and kept in <data-dir>/demo.json, mode 0600), the user admin@demo.local with a generated
password (printed once), the dashboard "Hosts overview", the alert rule "High CPU" and a week of
generated samples (one a minute) for the hosts web-1, web-2 and web-3.

It is idempotent: a second run leaves everything as it is and says "demo already set up: nothing
changed". It works with or without a pulse serve running on the same data dir.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if deps.Demo == nil {
				return errors.New("pulse demo is not available in this binary")
			}
			var prog *progress
			err := deps.Demo(c.Context(), c.OutOrStdout(), func(done, total int64) {
				if prog == nil {
					prog = newProgress(c.ErrOrStderr(), total, "demo backfill")
				}
				prog.Set(done)
			})
			if prog != nil {
				prog.Finish()
			}
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			return nil
		},
	}
}

// daysDuration is a duration flag that also takes days and weeks: 7d,
// 1w, 1d12h, beside Go's 168h, 90m, 10s.
type daysDuration struct{ d *time.Duration }

func (v daysDuration) String() string {
	if v.d == nil || *v.d == 0 {
		return "0" // pflag shows no default for it
	}
	return v.d.String()
}

func (v daysDuration) Type() string { return "duration" }

func (v daysDuration) Set(s string) error {
	d, err := parseDays(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

// parseDays reads an optional leading number of weeks (w) and days (d)
// and the rest as a Go duration.
func parseDays(s string) (time.Duration, error) {
	orig, total := s, time.Duration(0)
	for _, u := range []struct {
		suffix byte
		unit   time.Duration
	}{{'w', 7 * 24 * time.Hour}, {'d', 24 * time.Hour}} {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i > 0 && i < len(s) && s[i] == u.suffix {
			n, err := strconv.Atoi(s[:i])
			if err != nil || n > 100_000 {
				return 0, fmt.Errorf("invalid duration %q", orig)
			}
			total += time.Duration(n) * u.unit
			s = s[i+1:]
		}
	}
	if s == "" {
		if total == 0 && orig != "0d" && orig != "0w" {
			return 0, fmt.Errorf("invalid duration %q", orig)
		}
		return total, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want e.g. 10s, 90m, 168h, 7d or 1w", orig)
	}
	return total + d, nil
}
