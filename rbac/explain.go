package rbac

import (
	"context"
	"strings"

	"github.com/google/uuid"
)

// Step is one link of the path that decided: the object's node and its ancestors, the grant
// found on one of them (directly or through a group), the role that carries the permission, and
// the profile that had the last word.
type Step struct {
	Kind   string `json:"kind"` // node | grant | role | profile | token
	Node   string `json:"node,omitempty"`
	Role   string `json:"role,omitempty"`
	Via    string `json:"via,omitempty"` // the group a grant came through
	Detail string `json:"detail,omitempty"`
}

// Explanation is a decision and why.
type Explanation struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
	Path    []Step `json:"path"`
}

// Explain answers whether the user may do the action on the node and why. It is for people, not
// the hot path: it walks the ancestors in code to show each step, and its verdict always agrees
// with Allowed.
func (e *Enforcer) Explain(ctx context.Context, tenantID, userID uuid.UUID, node string, action Action) (Explanation, error) {
	if !action.Known() {
		return Explanation{Allowed: false, Reason: "unknown action: denied", Path: []Step{}}, nil
	}
	tp, err := e.tenant(ctx, tenantID)
	if err != nil {
		return Explanation{}, err
	}
	allowed, err := tp.ce.Enforce(UserSubject(userID), tp.dom, node, string(action))
	if err != nil {
		return Explanation{}, err
	}
	sub := UserSubject(userID)
	rm := tp.ce.GetRoleManager()
	roles, err := tp.ce.GetFilteredPolicy(0, tp.dom)
	if err != nil {
		return Explanation{}, err
	}
	var path []Step
	var refused []Step
	for n, depth := node, 0; depth <= maxHierarchy; depth++ {
		path = append(path, Step{Kind: "node", Node: n})
		// The node's direct links in g (its parent and the grants on it): the groups that hold a
		// role here are among them. The role manager's "roles" of a node are these links.
		links, err := rm.GetRoles(n, tp.dom)
		if err != nil {
			return Explanation{}, err
		}
		for _, p := range roles {
			role := p[1]
			if ok, _ := tp.ce.GetNamedRoleManager("g2").HasLink(role, string(action), tp.dom); !ok {
				continue
			}
			grants := []Step{}
			if directLink(tp, n, role+"@"+sub) {
				grants = append(grants, Step{Kind: "grant", Node: n, Role: role})
			}
			for _, g := range links {
				if strings.HasPrefix(g, role+"@"+SubjectGroup+":") && directLink(tp, g, role+"@"+sub) {
					grants = append(grants, Step{Kind: "grant", Node: n, Role: role, Via: strings.TrimPrefix(g, role+"@")})
				}
			}
			for _, gs := range grants {
				if verdict := tp.accessVerdict(sub, node, role, action); verdict != "" {
					_, at, _ := tp.effectiveAccess(node)
					refused = append(refused, gs, Step{Kind: "profile", Node: at, Detail: "access profile: " + verdict})
					continue
				}
				path = append(path, gs, Step{Kind: "role", Role: role, Detail: "role " + role + " includes " + string(action)})
				if as, at, ok := tp.effectiveAccess(node); ok {
					path = append(path, Step{Kind: "profile", Node: at, Detail: "access profile " + as.Name + " allows it"})
				}
				return Explanation{Allowed: allowed, Reason: reason(gs, node, action), Path: path}, nil
			}
		}
		if n == Root {
			break
		}
		parent, ok := tp.parents[n]
		if !ok {
			parent = Root
		}
		n = parent
	}
	why := "no grant on " + node + " or an ancestor carries " + string(action)
	if len(refused) > 0 {
		why = "a grant carries " + string(action) + " but the access profile in force refuses it"
		path = append(path, refused...)
	}
	return Explanation{Allowed: allowed, Reason: why, Path: path}, nil
}

// directLink reports whether from links straight to to (one rule, not a path).
func directLink(tp *tenantPolicy, from, to string) bool {
	return tp.links.Linked(from, to, tp.dom)
}

func reason(g Step, node string, action Action) string {
	where := "on " + g.Node
	if g.Node != node {
		where += " (inherited by " + node + ")"
	}
	if g.Via != "" {
		return "allowed: " + g.Via + " holds " + g.Role + " " + where + ", which includes " + string(action)
	}
	return "allowed: holds " + g.Role + " " + where + ", which includes " + string(action)
}
