package rbac_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// decision is one question to the enforcer and its expected answer.
type decision struct {
	name   string
	user   uuid.UUID
	node   string
	action rbac.Action
	want   bool
}

// TestEnforcer_builtinRolesOnTheTree: each built-in role allows exactly its actions, on the node
// it is granted on and every descendant, never on a sibling or an ancestor; an unknown action is
// denied to everyone.
func TestEnforcer_builtinRolesOnTheTree(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	tenantID := newTenant(t, db)
	tr := newTree(t, db, tenantID)
	admin, auditor, viewer, editor := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	grant(t, db, tenantID, admin, rbac.RoleAdmin, rbac.Root)
	grant(t, db, tenantID, auditor, rbac.RoleAuditor, rbac.Root)
	grant(t, db, tenantID, viewer, rbac.RoleViewer, tr.node(tr.A))
	grant(t, db, tenantID, editor, rbac.RoleEditor, tr.node(tr.B))
	e := newEnforcer(t, db, nil)

	var cases []decision
	for _, a := range rbac.AllActions {
		for _, node := range []string{rbac.Root, tr.node(tr.C), tr.node(tr.S)} {
			cases = append(cases,
				decision{"admin on root may " + string(a) + " on " + node, admin, node, a, true},
				decision{"auditor may only read: " + string(a) + " on " + node, auditor, node, a, a.ReadOnly()},
			)
		}
	}
	cases = append(cases,
		decision{"viewer on a reads a", viewer, tr.node(tr.A), rbac.WorkspaceRead, true},
		decision{"viewer on a reads its grandchild c", viewer, tr.node(tr.C), rbac.WorkspaceRead, true},
		decision{"viewer on a reads b2", viewer, tr.node(tr.B2), rbac.WorkspaceRead, true},
		decision{"viewer on a does not read the sibling s", viewer, tr.node(tr.S), rbac.WorkspaceRead, false},
		decision{"viewer on a does not read the root", viewer, rbac.Root, rbac.WorkspaceRead, false},
		decision{"viewer does not update c", viewer, tr.node(tr.C), rbac.WorkspaceUpdate, false},
		decision{"viewer does not manage grants on c", viewer, tr.node(tr.C), rbac.GrantManage, false},
		decision{"editor on b updates c", editor, tr.node(tr.C), rbac.WorkspaceUpdate, true},
		decision{"editor on b does not update its parent a", editor, tr.node(tr.A), rbac.WorkspaceUpdate, false},
		decision{"editor on b does not read its sibling b2", editor, tr.node(tr.B2), rbac.WorkspaceRead, false},
		decision{"editor does not delete c", editor, tr.node(tr.C), rbac.WorkspaceDelete, false},
		decision{"a user without grants reads nothing", uuid.New(), tr.node(tr.C), rbac.WorkspaceRead, false},
	)
	for _, node := range []string{rbac.Root, tr.node(tr.C)} {
		for _, user := range []uuid.UUID{admin, auditor, viewer} {
			cases = append(cases, decision{"unknown action board:explode on " + node, user, node, "board:explode", false})
		}
	}
	cases = append(cases, decision{"an action named like a role is unknown", admin, rbac.Root, rbac.Action(rbac.RoleAdmin), false})

	ctx := context.Background()
	for _, c := range cases {
		got, err := e.Allowed(ctx, tenantID, c.user, c.node, c.action)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s: allowed = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestEnforcer_grantInOneTenantAllowsNothingInAnother: the same user id, the same workspace
// ids, a tenant-wide admin grant in A: in B every action on every node is denied.
func TestEnforcer_grantInOneTenantAllowsNothingInAnother(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	a, b := newTenant(t, db), newTenant(t, db)
	trA := newTree(t, db, a)
	trB := newTree(t, db, b, trA) // the same workspace ids in B
	user, adminB := uuid.New(), uuid.New()
	grant(t, db, a, user, rbac.RoleAdmin, rbac.Root)
	grant(t, db, a, user, rbac.RoleAdmin, trA.node(trA.A))
	grant(t, db, b, adminB, rbac.RoleAdmin, rbac.Root)
	e := newEnforcer(t, db, nil)
	ctx := context.Background()

	for _, act := range rbac.AllActions {
		for _, node := range []string{rbac.Root, trB.node(trB.A), trB.node(trB.C)} {
			if ok, err := e.Allowed(ctx, a, user, node, act); err != nil || !ok {
				t.Fatalf("control: %s on %s in A = %v, %v; want allowed", act, node, ok, err)
			}
			if ok, err := e.Allowed(ctx, b, user, node, act); err != nil || ok {
				t.Errorf("%s on %s in B by A's admin = %v, %v; want denied", act, node, ok, err)
			}
			if ok, err := e.Allowed(ctx, b, adminB, node, act); err != nil || !ok {
				t.Errorf("control: %s on %s in B by B's admin = %v, %v; want allowed", act, node, ok, err)
			}
		}
	}
	roles, err := e.RolesOn(ctx, b, user, trB.node(trB.C))
	if err != nil || len(roles) != 0 {
		t.Errorf("A's admin's roles in B = %v, %v; want none", roles, err)
	}
	bctx := tenancy.WithPrincipal(ctx, tenancy.Principal{TenantID: b, UserID: user, Kind: tenancy.CredentialSession})
	if err := e.Authorize(bctx, rbac.TenantRead, rbac.Root); !errors.Is(err, rbac.ErrDenied) {
		t.Errorf("Authorize in B as A's admin = %v, want ErrDenied", err)
	}
}

// TestEnforcer_RolesOnListsDirectAndInheritedRoles: roles add up along the path to the root.
func TestEnforcer_RolesOnListsDirectAndInheritedRoles(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	tenantID := newTenant(t, db)
	tr := newTree(t, db, tenantID)
	user, admin := uuid.New(), uuid.New()
	grant(t, db, tenantID, user, rbac.RoleViewer, tr.node(tr.A))
	grant(t, db, tenantID, user, rbac.RoleEditor, tr.node(tr.B))
	grant(t, db, tenantID, admin, rbac.RoleAdmin, rbac.Root)
	e := newEnforcer(t, db, nil)

	cases := []struct {
		name string
		user uuid.UUID
		node string
		want []string
	}{
		{"on the grant's own node", user, tr.node(tr.A), []string{rbac.RoleViewer}},
		{"inherited and direct add up", user, tr.node(tr.B), []string{rbac.RoleEditor, rbac.RoleViewer}},
		{"inherited from two ancestors", user, tr.node(tr.C), []string{rbac.RoleEditor, rbac.RoleViewer}},
		{"a sibling inherits only from the common parent", user, tr.node(tr.B2), []string{rbac.RoleViewer}},
		{"another subtree has none", user, tr.node(tr.S), nil},
		{"the root has none", user, rbac.Root, nil},
		{"a root grant holds on a grandchild", admin, tr.node(tr.C), []string{rbac.RoleAdmin}},
	}
	for _, c := range cases {
		got, err := e.RolesOn(context.Background(), tenantID, c.user, c.node)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("%s: roles = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestAuthorize_tokenWithoutWriteScopeOnlyReads: a PAT never does more than its scopes allow,
// even for a tenant admin; sessions carry the user's rights; no principal is denied.
func TestAuthorize_tokenWithoutWriteScopeOnlyReads(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	tenantID := newTenant(t, db)
	admin := uuid.New()
	grant(t, db, tenantID, admin, rbac.RoleAdmin, rbac.Root)
	e := newEnforcer(t, db, nil)

	principals := []struct {
		name    string
		p       *tenancy.Principal
		allowed func(rbac.Action) bool
	}{
		{"read-only token", &tenancy.Principal{TenantID: tenantID, UserID: admin, Kind: tenancy.CredentialPAT,
			Scopes: []string{"read"}}, rbac.Action.ReadOnly},
		{"read-write token", &tenancy.Principal{TenantID: tenantID, UserID: admin, Kind: tenancy.CredentialPAT,
			Scopes: []string{"read", "write"}}, func(rbac.Action) bool { return true }},
		{"session", &tenancy.Principal{TenantID: tenantID, UserID: admin, Kind: tenancy.CredentialSession},
			func(rbac.Action) bool { return true }},
		{"no principal", nil, func(rbac.Action) bool { return false }},
	}
	for _, pr := range principals {
		ctx := context.Background()
		if pr.p != nil {
			ctx = tenancy.WithPrincipal(ctx, *pr.p)
		}
		for _, a := range rbac.AllActions {
			err := e.Authorize(ctx, a, rbac.Root)
			switch want := pr.allowed(a); {
			case want && err != nil:
				t.Errorf("%s: %s = %v, want allowed", pr.name, a, err)
			case !want && !errors.Is(err, rbac.ErrDenied):
				t.Errorf("%s: %s = %v, want ErrDenied", pr.name, a, err)
			}
		}
		if err := e.Authorize(ctx, "board:explode", rbac.Root); !errors.Is(err, rbac.ErrDenied) {
			t.Errorf("%s: unknown action = %v, want ErrDenied", pr.name, err)
		}
	}
}

// TestPolicy_grantOfAnUndefinedRoleFails: grants name roles the tenant defines, nothing else.
func TestPolicy_grantOfAnUndefinedRoleFails(t *testing.T) {
	t.Parallel()
	db, _ := openDB(t)
	tenantID := newTenant(t, db)
	ctx := tenancy.WithTenant(context.Background(), tenantID)
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		p, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		return p.GrantUser(uuid.New(), "superuser", rbac.Root)
	})
	if !errors.Is(err, rbac.ErrUnknownRole) {
		t.Errorf("grant of an undefined role = %v, want ErrUnknownRole", err)
	}
}
