package dynsec

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pulsemetrics/pulse/domain/token"
)

// TokenProvisioner is what the tenancy use case calls when a token is
// created or revoked, so the broker accepts exactly the active tokens.
// Implementations must be safe for concurrent use; both calls are
// idempotent. The caller passes the token's public id (with or without the
// "pulse_" prefix) and, at creation, the plain token, which is never stored.
// ProvisionToken gives the client the rights of an ingest-only token
// (publish); ProvisionTokenScopes those of the token's scopes.
type TokenProvisioner interface {
	ProvisionToken(ctx context.Context, tokenID, tenantSlug, plainToken string) error
	ProvisionTokenScopes(ctx context.Context, tokenID, tenantSlug, plainToken string, scopes []token.Scope) error
	RevokeToken(ctx context.Context, tokenID string) error
}

var _ TokenProvisioner = (*Provisioner)(nil)

const (
	clientPrefix = "pulse_"
	rolePrefix   = "tenant-"
	// Suffixes of a tenant's roles for tokens that may read. ':' is not
	// allowed in a slug, so no tenant's role name is another's.
	readSuffix       = ":read"
	ingestReadSuffix = ":ingest-read"
)

// Username is the broker username of a token: "pulse_<id>".
func Username(tokenID string) string { return clientPrefix + strings.TrimPrefix(tokenID, clientPrefix) }

// RoleName is the broker role of a tenant's ingest-only tokens:
// "tenant-<slug>" (publish only).
func RoleName(tenantSlug string) string { return rolePrefix + tenantSlug }

// RoleFor is the broker role of a tenant's token with the scopes: with
// ingest only (or no scopes given) "tenant-<slug>", which may publish;
// with read only "tenant-<slug>:read", which may subscribe and receive;
// with both "tenant-<slug>:ingest-read". Each client has exactly one role.
// A token with neither scope gets no broker account ("").
func RoleFor(tenantSlug string, scopes []token.Scope) string {
	a, ok := accessOf(scopes)
	if !ok {
		return ""
	}
	return a.role(tenantSlug)
}

// access is what a token's broker client may do under its tenant's topics.
type access struct {
	publish   bool // ingest
	subscribe bool // read: subscribe and receive
}

// accessOf maps scopes to broker rights; no scopes means ingest only (the
// only kind of token provisioned before scopes were passed). ok is false
// when the scopes grant nothing over MQTT.
func accessOf(scopes []token.Scope) (access, bool) {
	if len(scopes) == 0 {
		return access{publish: true}, true
	}
	a := access{publish: slices.Contains(scopes, token.ScopeIngest), subscribe: slices.Contains(scopes, token.ScopeRead)}
	return a, a.publish || a.subscribe
}

func (a access) role(slug string) string {
	switch {
	case a.publish && a.subscribe:
		return rolePrefix + slug + ingestReadSuffix
	case a.subscribe:
		return rolePrefix + slug + readSuffix
	default:
		return rolePrefix + slug
	}
}

// tenantRoles are every role name a tenant's clients may have.
func tenantRoles(slug string) []string {
	return []string{rolePrefix + slug, rolePrefix + slug + readSuffix, rolePrefix + slug + ingestReadSuffix}
}

func checkID(tokenID string) (string, error) {
	id := strings.TrimPrefix(tokenID, clientPrefix)
	if !token.ValidID(id) {
		return "", fmt.Errorf("mosquittodynsec: invalid token id %q", tokenID)
	}
	return clientPrefix + id, nil
}

func checkSlug(slug string) error {
	if slug == "" || strings.ContainsAny(slug, "/+#$:\x00") || len(slug) > 63 {
		return fmt.Errorf("mosquittodynsec: invalid tenant slug %q", slug)
	}
	return nil
}

// roleACL is one ACL of a role, as the plugin reports and takes it.
type roleACL struct {
	Type     string `json:"acltype"`
	Topic    string `json:"topic"`
	Allow    bool   `json:"allow"`
	Priority int    `json:"priority"`
}

func (a roleACL) command(cmd, role string) command {
	c := command{"command": cmd, "rolename": role, "acltype": a.Type, "topic": a.Topic}
	if cmd == "addRoleACL" {
		c["allow"], c["priority"] = a.Allow, a.Priority
	}
	return c
}

// roleACLs confines a tenant's role to metrics/<slug>/#: publish there if
// the role is for ingest, subscribe to and receive from there if it is for
// read. The explicit "#" denials (lower priority) refuse everything else
// even if the broker's default ACL access is relaxed; in particular an
// ingest-only role may subscribe to and receive nothing. Subscriptions are
// checked on the filter itself (and on the filter under a $share prefix),
// so metrics/# or metrics/+/x is refused.
func roleACLs(slug string, a access) []roleACL {
	own := "metrics/" + slug + "/#"
	var acls []roleACL
	if a.publish {
		acls = append(acls, roleACL{"publishClientSend", own, true, 10})
	}
	if a.subscribe {
		acls = append(acls, roleACL{"subscribePattern", own, true, 10}, roleACL{"publishClientReceive", own, true, 10})
	}
	return append(acls,
		roleACL{"publishClientSend", "#", false, 0},
		roleACL{"subscribePattern", "#", false, 0},
		roleACL{"publishClientReceive", "#", false, 0},
	)
}

func aclMaps(acls []roleACL) []map[string]any {
	out := make([]map[string]any, len(acls))
	for i, a := range acls {
		out[i] = map[string]any{"acltype": a.Type, "topic": a.Topic, "allow": a.Allow, "priority": a.Priority}
	}
	return out
}

// ProvisionToken makes an ingest token a broker client that may publish
// under its tenant's topics, and nothing more: ProvisionTokenScopes with
// no scopes. A token that also carries read needs ProvisionTokenScopes to
// subscribe.
func (p *Provisioner) ProvisionToken(ctx context.Context, tokenID, tenantSlug, plainToken string) error {
	return p.ProvisionTokenScopes(ctx, tokenID, tenantSlug, plainToken, nil)
}

// ProvisionTokenScopes makes the token a broker client: its role (see
// RoleFor; created, or corrected to exactly its ACLs) and client pulse_<id>
// with the whole token as password and that role as its only one. Ingest
// lets it publish to metrics/<slug>/#, read lets it subscribe there; no
// scopes means ingest only, and a token with neither is refused. Running
// it again succeeds and resets the password and role (mosquitto then
// disconnects the client's current session, which reconnects with the same
// credentials).
func (p *Provisioner) ProvisionTokenScopes(ctx context.Context, tokenID, tenantSlug, plainToken string, scopes []token.Scope) error {
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
	a, ok := accessOf(scopes)
	if !ok {
		return fmt.Errorf("mosquittodynsec: provision %s: scopes %v grant nothing over MQTT (ingest or read needed)", user, scopes)
	}
	role := a.role(tenantSlug)
	roles := []map[string]any{{"rolename": role, "priority": 0}}
	_, errs, err := p.exec(ctx,
		command{"command": "createRole", "rolename": role, "textname": "Pulse tenant " + tenantSlug, "acls": aclMaps(roleACLs(tenantSlug, a))},
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
		if _, err := p.ensureRole(ctx, tenantSlug, a); err != nil {
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

// ensureRole gives an existing tenant role exactly its ACLs: it removes
// those it should not have (such as the subscribe and receive rights every
// tenant role had before read was required to subscribe) and adds the
// missing ones. It sends nothing when the role is right already, and
// reports whether it changed anything.
func (p *Provisioner) ensureRole(ctx context.Context, slug string, a access) (bool, error) {
	role := a.role(slug)
	r, err := p.one(ctx, command{"command": "getRole", "rolename": role})
	if err != nil {
		return false, fmt.Errorf("role %s: %w", role, err)
	}
	var data struct {
		Role struct {
			ACLs []roleACL `json:"acls"`
		} `json:"role"`
	}
	if err := json.Unmarshal(r.Data, &data); err != nil {
		return false, fmt.Errorf("role %s: decode getRole: %w", role, err)
	}
	type key struct{ typ, topic string }
	want := map[key]roleACL{}
	for _, acl := range roleACLs(slug, a) {
		want[key{acl.Type, acl.Topic}] = acl
	}
	var cmds []command
	have := map[key]bool{}
	for _, acl := range data.Role.ACLs {
		k := key{acl.Type, acl.Topic}
		if w, ok := want[k]; ok && w == acl && !have[k] {
			have[k] = true
			continue
		}
		cmds = append(cmds, acl.command("removeRoleACL", role))
	}
	for _, acl := range roleACLs(slug, a) { // in order, for stable commands
		if !have[key{acl.Type, acl.Topic}] {
			cmds = append(cmds, acl.command("addRoleACL", role))
		}
	}
	if len(cmds) == 0 {
		return false, nil
	}
	_, errs, err := p.exec(ctx, cmds...)
	if err != nil {
		return false, fmt.Errorf("role %s ACLs: %w", role, err)
	}
	for _, e := range errs {
		if e != nil && !isCommandError(e, msgACLExists) {
			return false, fmt.Errorf("role %s ACLs: %w", role, e)
		}
	}
	return true, nil
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
// but refused (see SetTenantEnabled). Scopes are the token's: ingest lets
// its client publish, read lets it subscribe (see RoleFor); none means
// ingest only.
type Account struct {
	TokenID    string
	TenantSlug string
	Plain      string
	Disabled   bool
	Scopes     []token.Scope
}

// SyncReport says what Sync changed, by broker username / role name.
type SyncReport struct {
	// DeletedClients are pulse_* clients that were not active tokens.
	DeletedClients []string
	// DeletedRoles are tenant-* roles no active token uses any more.
	DeletedRoles []string
	// RepairedRoles are tenant roles whose ACLs were not exactly theirs
	// (e.g. a tenant role from before subscribing required the read scope,
	// which let ingest-only tokens subscribe); they are now.
	RepairedRoles []string
	// RepairedClients had roles other than the one of their tenant and
	// scopes, or an enabled state other than their tenant's; both are now
	// right.
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
// pulse_* clients not in want, gives clients in want exactly the role of
// their tenant and scopes, creates missing ones whose Plain is known
// (reports the others as Missing), gives the roles in use exactly their
// ACLs, and deletes tenant-* roles no wanted account uses. Other clients
// and roles are left alone. An account whose scopes grant nothing over
// MQTT is an error.
//
// want must be read from Pulse after the last token creation that should
// survive: a token created between reading want and Sync is deleted from
// the broker (run it again after re-issuing, or from a quiet moment).
func (p *Provisioner) Sync(ctx context.Context, want []Account) (SyncReport, error) {
	var rep SyncReport
	type wanted struct {
		role, plain, slug, id string
		scopes                []token.Scope
		disabled              bool
	}
	type roleSpec struct {
		slug   string
		access access
	}
	byUser := make(map[string]wanted, len(want))
	wantRoles := map[string]roleSpec{}
	for _, a := range want {
		user, err := checkID(a.TokenID)
		if err != nil {
			return rep, err
		}
		if err := checkSlug(a.TenantSlug); err != nil {
			return rep, err
		}
		acc, ok := accessOf(a.Scopes)
		if !ok {
			return rep, fmt.Errorf("mosquittodynsec: sync %s: scopes %v grant nothing over MQTT", user, a.Scopes)
		}
		role := acc.role(a.TenantSlug)
		byUser[user] = wanted{role: role, plain: a.Plain, slug: a.TenantSlug, id: a.TokenID, scopes: a.Scopes, disabled: a.Disabled}
		wantRoles[role] = roleSpec{slug: a.TenantSlug, access: acc}
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
		rs := wantRoles[role]
		if !haveRole[role] {
			if _, err := p.one(ctx, command{"command": "createRole", "rolename": role,
				"textname": "Pulse tenant " + rs.slug, "acls": aclMaps(roleACLs(rs.slug, rs.access))}); err != nil && !isCommandError(err, msgRoleExists) {
				return rep, fmt.Errorf("sync role %s: %w", role, err)
			}
			continue
		}
		changed, err := p.ensureRole(ctx, rs.slug, rs.access)
		if err != nil {
			return rep, fmt.Errorf("sync: %w", err)
		}
		if changed {
			rep.RepairedRoles = append(rep.RepairedRoles, role)
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
		if err := p.ProvisionTokenScopes(ctx, w.id, w.slug, w.plain, w.scopes); err != nil {
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
		if _, ok := wantRoles[r]; !strings.HasPrefix(r, rolePrefix) || ok {
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
	roles := tenantRoles(tenantSlug)
	for _, c := range clients {
		if !strings.HasPrefix(c.Username, clientPrefix) || c.Disabled == !enabled {
			continue
		}
		for _, r := range c.Roles {
			if slices.Contains(roles, r.Rolename) {
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
