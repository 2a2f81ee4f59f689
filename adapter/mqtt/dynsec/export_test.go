package dynsec

import (
	"context"
	"encoding/json"
	"fmt"
)

// ProvisionLegacy provisions a token exactly as Pulse did before
// subscribing required the read scope: role tenant-<slug> allowed to
// publish, subscribe and receive under metrics/<slug>/#, whatever the
// token's scopes. Tests use it to stand for a broker provisioned by an
// older Pulse, which Sync must correct.
func (p *Provisioner) ProvisionLegacy(ctx context.Context, tokenID, slug, plain string) error {
	own := "metrics/" + slug + "/#"
	acl := func(typ, topic string, allow bool, prio int) map[string]any {
		return map[string]any{"acltype": typ, "topic": topic, "allow": allow, "priority": prio}
	}
	_, errs, err := p.exec(ctx,
		command{"command": "createRole", "rolename": RoleName(slug), "acls": []map[string]any{
			acl("publishClientSend", own, true, 10),
			acl("subscribePattern", own, true, 10),
			acl("publishClientReceive", own, true, 10),
			acl("publishClientSend", "#", false, 0),
			acl("subscribePattern", "#", false, 0),
			acl("publishClientReceive", "#", false, 0),
		}},
		command{"command": "createClient", "username": Username(tokenID), "password": plain,
			"roles": []map[string]any{{"rolename": RoleName(slug), "priority": 0}}},
	)
	if err != nil {
		return err
	}
	for i, e := range errs {
		if e != nil && !(i == 0 && isCommandError(e, msgRoleExists)) {
			return fmt.Errorf("legacy provision: %w", e)
		}
	}
	return nil
}

// RoleACLs returns the role's ACLs as "acltype topic allow priority".
func (p *Provisioner) RoleACLs(ctx context.Context, role string) ([]string, error) {
	r, err := p.one(ctx, command{"command": "getRole", "rolename": role})
	if err != nil {
		return nil, err
	}
	var data struct {
		Role struct {
			ACLs []roleACL `json:"acls"`
		} `json:"role"`
	}
	if err := json.Unmarshal(r.Data, &data); err != nil {
		return nil, err
	}
	out := make([]string, len(data.Role.ACLs))
	for i, a := range data.Role.ACLs {
		out[i] = fmt.Sprintf("%s %s %t %d", a.Type, a.Topic, a.Allow, a.Priority)
	}
	return out, nil
}
