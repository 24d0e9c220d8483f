package rbac

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
	defaultrolemanager "github.com/casbin/casbin/v2/rbac/default-role-manager"
	"github.com/google/uuid"
	"gorm.io/datatypes"
)

// TestTenantPolicyDecidesAsTheModelWithEveryRule: on generated tenants (a workspace tree, users,
// groups, direct and group grants, expired and expiring grants, access profiles), the policy as
// loaded — the node graph only in the role manager, interned — gives the same decisions, roles
// and listing scopes as the former representation: every rule in casbin's model, the links
// built by casbin's default role manager, expired grants removed from the model.
func TestTenantPolicyDecidesAsTheModelWithEveryRule(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for round := range 4 {
		r := rand.New(rand.NewPCG(uint64(round), 7))
		dom := uuid.NewString()
		rows, users, nodes := generatePolicy(r, dom, now)
		got, err := newTenantPolicy(dom, rows, now)
		if err != nil {
			t.Fatal(err)
		}
		want := referencePolicy(t, dom, rows, now)
		if got.expires != want.expires {
			t.Fatalf("round %d: next expiry %v, reference %v", round, got.expires, want.expires)
		}
		for _, u := range users {
			sub := UserSubject(u)
			for _, n := range nodes {
				for _, a := range AllActions {
					g, err1 := got.ce.Enforce(sub, dom, n, string(a))
					w, err2 := want.ce.Enforce(sub, dom, n, string(a))
					if err1 != nil || err2 != nil || g != w {
						t.Fatalf("round %d: %s %s on %s = %v (%v), reference %v (%v)", round, sub, a, n, g, err1, w, err2)
					}
				}
				g, _ := got.rolesOn(u, n)
				w, _ := want.rolesOn(u, n)
				if !slices.Equal(g, w) {
					t.Fatalf("round %d: roles of %s on %s = %v, reference %v", round, sub, n, g, w)
				}
			}
			for _, a := range []Action{WorkspaceRead, WorkspaceUpdate} {
				g, _ := got.readable(u, a)
				w, _ := want.readable(u, a)
				if !sameScope(g, w) {
					t.Fatalf("round %d: %s may %s in %+v, reference %+v", round, sub, a, g, w)
				}
			}
		}
	}
}

func sameScope(a, b Scope) bool {
	sorted := func(s []uuid.UUID) []string {
		out := make([]string, len(s))
		for i, id := range s {
			out[i] = id.String()
		}
		slices.Sort(out)
		return out
	}
	return a.All == b.All && slices.Equal(sorted(a.Nodes), sorted(b.Nodes)) && slices.Equal(sorted(a.Except), sorted(b.Except))
}

// generatePolicy makes the rows of a random tenant, as the Policy writer would have written them.
// It returns the users and the nodes to ask about.
func generatePolicy(r *rand.Rand, dom string, now time.Time) (*policyRows, []uuid.UUID, []string) {
	rows := &policyRows{version: 1}
	roles := BuiltinRoles()
	names := make([]string, 0, len(roles))
	for name := range roles {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		rows.rules = append(rows.rules, ruleRow{"p", dom, name})
		for _, a := range roles[name] {
			rows.rules = append(rows.rules, ruleRow{"g2", name, string(a)})
		}
	}
	nodes := []string{Root}
	for i := range 30 {
		n := WorkspaceNode(uuid.New())
		parent := Root
		if i > 0 && r.IntN(5) > 0 {
			parent = nodes[1+r.IntN(len(nodes)-1)]
		}
		rows.rules = append(rows.rules, ruleRow{"g", n, parent})
		nodes = append(nodes, n)
	}
	users := make([]uuid.UUID, 20)
	for i := range users {
		users[i] = uuid.New()
	}
	groups := make([]uuid.UUID, 4)
	members := map[uuid.UUID][]uuid.UUID{}
	for i := range groups {
		groups[i] = uuid.New()
		for _, u := range users {
			if r.IntN(4) == 0 {
				members[groups[i]] = append(members[groups[i]], u)
			}
		}
	}
	grant := func(g Grant) {
		rows.rules = append(rows.rules, ruleRow{"g", g.Node(), g.Role + "@" + g.Subject()})
		switch r.IntN(8) {
		case 0:
			past := now.Add(-time.Duration(1+r.IntN(100)) * time.Hour)
			g.ExpiresAt = &past
		case 1:
			later := now.Add(time.Duration(1+r.IntN(100)) * time.Hour)
			g.ExpiresAt = &later
		}
		if g.ExpiresAt != nil {
			rows.expiring = append(rows.expiring, g)
		}
	}
	onNode := func() *uuid.UUID {
		n := nodes[r.IntN(len(nodes))]
		if n == Root {
			return nil
		}
		id := uuid.MustParse(n[len("ws:"):])
		return &id
	}
	for _, u := range users {
		for range r.IntN(4) {
			grant(Grant{WorkspaceID: onNode(), SubjectType: SubjectUser, SubjectID: u, Role: names[r.IntN(len(names))]})
		}
	}
	for _, gr := range groups {
		for range 1 + r.IntN(2) {
			role := names[r.IntN(len(names))]
			grant(Grant{WorkspaceID: onNode(), SubjectType: SubjectGroup, SubjectID: gr, Role: role})
			for _, u := range members[gr] {
				rows.rules = append(rows.rules, ruleRow{"g", role + "@" + SubjectGroup + ":" + gr.String(), role + "@" + UserSubject(u)})
			}
		}
	}
	for range 3 {
		n := nodes[1+r.IntN(len(nodes)-1)]
		s := AccessSettings{ReadOnly: r.IntN(2) == 0,
			Deny: map[string][]Action{names[r.IntN(len(names))]: {AllActions[r.IntN(len(AllActions))]}}}
		rows.access = append(rows.access, accessAssignment{Node: n, ProfileID: uuid.New(), Name: fmt.Sprint("p", n[3:8]),
			Settings: datatypes.NewJSONType(s)})
	}
	return rows, users, nodes
}

// referencePolicy builds the policy as the enforcer did before the node graph left the model:
// the adapter's lines into the model, expired grants removed from it, role links built by
// casbin's default role manager.
func referencePolicy(t *testing.T, dom string, rows *policyRows, now time.Time) *tenantPolicy {
	t.Helper()
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		t.Fatal(err)
	}
	ce, err := casbin.NewSyncedEnforcer(m)
	if err != nil {
		t.Fatal(err)
	}
	ce.EnableAutoSave(false)
	ce.SetNamedRoleManager("g", defaultrolemanager.NewRoleManager(maxHierarchy))
	ce.SetNamedRoleManager("g2", defaultrolemanager.NewRoleManager(maxHierarchy))
	tp := &tenantPolicy{ce: ce, dom: dom, parents: map[string]string{}, access: map[string]accessAssignment{}}
	for _, as := range rows.access {
		tp.access[as.Node] = as
	}
	for _, r := range rows.rules {
		line := []string{r.ptype, r.v0, r.v1, dom}
		if r.ptype == "p" {
			line = []string{"p", dom, r.v1}
		}
		if err := persist.LoadPolicyArray(line, ce.GetModel()); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range rows.expiring {
		switch {
		case !g.ExpiresAt.After(now):
			if _, err := ce.RemoveNamedGroupingPolicy("g", g.Node(), g.Role+"@"+g.Subject(), dom); err != nil {
				t.Fatal(err)
			}
		case tp.expires.IsZero() || g.ExpiresAt.Before(tp.expires):
			tp.expires = *g.ExpiresAt
		}
	}
	links, err := ce.GetNamedGroupingPolicy("g")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if (len(l[0]) > 3 && l[0][:3] == "ws:") && (l[1] == Root || (len(l[1]) > 3 && l[1][:3] == "ws:")) {
			tp.parents[l[0]] = l[1]
		}
	}
	ce.AddFunction("profileAllows", tp.profileAllows)
	if err := ce.BuildRoleLinks(); err != nil {
		t.Fatal(err)
	}
	return tp
}
