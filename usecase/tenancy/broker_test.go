package tenancy_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"go.uber.org/mock/gomock"

	"github.com/pulsemetrics/pulse/domain/tenant"
	"github.com/pulsemetrics/pulse/domain/token"
)

func withBroker(t *testing.T) (*fixture, *MockBrokerAccounts) {
	f := newFixture(t)
	b := NewMockBrokerAccounts(gomock.NewController(t))
	f.svc.WithBrokerAccounts(b)
	return f, b
}

var acme = tenant.Tenant{ID: 9, Slug: "acme", Name: "Acme", RetentionDays: 30}

// An ingest or read token gets its broker account with the whole token as
// password and its scopes (publish for ingest, subscribe for read); a
// token with neither (admin) gets none.
func TestTokensAreProvisionedOnTheBrokerByScope(t *testing.T) {
	for _, scopes := range [][]token.Scope{
		{token.ScopeIngest}, {token.ScopeRead}, {token.ScopeIngest, token.ScopeRead}, {token.ScopeAdmin},
	} {
		t.Run(fmt.Sprint(scopes), func(t *testing.T) {
			f, b := withBroker(t)
			f.tenants.EXPECT().TenantBySlug(gomock.Any(), "acme").Return(acme, nil)
			f.tenants.EXPECT().TenantByID(gomock.Any(), int64(9)).Return(acme, nil).AnyTimes()
			f.tokens.EXPECT().CreateToken(gomock.Any(), gomock.Any()).Return(nil)
			f.audit.EXPECT().Record(gomock.Any(), gomock.Any()).Return(nil)
			wantAccount := slices.Contains(scopes, token.ScopeIngest) || slices.Contains(scopes, token.ScopeRead)
			var gotPlain string
			var gotScopes []token.Scope
			if wantAccount {
				b.EXPECT().ProvisionTokenScopes(gomock.Any(), gomock.Any(), "acme", gomock.Any(), gomock.Any()).
					DoAndReturn(func(_ any, id, _ string, plain string, sc []token.Scope) error {
						gotPlain, gotScopes = plain, sc
						return nil
					})
			}
			iss, err := f.svc.CreateToken(ctx, cli, "acme", token.Spec{Scopes: scopes})
			if err != nil {
				t.Fatal(err)
			}
			if wantAccount && (gotPlain != iss.Plain || !slices.Equal(gotScopes, scopes)) {
				t.Fatalf("broker got %q %v, issued %q %v", gotPlain, gotScopes, iss.Plain, scopes)
			}
		})
	}
}

// If the broker refuses, the token is revoked at once: no token exists that
// Pulse accepts and the broker does not (fail closed).
func TestProvisionFailureRevokesTheToken(t *testing.T) {
	f, b := withBroker(t)
	f.tenants.EXPECT().TenantBySlug(gomock.Any(), "acme").Return(acme, nil)
	f.tenants.EXPECT().TenantByID(gomock.Any(), int64(9)).Return(acme, nil).AnyTimes()
	f.tokens.EXPECT().CreateToken(gomock.Any(), gomock.Any()).Return(nil)
	f.audit.EXPECT().Record(gomock.Any(), gomock.Any()).Return(nil)
	boom := errors.New("broker down")
	b.EXPECT().ProvisionTokenScopes(gomock.Any(), gomock.Any(), "acme", gomock.Any(), gomock.Any()).Return(boom)
	f.tokens.EXPECT().RevokeToken(gomock.Any(), gomock.Any(), now).Return(nil)
	iss, err := f.svc.CreateToken(ctx, cli, "acme", token.Spec{Scopes: []token.Scope{token.ScopeIngest}})
	if !errors.Is(err, boom) || iss.Plain != "" {
		t.Fatalf("iss %q err %v", iss.Plain, err)
	}
}

// Revoking removes the broker account; a failure says how to reconcile.
func TestRevokeRemovesTheBrokerAccount(t *testing.T) {
	for _, fail := range []bool{false, true} {
		f, b := withBroker(t)
		f.tokens.EXPECT().TokenByID(gomock.Any(), "abcdefghij").Return(token.Token{ID: "abcdefghij", TenantID: 9}, nil)
		f.tokens.EXPECT().RevokeToken(gomock.Any(), "abcdefghij", now).Return(nil)
		f.audit.EXPECT().Record(gomock.Any(), gomock.Any()).Return(nil)
		var brokerErr error
		if fail {
			brokerErr = errors.New("broker down")
		}
		b.EXPECT().RevokeToken(gomock.Any(), "abcdefghij").Return(brokerErr)
		err := f.svc.RevokeToken(ctx, cli, "pulse_abcdefghij")
		if fail != (err != nil) || (fail && !strings.Contains(err.Error(), "pulse mqtt sync")) {
			t.Fatalf("fail=%v: err %v", fail, err)
		}
	}
}

// Disabling a tenant disables its broker accounts; enabling enables them.
func TestDisableTenantOnTheBroker(t *testing.T) {
	for _, disabled := range []bool{true, false} {
		f, b := withBroker(t)
		f.tenants.EXPECT().TenantBySlug(gomock.Any(), "acme").Return(acme, nil)
		f.tenants.EXPECT().UpdateTenant(gomock.Any(), gomock.Any()).Return(nil)
		f.audit.EXPECT().Record(gomock.Any(), gomock.Any()).Return(nil)
		b.EXPECT().SetTenantEnabled(gomock.Any(), "acme", !disabled).Return(nil)
		if _, err := f.svc.UpdateTenant(ctx, cli, "acme", nil, &disabled); err != nil {
			t.Fatal(err)
		}
	}
}
