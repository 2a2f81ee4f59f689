package mosquittodynsec

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/pulsemetrics/pulse/domain/token"
)

// TokenProvisioner is what the tenancy use case calls when a token is
// created or revoked, so the broker accepts exactly the active tokens.
// Implementations must be safe for concurrent use; both calls are
// idempotent. The caller passes the token's public id (with or without the
// "pulse_" prefix) and, at creation, the plain token, which is never stored.
type TokenProvisioner interface {
	ProvisionToken(ctx context.Context, tokenID, tenantSlug, plainToken string) error
	RevokeToken(ctx context.Context, tokenID string) error
}

var _ TokenProvisioner = (*Provisioner)(nil)

const (
	clientPrefix = "pulse_"
	rolePrefix   = "tenant-"
)

// Username is the broker username of a token: "pulse_<id>".
func Username(tokenID string) string { return clientPrefix + strings.TrimPrefix(tokenID, clientPrefix) }

// RoleName is the broker role of a tenant: "tenant-<slug>".
func RoleName(tenantSlug string) string { return rolePrefix + tenantSlug }

func checkID(tokenID string) (string, error) {
	id := strings.TrimPrefix(tokenID, clientPrefix)
	if !token.ValidID(id) {
		return "", fmt.Errorf("mosquittodynsec: invalid token id %q", tokenID)
	}
	return clientPrefix + id, nil
}

func checkSlug(slug string) error {
	if slug == "" || strings.ContainsAny(slug, "/+#$\x00") || len(slug) > 63 {
		return fmt.Errorf("mosquittodynsec: invalid tenant slug %q", slug)
	}
	return nil
}

// roleACLs confines a tenant to metrics/<slug>/#. The explicit "#" denials
// (lower priority) keep the guarantee even if the broker's default ACL
// access is relaxed. Subscriptions are checked on the filter itself (and on
// the filter under a $share prefix), so metrics/# or metrics/+/x is refused.
func roleACLs(slug string) []map[string]any {
	own := "metrics/" + slug + "/#"
	acl := func(typ, topic string, allow bool, prio int) map[string]any {
		return map[string]any{"acltype": typ, "topic": topic, "allow": allow, "priority": prio}
	}
	return []map[string]any{
		acl("publishClientSend", own, true, 10),
		acl("subscribePattern", own, true, 10),
		acl("publishClientReceive", own, true, 10),
		acl("publishClientSend", "#", false, 0),
		acl("subscribePattern", "#", false, 0),
		acl("publishClientReceive", "#", false, 0),
	}
}

// ProvisionToken makes the token a broker client: role tenant-<slug> (created
// or completed with its ACLs) and client pulse_<id> with the whole token as
// password and that role as its only one. Running it again succeeds and
// resets the password and role (mosquitto then disconnects the client's
// current session, which reconnects with the same credentials).
func (p *Provisioner) ProvisionToken(ctx context.Context, tokenID, tenantSlug, plainToken string) error {
	user, err := checkID(tokenID)
	if err != nil {
		return err
	}
	if err := checkSlug(tenantSlug); err != nil {
		return err
	}
	if plainToken == "" {
		return fmt.Errorf("mosquittodynsec: provision %s: empty token", user)
	}
	role := RoleName(tenantSlug)
	roles := []map[string]any{{"rolename": role, "priority": 0}}
	_, errs, err := p.exec(ctx,
		command{"command": "createRole", "rolename": role, "textname": "Pulse tenant " + tenantSlug, "acls": roleACLs(tenantSlug)},
		command{"command": "createClient", "username": user, "password": plainToken,
			"textname": "Pulse token " + user, "roles": roles},
	)
	if err != nil {
		return fmt.Errorf("provision %s: %w", user, err)
	}
	if errs[0] != nil {
		if !isCommandError(errs[0], msgRoleExists) {
			return fmt.Errorf("provision %s role %s: %w", user, role, errs[0])
		}
		if err := p.completeRole(ctx, tenantSlug); err != nil {
			return fmt.Errorf("provision %s: %w", user, err)
		}
	}
	if errs[1] != nil {
		if !isCommandError(errs[1], msgClientExists) {
			return fmt.Errorf("provision %s: %w", user, errs[1])
		}
		if _, err := p.one(ctx, command{"command": "modifyClient", "username": user,
			"password": plainToken, "roles": roles}); err != nil {
			return fmt.Errorf("provision %s (existing client): %w", user, err)
		}
	}
	return nil
}

// completeRole adds the tenant role's ACLs that an existing role lacks.
func (p *Provisioner) completeRole(ctx context.Context, slug string) error {
	role := RoleName(slug)
	acls := roleACLs(slug)
	cmds := make([]command, len(acls))
	for i, a := range acls {
		c := command{"command": "addRoleACL", "rolename": role}
		for k, v := range a {
			c[k] = v
		}
		cmds[i] = c
	}
	_, errs, err := p.exec(ctx, cmds...)
	if err != nil {
		return fmt.Errorf("role %s ACLs: %w", role, err)
	}
	for _, e := range errs {
		if e != nil && !isCommandError(e, msgACLExists) {
			return fmt.Errorf("role %s ACLs: %w", role, e)
		}
	}
	return nil
}

// RevokeToken deletes the token's broker client; the plugin disconnects its
// sessions at once. An unknown client is not an error.
func (p *Provisioner) RevokeToken(ctx context.Context, tokenID string) error {
	user, err := checkID(tokenID)
	if err != nil {
		return err
	}
	if _, err := p.one(ctx, command{"command": "deleteClient", "username": user}); err != nil && !isCommandError(err, msgClientMissing) {
		return fmt.Errorf("revoke %s: %w", user, err)
	}
	return nil
}

// Account is an active token as Pulse knows it. Plain is usually empty
// (Pulse keeps only hashes); when set, a missing broker client is created.
// Disabled is true when the token's tenant is disabled: its client is kept
// but refused (see SetTenantEnabled).
type Account struct {
	TokenID    string
	TenantSlug string
	Plain      string
	Disabled   bool
}

// SyncReport says what Sync changed, by broker username / role name.
type SyncReport struct {
	// DeletedClients are pulse_* clients that were not active tokens.
	DeletedClients []string
	// DeletedRoles are tenant-* roles no active token uses any more.
	DeletedRoles []string
	// RepairedClients had roles other than their tenant's, or an enabled
	// state other than their tenant's; both are now right.
	RepairedClients []string
	// CreatedClients were missing and had a plain token in want.
	CreatedClients []string
	// Missing are active tokens without a broker client and without a plain
	// token: they cannot connect over MQTT until re-issued.
	Missing []string
}

type brokerClient struct {
	Username string `json:"username"`
	Disabled bool   `json:"disabled"`
	Roles    []struct {
		Rolename string `json:"rolename"`
	} `json:"roles"`
}

// Sync reconciles the broker with the active tokens in want: it deletes
// pulse_* clients not in want, gives clients in want exactly their tenant's
// role, creates missing ones whose Plain is known (reports the others as
// Missing), ensures the tenant roles, and deletes tenant-* roles no wanted
// account uses. Other clients and roles are left alone.
//
// want must be read from Pulse after the last token creation that should
// survive: a token created between reading want and Sync is deleted from
// the broker (run it again after re-issuing, or from a quiet moment).
func (p *Provisioner) Sync(ctx context.Context, want []Account) (SyncReport, error) {
	var rep SyncReport
	type wanted struct {
		role, plain, slug, id string
		disabled              bool
	}
	byUser := make(map[string]wanted, len(want))
	wantRoles := map[string]string{} // role → slug
	for _, a := range want {
		user, err := checkID(a.TokenID)
		if err != nil {
			return rep, err
		}
		if err := checkSlug(a.TenantSlug); err != nil {
			return rep, err
		}
		byUser[user] = wanted{role: RoleName(a.TenantSlug), plain: a.Plain, slug: a.TenantSlug, id: a.TokenID, disabled: a.Disabled}
		wantRoles[RoleName(a.TenantSlug)] = a.TenantSlug
	}

	clients, err := p.listClients(ctx)
	if err != nil {
		return rep, fmt.Errorf("sync: %w", err)
	}
	roles, err := p.listRoles(ctx)
	if err != nil {
		return rep, err
	}
	haveRole := map[string]bool{}
	for _, r := range roles {
		haveRole[r] = true
	}
	for _, role := range sortedKeys(wantRoles) {
		if !haveRole[role] {
			if _, err := p.one(ctx, command{"command": "createRole", "rolename": role,
				"textname": "Pulse tenant " + wantRoles[role], "acls": roleACLs(wantRoles[role])}); err != nil && !isCommandError(err, msgRoleExists) {
				return rep, fmt.Errorf("sync role %s: %w", role, err)
			}
		} else if err := p.completeRole(ctx, wantRoles[role]); err != nil {
			return rep, fmt.Errorf("sync: %w", err)
		}
	}

	seen := map[string]bool{}
	for _, c := range clients {
		if !strings.HasPrefix(c.Username, clientPrefix) {
			continue
		}
		seen[c.Username] = true
		w, ok := byUser[c.Username]
		if !ok {
			if _, err := p.one(ctx, command{"command": "deleteClient", "username": c.Username}); err != nil && !isCommandError(err, msgClientMissing) {
				return rep, fmt.Errorf("sync delete %s: %w", c.Username, err)
			}
			rep.DeletedClients = append(rep.DeletedClients, c.Username)
			continue
		}
		repaired := false
		if len(c.Roles) != 1 || c.Roles[0].Rolename != w.role {
			if _, err := p.one(ctx, command{"command": "modifyClient", "username": c.Username,
				"roles": []map[string]any{{"rolename": w.role, "priority": 0}}}); err != nil {
				return rep, fmt.Errorf("sync repair %s: %w", c.Username, err)
			}
			repaired = true
		}
		if c.Disabled != w.disabled {
			if err := p.setEnabled(ctx, c.Username, !w.disabled); err != nil {
				return rep, fmt.Errorf("sync: %w", err)
			}
			repaired = true
		}
		if repaired {
			rep.RepairedClients = append(rep.RepairedClients, c.Username)
		}
	}
	for _, user := range sortedKeys(byUser) {
		if seen[user] {
			continue
		}
		w := byUser[user]
		if w.plain == "" {
			rep.Missing = append(rep.Missing, user)
			continue
		}
		if err := p.ProvisionToken(ctx, w.id, w.slug, w.plain); err != nil {
			return rep, fmt.Errorf("sync: %w", err)
		}
		if w.disabled {
			if err := p.setEnabled(ctx, user, false); err != nil {
				return rep, fmt.Errorf("sync: %w", err)
			}
		}
		rep.CreatedClients = append(rep.CreatedClients, user)
	}

	for _, r := range roles {
		if !strings.HasPrefix(r, rolePrefix) || wantRoles[r] != "" {
			continue
		}
		if _, err := p.one(ctx, command{"command": "deleteRole", "rolename": r}); err != nil && !isCommandError(err, msgRoleMissing) {
			return rep, fmt.Errorf("sync delete role %s: %w", r, err)
		}
		rep.DeletedRoles = append(rep.DeletedRoles, r)
	}
	return rep, nil
}

// SetTenantEnabled disables (enabled=false) or re-enables the broker
// clients of all the tenant's tokens, for when Pulse disables a tenant: a
// disabled client keeps its password but cannot connect, and disabling
// drops its current connections. Tokens provisioned later are enabled; Sync
// with Account.Disabled set corrects them.
func (p *Provisioner) SetTenantEnabled(ctx context.Context, tenantSlug string, enabled bool) error {
	if err := checkSlug(tenantSlug); err != nil {
		return err
	}
	clients, err := p.listClients(ctx)
	if err != nil {
		return fmt.Errorf("tenant %s: %w", tenantSlug, err)
	}
	role := RoleName(tenantSlug)
	for _, c := range clients {
		if !strings.HasPrefix(c.Username, clientPrefix) || c.Disabled == !enabled {
			continue
		}
		for _, r := range c.Roles {
			if r.Rolename == role {
				if err := p.setEnabled(ctx, c.Username, enabled); err != nil {
					return fmt.Errorf("tenant %s: %w", tenantSlug, err)
				}
				break
			}
		}
	}
	return nil
}

func (p *Provisioner) setEnabled(ctx context.Context, user string, enabled bool) error {
	cmd := "disableClient"
	if enabled {
		cmd = "enableClient"
	}
	if _, err := p.one(ctx, command{"command": cmd, "username": user}); err != nil {
		return fmt.Errorf("%s %s: %w", cmd, user, err)
	}
	return nil
}

func (p *Provisioner) listClients(ctx context.Context) ([]brokerClient, error) {
	r, err := p.one(ctx, command{"command": "listClients", "verbose": true, "count": -1, "offset": 0})
	if err != nil {
		return nil, err
	}
	var data struct {
		Clients []brokerClient `json:"clients"`
	}
	if err := json.Unmarshal(r.Data, &data); err != nil {
		return nil, fmt.Errorf("decode listClients: %w", err)
	}
	return data.Clients, nil
}

func (p *Provisioner) listRoles(ctx context.Context) ([]string, error) {
	r, err := p.one(ctx, command{"command": "listRoles", "verbose": false, "count": -1, "offset": 0})
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	var data struct {
		Roles []string `json:"roles"`
	}
	if err := json.Unmarshal(r.Data, &data); err != nil {
		return nil, fmt.Errorf("sync: decode listRoles: %w", err)
	}
	return data.Roles, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
