package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/pulsemetrics/pulse/domain/account"
	"github.com/pulsemetrics/pulse/domain/audit"
	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/usecase/accounts"
)

// Users is the slice of the accounts use case the CLI drives; creations
// are audited by the implementation with the actor given.
type Users interface {
	CreateUser(ctx context.Context, actor audit.Actor, spec accounts.NewUserSpec) (account.User, error)
}

// PasswordEnv holds the password of `pulse user create` when --password is
// not given, which keeps it out of the shell history and process list.
const PasswordEnv = "PULSE_USER_PASSWORD"

func userCmd(deps Deps) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage dashboard users"}
	var spec accounts.NewUserSpec
	create := &cobra.Command{
		Use:   "create --email E [--password P] [--tenant T] [--role admin|viewer] [--super-admin]",
		Short: "Create a dashboard user and print their id (password from --password or " + PasswordEnv + ")",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s := spec
			if !c.Flags().Changed("password") {
				s.Password = os.Getenv(PasswordEnv)
			}
			if s.Password == "" {
				return fmt.Errorf("a password is required: pass --password or set %s", PasswordEnv)
			}
			if s.TenantSlug == "" && !s.SuperAdmin {
				return errors.New("--tenant is required unless --super-admin is given")
			}
			if deps.OpenUsers == nil {
				return errors.New("user management is not available in this binary")
			}
			users, done, err := deps.OpenUsers(c.Context())
			if err != nil {
				return err
			}
			defer done()
			u, err := users.CreateUser(c.Context(), audit.CLI(), s)
			if err != nil {
				return userError(s, err)
			}
			fmt.Fprintln(c.OutOrStdout(), u.ID)
			return nil
		},
	}
	f := create.Flags()
	f.StringVar(&spec.Email, "email", "", "the user's email (their login)")
	f.StringVar(&spec.Password, "password", "", "the password (at least 10 characters; prefer "+PasswordEnv+")")
	f.StringVar(&spec.TenantSlug, "tenant", "", "slug of the tenant the user belongs to")
	f.StringVar(&spec.Role, "role", "admin", "admin (changes dashboards) or viewer (read only)")
	f.BoolVar(&spec.SuperAdmin, "super-admin", false, "may manage tenants; may belong to no tenant")
	_ = create.MarkFlagRequired("email")
	cmd.AddCommand(create)
	return cmd
}

// userError turns a refusal into one clear line.
func userError(s accounts.NewUserSpec, err error) error {
	var ie *account.InvalidError
	switch {
	case errors.As(err, &ie):
		return fmt.Errorf("invalid %s: %s", ie.Field, ie.Message)
	case errors.Is(err, account.ErrDuplicate):
		return fmt.Errorf("a user with the email %s already exists", s.Email)
	case errors.Is(err, tenant.ErrNotFound):
		return fmt.Errorf("no tenant with the slug %q (see pulse tenant list)", s.TenantSlug)
	}
	return err
}
