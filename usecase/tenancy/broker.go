package tenancy

import (
	"context"
	"fmt"

	"github.com/pulsemetrics/pulse/domain/token"
)

// BrokerAccounts keeps an external MQTT broker's accounts in step with the
// tokens (Mosquitto's dynamic security: a client per token, a role per
// tenant). The embedded broker checks tokens itself and needs none.
type BrokerAccounts interface {
	// ProvisionTokenScopes creates the token's client with the rights its
	// scopes give: publish for ingest, subscribe for read.
	ProvisionTokenScopes(ctx context.Context, tokenID, tenantSlug, plainToken string, scopes []token.Scope) error
	RevokeToken(ctx context.Context, tokenID string) error
	SetTenantEnabled(ctx context.Context, tenantSlug string, enabled bool) error
}

// WithBrokerAccounts makes token creation, revocation and tenant
// enabling/disabling also change the external broker's accounts.
func (s *Service) WithBrokerAccounts(b BrokerAccounts) *Service {
	s.broker = b
	return s
}

// provision gives a new ingest or read token of a tenant its broker
// account. It fails closed: the caller revokes the token if the broker
// refused.
func (s *Service) provision(ctx context.Context, issued token.Issued) error {
	tk := issued.Token
	if s.broker == nil || tk.TenantID == 0 || !(tk.Has(token.ScopeIngest) || tk.Has(token.ScopeRead)) {
		return nil
	}
	t, err := s.tenant(ctx, issued.Token.TenantID)
	if err != nil {
		return err
	}
	if err := s.broker.ProvisionTokenScopes(ctx, tk.ID, t.Slug, issued.Plain, tk.Scopes); err != nil {
		return fmt.Errorf("provision MQTT account for token %s: %w", issued.Token.ID, err)
	}
	return nil
}

// unprovision removes a revoked token's broker account.
func (s *Service) unprovision(ctx context.Context, tokenID string) error {
	if s.broker == nil {
		return nil
	}
	if err := s.broker.RevokeToken(ctx, tokenID); err != nil {
		return fmt.Errorf("token %s is revoked in Pulse but its MQTT account could not be removed (run `pulse mqtt sync`): %w", tokenID, err)
	}
	return nil
}

// setBrokerTenant disables or enables a tenant's broker accounts.
func (s *Service) setBrokerTenant(ctx context.Context, slug string, enabled bool) error {
	if s.broker == nil {
		return nil
	}
	if err := s.broker.SetTenantEnabled(ctx, slug, enabled); err != nil {
		return fmt.Errorf("tenant %s changed in Pulse but not on the MQTT broker (run `pulse mqtt sync`): %w", slug, err)
	}
	return nil
}
