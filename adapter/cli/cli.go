// Package cli is the admin command line of the pulse binary: it turns
// commands into calls of the tenancy use case. Settings (flags shared with
// `serve`) are parsed by the caller; this package only sees what it needs.
package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
)

// Admin is the slice of the tenancy use case the CLI drives. Every change is
// audited by the implementation with the actor audit.CLI().
type Admin interface {
	CreateTenant(ctx context.Context, actor audit.Actor, slug, name string, retentionDays int) (tenant.Tenant, error)
	ListTenants(ctx context.Context) ([]tenant.Tenant, error)
	UpdateTenant(ctx context.Context, actor audit.Actor, slug string, retentionDays *int, disabled *bool) (tenant.Tenant, error)
	CreateToken(ctx context.Context, actor audit.Actor, tenantSlug string, spec token.Spec) (token.Issued, error)
	CreatePlatformToken(ctx context.Context, actor audit.Actor, name string) (token.Issued, error)
	RevokeToken(ctx context.Context, actor audit.Actor, id string) error
	// ListTokensOf lists at most limit tokens of the tenant with the slug
	// with an id above afterID, without their hashes.
	ListTokensOf(ctx context.Context, slug, afterID string, limit int) ([]token.Token, error)
}

// Deps are the actions behind the commands. OpenAdmin is called only by the
// commands that need the database, after flags are parsed.
type Deps struct {
	Serve     func(ctx context.Context) error
	Migrate   func(ctx context.Context) error
	OpenAdmin func(ctx context.Context) (Admin, func(), error)
	// SyncMQTT reconciles the external broker's accounts with the tokens
	// and writes what it changed.
	SyncMQTT func(ctx context.Context, out io.Writer) error
	// RunRollup and RunRetention run a scheduler job once and return its
	// one-line summary.
	RunRollup    func(ctx context.Context) (string, error)
	RunRetention func(ctx context.Context) (string, error)
	// EvalAlerts evaluates alert rules now: ruleID 0 runs one scheduler
	// round (the rules due), else that rule at at. It returns a summary.
	EvalAlerts func(ctx context.Context, ruleID int64, at time.Time) (string, error)
	// OpenUsers opens the accounts use case for `pulse user create`.
	OpenUsers func(ctx context.Context) (Users, func(), error)
	// WriteLocal is `pulse generate` without --url (nil: --url only).
	WriteLocal WriteLocalFunc
	// Demo sets up `pulse demo` on the configured store, writing what it
	// did to out and the backfill's progress to progress (nil: no demo).
	Demo func(ctx context.Context, out io.Writer, progress func(done, total int64)) error
	// MCP serves `pulse mcp` on stdin/stdout until the client leaves.
	MCP func(ctx context.Context) error
}

// NewRoot builds the command tree. settings are added as persistent flags.
func NewRoot(deps Deps, out io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "pulse",
		Short:         "Pulse: a multi-tenant metrics platform (all roles in one binary, plus admin commands)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.AddCommand(&cobra.Command{
		Use:   "serve",
		Short: "Run every role (API, worker, scheduler, ingestor) in one process",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return deps.Serve(c.Context()) },
	}, &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the database schema",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := deps.Migrate(c.Context()); err != nil {
				return err
			}
			fmt.Fprintln(c.OutOrStdout(), "schema is up to date")
			return nil
		},
	}, tenantCmd(deps), tokenCmd(deps), mqttCmd(deps), userCmd(deps))
	root.AddCommand(jobsCmds(deps)...)
	root.AddCommand(generateCmd(deps), demoCmd(deps))
	root.AddCommand(mcpCmds(deps)...)
	return root
}

func withAdmin(deps Deps, c *cobra.Command, fn func(Admin) error) error {
	a, done, err := deps.OpenAdmin(c.Context())
	if err != nil {
		return err
	}
	defer done()
	return fn(a)
}

func tenantCmd(deps Deps) *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Manage tenants"}
	var name string
	var days int
	create := &cobra.Command{
		Use:   "create <slug>",
		Short: "Create a tenant",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return withAdmin(deps, c, func(a Admin) error {
				t, err := a.CreateTenant(c.Context(), audit.CLI(), args[0], name, days)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "created tenant %s (id %d, name %q, retention %d days)\n", t.Slug, t.ID, t.Name, t.RetentionDays)
				return nil
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "display name (default: the slug)")
	create.Flags().IntVar(&days, "retention-days", tenant.DefaultRetentionDays, "raw data retention in days")
	list := &cobra.Command{
		Use:   "list",
		Short: "List tenants",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return withAdmin(deps, c, func(a Admin) error {
				ts, err := a.ListTenants(c.Context())
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tSLUG\tNAME\tRETENTION_DAYS\tSTATUS\tCREATED")
				for _, t := range ts {
					fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%s\n", t.ID, t.Slug, t.Name, t.RetentionDays, status(t), t.CreatedAt.Format(timeFormat))
				}
				return w.Flush()
			})
		},
	}
	cmd.AddCommand(create, list, tenantUpdateCmd(deps))
	return cmd
}

func status(t tenant.Tenant) string {
	if t.Disabled {
		return "disabled"
	}
	return "active"
}

func tenantUpdateCmd(deps Deps) *cobra.Command {
	var days int
	var disable, enable bool
	update := &cobra.Command{
		Use:   "update <slug>",
		Short: "Change a tenant's retention or disable/enable it (a disabled tenant's tokens are refused within 30 s)",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var retention *int
			var disabled *bool
			if c.Flags().Changed("retention-days") {
				retention = &days
			}
			if disable || enable {
				disabled = &disable
			}
			if retention == nil && disabled == nil {
				return fmt.Errorf("nothing to update: give --retention-days, --disable or --enable")
			}
			return withAdmin(deps, c, func(a Admin) error {
				t, err := a.UpdateTenant(c.Context(), audit.CLI(), args[0], retention, disabled)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "updated tenant %s (retention %d days, %s)\n", t.Slug, t.RetentionDays, status(t))
				return nil
			})
		},
	}
	update.Flags().IntVar(&days, "retention-days", 0, "raw data retention in days (1-3650)")
	update.Flags().BoolVar(&disable, "disable", false, "refuse the tenant's tokens on every endpoint (data is kept)")
	update.Flags().BoolVar(&enable, "enable", false, "accept the tenant's tokens again")
	update.MarkFlagsMutuallyExclusive("disable", "enable")
	return update
}

func tokenCmd(deps Deps) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens"}
	var name, scopes string
	var rate int64
	var platform bool
	create := &cobra.Command{
		Use:   "create <tenant-slug> | --admin",
		Short: "Create an API token; it is printed once, alone on the last line",
		Long: "Create an API token for a tenant, or with --admin a platform-admin token bound to no tenant\n" +
			"(scope admin; usable on /api/admin/* only). The token is printed once, alone on the last line.",
		Args: func(c *cobra.Command, args []string) error {
			if platform {
				if len(args) != 0 {
					return fmt.Errorf("--admin tokens belong to no tenant: give no tenant slug")
				}
				return nil
			}
			if len(args) != 1 {
				return fmt.Errorf("give the tenant slug (or --admin for a platform-admin token)")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if platform {
				if c.Flags().Changed("scopes") || c.Flags().Changed("rate-limit") {
					return fmt.Errorf("--admin tokens carry the admin scope only and ingest nothing: drop --scopes and --rate-limit")
				}
				return withAdmin(deps, c, func(a Admin) error {
					issued, err := a.CreatePlatformToken(c.Context(), audit.CLI(), name)
					if err != nil {
						return err
					}
					printIssued(c.OutOrStdout(), issued, "platform-admin token pulse_"+issued.Token.ID+" (no tenant)")
					return nil
				})
			}
			sc, err := token.ParseScopes(scopes)
			if err != nil {
				return fmt.Errorf("--scopes: %w", err)
			}
			if rate < 0 {
				return fmt.Errorf("--rate-limit: must be 0 (server default) or a positive number of samples per minute")
			}
			return withAdmin(deps, c, func(a Admin) error {
				issued, err := a.CreateToken(c.Context(), audit.CLI(), args[0], token.Spec{Name: name, Scopes: sc, RateLimit: rate})
				if err != nil {
					return err
				}
				what := fmt.Sprintf("token pulse_%s for tenant %s with scopes %s", issued.Token.ID, args[0], joinScopes(sc))
				if rate > 0 {
					what += fmt.Sprintf(" and a quota of %d samples/min", rate)
				}
				printIssued(c.OutOrStdout(), issued, what)
				return nil
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "a label for the token")
	create.Flags().StringVar(&scopes, "scopes", "ingest,read", "comma-separated scopes: ingest, read, admin")
	create.Flags().Int64Var(&rate, "rate-limit", 0, "the token's quota in samples per minute (0 = server default)")
	create.Flags().BoolVar(&platform, "admin", false, "create a platform-admin token (no tenant argument)")
	revoke := &cobra.Command{
		Use:   "revoke <id>",
		Short: "Revoke a token by its public id (pulse_<id> or <id>)",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return withAdmin(deps, c, func(a Admin) error {
				if err := a.RevokeToken(c.Context(), audit.CLI(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "revoked token %s\n", args[0])
				return nil
			})
		},
	}
	list := &cobra.Command{
		Use:   "list <tenant-slug>",
		Short: "List a tenant's tokens (ids, names, scopes, quotas, last use; never a secret)",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return withAdmin(deps, c, func(a Admin) error {
				w := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tNAME\tSCOPES\tRATE_LIMIT\tCREATED\tLAST_USED\tSTATUS")
				after := ""
				for {
					page, err := a.ListTokensOf(c.Context(), args[0], after, tokenPage)
					if err != nil {
						return err
					}
					for _, t := range page {
						fmt.Fprintf(w, "pulse_%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, orDash(t.Name), joinScopes(t.Scopes),
							rateLimit(t.RateLimit), t.CreatedAt.Format(timeFormat), timeOrDash(t.LastUsedAt), tokenStatus(t))
						after = t.ID
					}
					if len(page) < tokenPage {
						return w.Flush()
					}
				}
			})
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// tokenPage is how many tokens one list call reads.
const tokenPage = 500

const timeFormat = "2006-01-02T15:04:05Z"

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(timeFormat)
}

func rateLimit(n int64) string {
	if n == 0 {
		return "default"
	}
	return fmt.Sprintf("%d/min", n)
}

func tokenStatus(t token.Token) string {
	if t.RevokedAt != nil {
		return "revoked " + t.RevokedAt.UTC().Format(timeFormat)
	}
	return "active"
}

// printIssued prints what was created, then the token alone on the last line.
func printIssued(out io.Writer, issued token.Issued, what string) {
	fmt.Fprintf(out, "created %s\n", what)
	fmt.Fprintln(out, "store it now: it is not shown again")
	fmt.Fprintln(out, issued.Plain)
}

func joinScopes(sc []token.Scope) string {
	s := make([]string, len(sc))
	for i, v := range sc {
		s[i] = string(v)
	}
	return strings.Join(s, ",")
}

func mqttCmd(deps Deps) *cobra.Command {
	cmd := &cobra.Command{Use: "mqtt", Short: "Manage the external MQTT broker's accounts"}
	cmd.AddCommand(&cobra.Command{
		Use:   "sync",
		Short: "Make Mosquitto's accounts match the active ingest tokens (deletes revoked/unknown ones, repairs roles)",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return deps.SyncMQTT(c.Context(), c.OutOrStdout()) },
	})
	return cmd
}
