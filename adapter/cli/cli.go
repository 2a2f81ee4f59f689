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

	"github.com/spf13/cobra"

	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
)

// Admin is the slice of the tenancy use case the CLI drives.
type Admin interface {
	CreateTenant(ctx context.Context, slug, name string, retentionDays int) (tenant.Tenant, error)
	ListTenants(ctx context.Context) ([]tenant.Tenant, error)
	CreateToken(ctx context.Context, tenantSlug, name string, scopes []token.Scope) (token.Issued, error)
	RevokeToken(ctx context.Context, id string) error
}

// Deps are the actions behind the commands. OpenAdmin is called only by the
// commands that need the database, after flags are parsed.
type Deps struct {
	Serve     func(ctx context.Context) error
	Migrate   func(ctx context.Context) error
	OpenAdmin func(ctx context.Context) (Admin, func(), error)
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
	}, tenantCmd(deps), tokenCmd(deps))
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
				t, err := a.CreateTenant(c.Context(), args[0], name, days)
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
				fmt.Fprintln(w, "ID\tSLUG\tNAME\tRETENTION_DAYS\tCREATED")
				for _, t := range ts {
					fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\n", t.ID, t.Slug, t.Name, t.RetentionDays, t.CreatedAt.Format("2006-01-02T15:04:05Z"))
				}
				return w.Flush()
			})
		},
	}
	cmd.AddCommand(create, list)
	return cmd
}

func tokenCmd(deps Deps) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens"}
	var name, scopes string
	create := &cobra.Command{
		Use:   "create <tenant-slug>",
		Short: "Create an API token; it is printed once, alone on the last line",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			sc, err := token.ParseScopes(scopes)
			if err != nil {
				return fmt.Errorf("--scopes: %w", err)
			}
			return withAdmin(deps, c, func(a Admin) error {
				issued, err := a.CreateToken(c.Context(), args[0], name, sc)
				if err != nil {
					return err
				}
				out := c.OutOrStdout()
				fmt.Fprintf(out, "created token pulse_%s for tenant %s with scopes %s\n", issued.Token.ID, args[0], joinScopes(sc))
				fmt.Fprintln(out, "store it now: it is not shown again")
				fmt.Fprintln(out, issued.Plain)
				return nil
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "a label for the token")
	create.Flags().StringVar(&scopes, "scopes", "ingest,read", "comma-separated scopes: ingest, read, admin")
	revoke := &cobra.Command{
		Use:   "revoke <id>",
		Short: "Revoke a token by its public id (pulse_<id> or <id>)",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return withAdmin(deps, c, func(a Admin) error {
				if err := a.RevokeToken(c.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "revoked token %s\n", args[0])
				return nil
			})
		},
	}
	cmd.AddCommand(create, revoke)
	return cmd
}

func joinScopes(sc []token.Scope) string {
	s := make([]string, len(sc))
	for i, v := range sc {
		s[i] = string(v)
	}
	return strings.Join(s, ",")
}
