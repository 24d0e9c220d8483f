package roles_test

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/configs"
	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/roles"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// The story: a tenant admin defines a custom role "librarian" (create and update, never
// delete) through the API. A user granted it on a workspace creates and updates there and below
// but is refused (403) every delete; nowhere else does the role give anything. Changing the
// role's permissions takes effect at once for its holders, and a role still granted cannot be
// deleted.
func TestRoles_librarianCreatesAndUpdatesButNeverDeletes(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	admin := a.Admin.Token
	msa := addWorkspace(t, env, a.ID, nil, "msa")
	suit := addWorkspace(t, env, a.ID, &msa, "suit")
	rocket := addWorkspace(t, env, a.ID, nil, "rocket")

	perms := []rbac.Action{rbac.WorkspaceRead, rbac.WorkspaceCreate, rbac.WorkspaceUpdate, rbac.BoardCreate, rbac.ImageCreate}
	librarian := define(t, env, admin, "librarian", perms...)
	if librarian.Builtin || librarian.Name != "librarian" || !sameSet(librarian.Permissions, perms) {
		t.Fatalf("defined %+v", librarian)
	}
	if got := list(t, env, admin)["librarian"]; got.ID != librarian.ID || !sameSet(got.Permissions, perms) {
		t.Fatalf("listed %+v", got)
	}
	if entries := auditOf(t, env, admin, "role:"+librarian.ID.String()); len(entries) != 1 ||
		entries[0].Result != "allow" || entries[0].Subject != rbac.UserSubject(a.Admin.ID) || entries[0].Action != string(rbac.RoleManage) {
		t.Fatalf("audit of the definition: %+v", entries)
	}

	lib := env.NewUser(t, a, "member")
	r := env.Do(http.MethodPost, "/api/v1/workspaces/msa/grants", admin,
		map[string]any{"subject_type": "user", "subject_id": lib.ID, "role": "librarian"})
	apptest.WantStatus(t, r, http.StatusCreated)
	var g struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &g)

	// Create and update on msa and below.
	apptest.WantStatus(t, env.Do(http.MethodPatch, "/api/v1/workspaces/msa~suit", lib.Token, map[string]any{"description": "catalogued"}), http.StatusOK)
	apptest.WantStatus(t, env.Do(http.MethodPatch, "/api/v1/workspaces/msa", lib.Token, map[string]any{"name": "MSA archive"}), http.StatusOK)
	apptest.WantStatus(t, env.Do(http.MethodPost, "/api/v1/workspaces", lib.Token,
		map[string]any{"name": "Shelf", "slug": "shelf", "parent_id": suit.ID}), http.StatusCreated)
	apptest.WantStatus(t, env.Do(http.MethodPost, "/api/v1/workspaces/msa~suit/boards", lib.Token, map[string]any{"name": "Catalogue"}), http.StatusCreated)

	// Never delete, however empty the workspace.
	for _, p := range []string{"msa~suit~shelf", "msa~suit", "msa"} {
		apptest.WantError(t, env.Do(http.MethodDelete, "/api/v1/workspaces/"+p, lib.Token, nil), http.StatusForbidden, "forbidden")
	}
	apptest.WantStatus(t, env.Do(http.MethodGet, "/api/v1/workspaces/msa~suit~shelf", admin, nil), http.StatusOK)
	// Nothing outside msa, nothing on the tenant root.
	apptest.WantStatus(t, env.Do(http.MethodPatch, "/api/v1/workspaces/rocket", lib.Token, map[string]any{"description": "x"}), http.StatusNotFound)
	apptest.WantStatus(t, env.Do(http.MethodPost, "/api/v1/workspaces", lib.Token, map[string]any{"name": "Top", "slug": "top"}), http.StatusForbidden)
	if allowed(t, env.App.Enforcer, a.ID, lib.ID, rbac.WorkspaceNode(rocket.ID), rbac.WorkspaceRead) {
		t.Fatal("librarian on msa reads rocket")
	}

	// A change of the role holds at once: with workspace:delete the librarian deletes the empty
	// shelf; without it again, the next delete is refused.
	withDelete := append(append([]rbac.Action{}, perms...), rbac.WorkspaceDelete)
	r = env.Do(http.MethodPatch, rolesPath+"/"+librarian.ID.String(), admin, map[string]any{"permissions": withDelete})
	apptest.WantStatus(t, r, http.StatusOK)
	var changed view
	r.JSON(t, &changed)
	if !sameSet(changed.Permissions, withDelete) {
		t.Fatalf("changed %+v", changed)
	}
	apptest.WantStatus(t, env.Do(http.MethodDelete, "/api/v1/workspaces/msa~suit~shelf", lib.Token, nil), http.StatusNoContent)
	apptest.WantStatus(t, env.Do(http.MethodPatch, rolesPath+"/"+librarian.ID.String(), admin, map[string]any{"permissions": perms}), http.StatusOK)
	apptest.WantStatus(t, env.Do(http.MethodPost, "/api/v1/workspaces", lib.Token,
		map[string]any{"name": "Shelf", "slug": "shelf2", "parent_id": suit.ID}), http.StatusCreated)
	apptest.WantError(t, env.Do(http.MethodDelete, "/api/v1/workspaces/msa~suit~shelf2", lib.Token, nil), http.StatusForbidden, "forbidden")

	// A role still granted cannot go; once its grant is revoked, it can.
	apptest.WantError(t, env.Do(http.MethodDelete, rolesPath+"/"+librarian.ID.String(), admin, nil), http.StatusConflict, "conflict")
	apptest.WantStatus(t, env.Do(http.MethodDelete, "/api/v1/workspaces/msa/grants/"+g.ID.String(), admin, nil), http.StatusNoContent)
	apptest.WantStatus(t, env.Do(http.MethodDelete, rolesPath+"/"+librarian.ID.String(), admin, nil), http.StatusNoContent)
	if _, ok := list(t, env, admin)["librarian"]; ok {
		t.Fatal("the deleted role is still listed")
	}
	apptest.WantStatus(t, env.Do(http.MethodDelete, rolesPath+"/"+librarian.ID.String(), admin, nil), http.StatusNotFound)
	wantInvalidOrNotFound(t, env.Do(http.MethodPost, "/api/v1/workspaces/msa/grants", admin,
		map[string]any{"subject_type": "user", "subject_id": lib.ID, "role": "librarian"}))
}

// Built-in roles are the same in every tenant: nobody changes or deletes them, a tenant admin
// included (409 in the error shape); they stay as seeded.
func TestRoles_builtinRolesCannotBeChangedOrDeleted(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	admin := a.Admin.Token
	before := list(t, env, admin)
	builtins := rbac.BuiltinRoles()
	for name, perms := range builtins {
		v, ok := before[name]
		if !ok || !v.Builtin || !sameSet(v.Permissions, perms) {
			t.Fatalf("built-in %s listed as %+v", name, v)
		}
	}
	for name := range builtins {
		id := before[name].ID.String()
		for _, r := range []apptest.Response{
			env.Do(http.MethodDelete, rolesPath+"/"+id, admin, nil),
			env.Do(http.MethodPatch, rolesPath+"/"+id, admin, map[string]any{"permissions": []string{"tenant:read"}}),
			env.Do(http.MethodPatch, rolesPath+"/"+id, admin, map[string]any{"description": "mine now"}),
		} {
			apptest.WantError(t, r, http.StatusConflict, "conflict")
			var e struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			r.JSON(t, &e)
			if !strings.Contains(e.Error.Message, "built-in") {
				t.Errorf("%s: message %q does not say why", name, e.Error.Message)
			}
		}
	}
	after := list(t, env, admin)
	for name := range builtins {
		if b, a := before[name], after[name]; a.ID != b.ID || a.Description != b.Description || !sameSet(a.Permissions, toActions(b.Permissions)) {
			t.Errorf("built-in %s changed: %+v → %+v", name, b, a)
		}
	}
	// The tenant admin still holds everything.
	for _, act := range rbac.AllActions {
		if !allowed(t, env.App.Enforcer, a.ID, a.Admin.ID, rbac.Root, act) {
			t.Errorf("the tenant admin lost %s", act)
		}
	}
}

// Bad input is refused with the field at fault (400) or as a conflict (409), and writes nothing:
// no role appears, an existing role keeps its permissions, and nothing is audited as done.
func TestRoles_badInputIsRefusedAndWritesNothing(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	admin := a.Admin.Token
	keeper := define(t, env, admin, "keeper", rbac.WorkspaceRead)
	before := list(t, env, admin)

	for _, c := range []struct {
		name  string
		body  any
		field string // "" for a conflict
	}{
		{"empty name", map[string]any{"name": "", "permissions": []string{"workspace:read"}}, "name"},
		{"no name", map[string]any{"permissions": []string{"workspace:read"}}, "name"},
		{"upper-case name", map[string]any{"name": "Librarian", "permissions": []string{}}, "name"},
		{"name with a space", map[string]any{"name": "lib rarian", "permissions": []string{}}, "name"},
		{"one-letter name", map[string]any{"name": "l", "permissions": []string{}}, "name"},
		{"unknown action", map[string]any{"name": "librarian", "permissions": []string{"workspace:read", "board:explode"}}, "permissions"},
		{"not an action", map[string]any{"name": "librarian", "permissions": []string{"everything"}}, "permissions"},
		{"no permissions", map[string]any{"name": "librarian"}, "permissions"},
		{"NUL in the description", map[string]any{"name": "librarian", "description": "a\x00b", "permissions": []string{}}, "description"},
		{"unknown field", map[string]any{"name": "librarian", "permissions": []string{}, "level": 15}, "level"},
		{"duplicate of a custom role", map[string]any{"name": "keeper", "permissions": []string{"workspace:read"}}, ""},
		{"duplicate of a built-in role", map[string]any{"name": "admin", "permissions": []string{"workspace:read"}}, ""},
	} {
		r := env.Do(http.MethodPost, rolesPath, admin, c.body)
		if c.field == "" {
			if r.Status != http.StatusConflict || r.ErrorCode() != "conflict" {
				t.Errorf("%s: %d %s, want 409 conflict", c.name, r.Status, r.Body)
			}
			continue
		}
		if !isInvalid(t, r, c.field) {
			t.Errorf("%s: %d %s, want 400 invalid on %q", c.name, r.Status, r.Body, c.field)
		}
	}
	id := rolesPath + "/" + keeper.ID.String()
	apptest.WantInvalid(t, env.Do(http.MethodPatch, id, admin, map[string]any{"permissions": []string{"workspace:read", "workspace:explode"}}), "permissions")
	apptest.WantInvalid(t, env.Do(http.MethodPatch, id, admin, map[string]any{"description": "x\x00"}), "description")
	apptest.WantError(t, env.Do(http.MethodPatch, id, admin, map[string]any{}), http.StatusBadRequest, "invalid")
	apptest.WantError(t, env.Do(http.MethodPatch, id, admin, map[string]any{"name": "renamed"}), http.StatusBadRequest, "invalid")
	apptest.WantError(t, env.Do(http.MethodPatch, rolesPath+"/not-a-uuid", admin, map[string]any{"description": "x"}), http.StatusNotFound, "not_found")
	apptest.WantError(t, env.Do(http.MethodPatch, rolesPath+"/"+uuid.NewString(), admin, map[string]any{"description": "x"}), http.StatusNotFound, "not_found")
	apptest.WantError(t, env.Do(http.MethodDelete, rolesPath+"/"+uuid.NewString(), admin, nil), http.StatusNotFound, "not_found")

	after := list(t, env, admin)
	if len(after) != len(before) {
		t.Errorf("roles before %d, after %d", len(before), len(after))
	}
	if k := after["keeper"]; !sameSet(k.Permissions, []rbac.Action{rbac.WorkspaceRead}) || k.Description != keeper.Description {
		t.Errorf("keeper changed: %+v", k)
	}
	if _, ok := after["librarian"]; ok {
		t.Error("a refused role was created")
	}
	for _, e := range auditOf(t, env, admin, "role:"+keeper.ID.String()) {
		if e.Result == "allow" && strings.Contains(string(e.Reason), `"update"`) {
			t.Errorf("a refused update was audited as done: %+v", e)
		}
	}
}

// Roles are the tenant's: another tenant's admin neither sees nor touches them (404), and the
// same name is free in every tenant.
func TestRoles_anotherTenantsRolesAreIndistinguishableFromMissing(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a, b := env.SignUp(t), env.SignUp(t)
	mine := define(t, env, a.Admin.Token, "librarian", rbac.WorkspaceRead)
	theirs := define(t, env, b.Admin.Token, "librarian", rbac.WorkspaceRead, rbac.WorkspaceUpdate)
	if mine.ID == theirs.ID {
		t.Fatal("two tenants share a role id")
	}
	missing := env.Do(http.MethodDelete, rolesPath+"/"+uuid.NewString(), b.Admin.Token, nil)
	for _, r := range []apptest.Response{
		env.Do(http.MethodPatch, rolesPath+"/"+mine.ID.String(), b.Admin.Token, map[string]any{"description": "taken"}),
		env.Do(http.MethodDelete, rolesPath+"/"+mine.ID.String(), b.Admin.Token, nil),
		env.Do(http.MethodDelete, rolesPath+"/"+list(t, env, a.Admin.Token)[rbac.RoleAdmin].ID.String(), b.Admin.Token, nil),
	} {
		apptest.WantError(t, r, http.StatusNotFound, "not_found")
		if string(r.Body) != string(missing.Body) {
			t.Errorf("body %s differs from a missing role's %s", r.Body, missing.Body)
		}
	}
	if got := list(t, env, a.Admin.Token)["librarian"]; got.ID != mine.ID || got.Description != "" || !sameSet(got.Permissions, []rbac.Action{rbac.WorkspaceRead}) {
		t.Errorf("tenant A's librarian after B's attempts: %+v", got)
	}
	if got := list(t, env, b.Admin.Token)["librarian"]; got.ID != theirs.ID {
		t.Errorf("tenant B lists %+v", got)
	}
}

// A role is a way to hand permissions out, not to mint them: a user who may manage roles (a
// custom "steward" on the tenant root) defines roles only out of permissions they hold, and the
// refusal is audited.
func TestRoles_aRoleCannotCarryMoreThanItsAuthorHolds(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	define(t, env, a.Admin.Token, "steward", rbac.RoleRead, rbac.RoleManage, rbac.WorkspaceRead)
	steward := env.NewUser(t, a, "member")
	grant(t, env, a.ID, steward.ID, "steward", rbac.Root)

	reader := define(t, env, steward.Token, "reader", rbac.WorkspaceRead, rbac.RoleRead)
	apptest.WantError(t, env.Do(http.MethodPost, rolesPath, steward.Token,
		map[string]any{"name": "deleter", "permissions": []string{"workspace:read", "workspace:delete"}}), http.StatusForbidden, "forbidden")
	apptest.WantError(t, env.Do(http.MethodPatch, rolesPath+"/"+reader.ID.String(), steward.Token,
		map[string]any{"permissions": []string{"workspace:read", "grant:manage"}}), http.StatusForbidden, "forbidden")
	roles := list(t, env, a.Admin.Token)
	if _, ok := roles["deleter"]; ok {
		t.Error("a role beyond its author was created")
	}
	if !sameSet(roles["reader"].Permissions, []rbac.Action{rbac.WorkspaceRead, rbac.RoleRead}) {
		t.Errorf("reader grew: %+v", roles["reader"])
	}
	var refused int
	for _, e := range auditOf(t, env, a.Admin.Token, "role:deleter") {
		if e.Result == "deny" && e.Subject == rbac.UserSubject(steward.ID) && strings.Contains(string(e.Reason), "workspace:delete") {
			refused++
		}
	}
	if refused != 1 {
		t.Errorf("%d audited refusals of the role beyond its author, want 1", refused)
	}
	// Losing role:manage stops it at once.
	if !allowed(t, env.App.Enforcer, a.ID, steward.ID, rbac.Root, rbac.RoleManage) {
		t.Fatal("the steward cannot manage roles")
	}
	apptest.WantStatus(t, env.Do(http.MethodPatch, rolesPath+"/"+list(t, env, a.Admin.Token)["steward"].ID.String(), a.Admin.Token,
		map[string]any{"permissions": []string{"role:read", "workspace:read"}}), http.StatusOK)
	apptest.WantError(t, env.Do(http.MethodDelete, rolesPath+"/"+reader.ID.String(), steward.Token, nil), http.StatusForbidden, "forbidden")
}

// The tenant's auditor reads everything, the audit log included, and writes nothing anywhere:
// every create, change and delete is refused (403) and leaves no trace but the audited denial.
func TestRoles_auditorReadsEverythingAndWritesNothing(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	admin := a.Admin.Token
	msa := addWorkspace(t, env, a.ID, nil, "msa")
	addWorkspace(t, env, a.ID, &msa, "suit")
	custom := define(t, env, admin, "librarian", rbac.WorkspaceRead, rbac.WorkspaceUpdate)
	someone := env.NewUser(t, a, "member")
	r := env.Do(http.MethodPost, "/api/v1/groups", admin, map[string]any{"name": "Curators"})
	apptest.WantStatus(t, r, http.StatusCreated)
	var group struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &group)
	grantID := grant(t, env, a.ID, someone.ID, rbac.RoleViewer, rbac.WorkspaceNode(msa.ID))
	aud := env.NewUser(t, a, "auditor")
	groupPath := "/api/v1/groups/" + group.ID.String()

	for _, p := range []string{
		"/api/v1/workspaces", "/api/v1/workspaces/msa~suit", "/api/v1/workspaces/default",
		"/api/v1/workspaces/msa/grants", "/api/v1/workspaces/~/grants", "/api/v1/workspaces/msa~suit/effective-profiles",
		rolesPath, "/api/v1/groups", groupPath, "/api/v1/audit", "/api/v1/users", "/api/v1/users/" + someone.ID.String(),
		"/api/v1/profiles", "/api/v1/admin/tokens", "/api/v1/workspaces/msa~suit/boards",
	} {
		wantReadOK(t, env.Do(http.MethodGet, p, aud.Token, nil), p)
	}
	var ws struct {
		Items []struct {
			Path string `json:"path"`
		} `json:"items"`
	}
	r = env.Do(http.MethodGet, "/api/v1/workspaces", aud.Token, nil)
	r.JSON(t, &ws)
	seen := map[string]bool{}
	for _, w := range ws.Items {
		seen[w.Path] = true
	}
	if !seen["default"] || !seen["msa"] || !seen["msa/suit"] {
		t.Errorf("the auditor's workspace list %s misses some", r.Body)
	}

	writes := []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/api/v1/workspaces", map[string]any{"name": "Mine", "slug": "mine"}},
		{http.MethodPost, "/api/v1/workspaces", map[string]any{"name": "Mine", "slug": "mine", "parent_id": msa.ID}},
		{http.MethodPatch, "/api/v1/workspaces/msa~suit", map[string]any{"description": "audited"}},
		{http.MethodDelete, "/api/v1/workspaces/msa~suit", nil},
		{http.MethodPost, "/api/v1/workspaces/msa/grants", map[string]any{"subject_type": "user", "subject_id": aud.ID, "role": "viewer"}},
		{http.MethodDelete, "/api/v1/workspaces/msa/grants/" + grantID.String(), nil},
		{http.MethodPost, rolesPath, map[string]any{"name": "mine", "permissions": []string{"workspace:read"}}},
		{http.MethodPatch, rolesPath + "/" + custom.ID.String(), map[string]any{"description": "audited"}},
		{http.MethodDelete, rolesPath + "/" + custom.ID.String(), nil},
		{http.MethodPost, "/api/v1/groups", map[string]any{"name": "Auditors' club"}},
		{http.MethodPost, groupPath + "/members", map[string]any{"user_id": aud.ID}},
		{http.MethodDelete, groupPath, nil},
		{http.MethodPost, "/api/v1/users", map[string]any{"email": "new@" + a.Slug + ".test", "password": apptest.Password, "role": "admin"}},
		{http.MethodPatch, "/api/v1/users/" + someone.ID.String(), map[string]any{"disabled": true}},
		{http.MethodPost, "/api/v1/profiles", map[string]any{"type": "quota", "name": "mine", "settings": map[string]any{}}},
		{http.MethodPost, "/api/v1/workspaces/msa~suit/boards", map[string]any{"name": "Mine"}},
	}
	for _, w := range writes {
		r := env.Do(w.method, w.path, aud.Token, w.body)
		if r.Status != http.StatusForbidden || r.ErrorCode() != "forbidden" {
			t.Errorf("auditor %s %s: %d %s, want 403 forbidden", w.method, w.path, r.Status, r.Body)
		}
	}

	// Nothing changed.
	roles := list(t, env, admin)
	if _, ok := roles["mine"]; ok || roles["librarian"].Description != custom.Description {
		t.Error("the auditor changed roles")
	}
	apptest.WantStatus(t, env.Do(http.MethodGet, "/api/v1/workspaces/mine", admin, nil), http.StatusNotFound)
	apptest.WantStatus(t, env.Do(http.MethodGet, "/api/v1/workspaces/msa~mine", admin, nil), http.StatusNotFound)
	apptest.WantStatus(t, env.Do(http.MethodGet, groupPath, admin, nil), http.StatusOK)
	if allowed(t, env.App.Enforcer, a.ID, aud.ID, rbac.WorkspaceNode(msa.ID), rbac.WorkspaceUpdate) {
		t.Error("the auditor gained a write")
	}
	if !allowed(t, env.App.Enforcer, a.ID, someone.ID, rbac.WorkspaceNode(msa.ID), rbac.WorkspaceRead) {
		t.Error("the auditor revoked a grant")
	}
	var me struct {
		Disabled bool `json:"disabled"`
	}
	r = env.Do(http.MethodGet, "/api/v1/users/"+someone.ID.String(), admin, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	r.JSON(t, &me)
	if me.Disabled {
		t.Error("the auditor disabled a user")
	}

	// Every refusal is in the audit log as a denial of the auditor, and nothing as done by them.
	if err := env.App.Audit.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	r = env.Do(http.MethodGet, "/api/v1/audit?limit=100&subject="+aud.ID.String(), admin, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	var log struct {
		Items []auditEntry `json:"items"`
	}
	r.JSON(t, &log)
	var denied int
	for _, e := range log.Items {
		switch e.Result {
		case "deny":
			denied++
		case "allow":
			t.Errorf("the auditor did something: %+v", e)
		}
	}
	if denied < len(writes) {
		t.Errorf("%d audited denials for %d refused writes", denied, len(writes))
	}
}

// sameSet reports whether the role's permissions are exactly want, in any order.
func sameSet(got []string, want []rbac.Action) bool {
	g := append([]string(nil), got...)
	w := make([]string, len(want))
	for i, a := range want {
		w[i] = string(a)
	}
	sort.Strings(g)
	sort.Strings(w)
	return strings.Join(g, ",") == strings.Join(w, ",")
}

func toActions(s []string) []rbac.Action {
	out := make([]rbac.Action, len(s))
	for i, a := range s {
		out[i] = rbac.Action(a)
	}
	return out
}

// isInvalid reports whether r is a 400 invalid naming the field in its details.
func isInvalid(t *testing.T, r apptest.Response, field string) bool {
	t.Helper()
	if r.Status != http.StatusBadRequest || r.ErrorCode() != "invalid" {
		return false
	}
	var e errorBody
	r.JSON(t, &e)
	for _, d := range e.Error.Details {
		if d.Field == field {
			return true
		}
	}
	return false
}

// wantInvalidOrNotFound fails unless a grant of a role that no longer exists is refused as bad
// input or as not found, never made.
func wantInvalidOrNotFound(t *testing.T, r apptest.Response) {
	t.Helper()
	if r.Status != http.StatusBadRequest && r.Status != http.StatusNotFound {
		t.Fatalf("grant of a deleted role: %d %s", r.Status, r.Body)
	}
}

func wantReadOK(t *testing.T, r apptest.Response, what string) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Errorf("auditor GET %s: %d %s, want 200", what, r.Status, r.Body)
	}
}

// Regression: the ceiling check of an update asked the decision point inside the update's
// transaction. When the tenant's policy had just been dropped (a change made on another node),
// the decision point loaded it through a second connection while the transaction held the
// first; on the embedded database, which has exactly one, the request waited forever.
func TestRoles_updateAfterAPolicyChangeDoesNotWaitOnItsOwnTransaction(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *configs.Config) { c.DatabaseURL = "" }) // embedded: one connection
	a := env.SignUp(t)
	lib := define(t, env, a.Admin.Token, "librarian", rbac.WorkspaceRead)
	svc := roles.NewService(env.App.DB, coldAuthorizer{env.App.Enforcer}, nil)
	ctx, cancel := context.WithTimeout(tenancy.WithPrincipal(context.Background(),
		tenancy.Principal{TenantID: a.ID, UserID: a.Admin.ID, Kind: tenancy.CredentialSession}), 10*time.Second)
	defer cancel()

	perms := []rbac.Action{rbac.WorkspaceRead, rbac.WorkspaceUpdate}
	v, err := svc.Update(ctx, lib.ID, roles.UpdateInput{Permissions: &perms})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if !sameSet(v.Permissions, perms) || !sameSet(list(t, env, a.Admin.Token)["librarian"].Permissions, perms) {
		t.Fatalf("updated %+v", v)
	}
	// The ceiling still holds on this path: a steward may not give what they lack, and nothing
	// is written.
	define(t, env, a.Admin.Token, "steward", rbac.RoleRead, rbac.RoleManage, rbac.WorkspaceRead, rbac.WorkspaceUpdate)
	steward := env.NewUser(t, a, "member")
	grant(t, env, a.ID, steward.ID, "steward", rbac.Root)
	asSteward := tenancy.WithPrincipal(ctx, tenancy.Principal{TenantID: a.ID, UserID: steward.ID, Kind: tenancy.CredentialSession})
	more := append(append([]rbac.Action{}, perms...), rbac.WorkspaceDelete)
	if _, err := svc.Update(asSteward, lib.ID, roles.UpdateInput{Permissions: &more}); !apierr.Is(err, apierr.CodeForbidden) {
		t.Fatalf("steward beyond the ceiling: %v", err)
	}
	if _, err := svc.Update(asSteward, lib.ID, roles.UpdateInput{Permissions: &perms}); err != nil {
		t.Fatalf("steward within the ceiling: %v", err)
	}
	if got := list(t, env, a.Admin.Token)["librarian"].Permissions; !sameSet(got, perms) {
		t.Fatalf("librarian holds %v", got)
	}
}

// coldAuthorizer is the enforcer as it is while another node changes the tenant's policy: the
// policy is dropped right before each ceiling check, which therefore loads it afresh.
type coldAuthorizer struct{ e *rbac.Enforcer }

func (c coldAuthorizer) Authorize(ctx context.Context, action rbac.Action, node string) error {
	return c.e.Authorize(ctx, action, node)
}

func (c coldAuthorizer) Allowed(ctx context.Context, tenantID, userID uuid.UUID, node string, action rbac.Action) (bool, error) {
	c.e.Forget(tenantID)
	return c.e.Allowed(ctx, tenantID, userID, node, action)
}

func (c coldAuthorizer) Changed(ctx context.Context, tenantID uuid.UUID) error {
	return c.e.Changed(ctx, tenantID)
}
