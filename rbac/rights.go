package rbac

import (
	"context"

	"github.com/google/uuid"
)

// Rights is what a user may do on a node through roles: the roles they hold there (granted on
// the node or above, directly or through a group), the actions of those roles less what the
// access profile in force takes away from each, and whether that profile makes the node
// read-only for them. It answers what Allowed answers, action by action, from one walk — for
// modules that weigh several actions at once (a board's relation to the caller).
type Rights struct {
	Roles    []string
	ReadOnly bool
	// Profile is the access profile in force on the node (nearest assignment upwards), if any.
	Profile *ProfileInForce
	actions map[Action]bool
}

// ProfileInForce names an access profile and the node it is assigned on.
type ProfileInForce struct {
	Name string `json:"name"`
	Node string `json:"node"`
}

// Has reports whether the rights include the action.
func (r Rights) Has(a Action) bool { return r.actions[a] }

// Any reports whether the rights include one of the actions.
func (r Rights) Any(actions ...Action) bool {
	for _, a := range actions {
		if r.actions[a] {
			return true
		}
	}
	return false
}

// Member reports whether the user holds a role on the node other than the tenant auditor's
// (who reads everything and belongs nowhere).
func (r Rights) Member() bool {
	for _, role := range r.Roles {
		if role != RoleAuditor {
			return true
		}
	}
	return false
}

// RightsWith builds Rights by hand (tests of the modules that consume them).
func RightsWith(roles []string, readOnly bool, actions ...Action) Rights {
	m := make(map[Action]bool, len(actions))
	for _, a := range actions {
		m[a] = true
	}
	return Rights{Roles: roles, ReadOnly: readOnly, actions: m}
}

// RightsOn returns the user's rights on the node of the tenant.
func (e *Enforcer) RightsOn(ctx context.Context, tenantID, userID uuid.UUID, node string) (Rights, error) {
	tp, err := e.tenant(ctx, tenantID)
	if err != nil {
		return Rights{}, err
	}
	policies, err := tp.ce.GetFilteredPolicy(0, tp.dom)
	if err != nil {
		return Rights{}, err
	}
	sub := UserSubject(userID)
	r := Rights{Roles: []string{}, actions: map[Action]bool{},
		ReadOnly: tp.accessVerdict(sub, node, "", WorkspaceUpdate) == "read_only"}
	if as, at, ok := tp.effectiveAccess(node); ok {
		r.Profile = &ProfileInForce{Name: as.Name, Node: at}
	}
	rm, perms := tp.ce.GetRoleManager(), tp.ce.GetNamedRoleManager("g2")
	for _, p := range policies {
		role := p[1]
		held, err := rm.HasLink(node, role+"@"+sub, tp.dom)
		if err != nil {
			return Rights{}, err
		}
		if !held {
			continue
		}
		r.Roles = append(r.Roles, role)
		actions, err := perms.GetRoles(role, tp.dom)
		if err != nil {
			return Rights{}, err
		}
		for _, a := range actions {
			act := Action(a)
			if act.Known() && tp.accessVerdict(sub, node, role, act) == "" {
				r.actions[act] = true
			}
		}
	}
	return r, nil
}
