package profiles_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/audit"
	"github.com/atelier-hq/atelier/rbac"
)

// The story: a read_only access profile on msa/suit/first stops the writes of everyone
// but tenant admins there and below, while msa/suit stays writable; unassigning it restores the
// writes at once.
func TestProfiles_readOnlyAccessProfileStopsWritesBelowItButTenantAdmins(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "msa", "msa/suit", "msa/suit/first", "msa/suit/first/child")
	editor := w.member(t, rbac.RoleEditor, "msa/suit")
	wsAdmin := w.member(t, rbac.RoleAdmin, "msa/suit")
	tenantAdmin := w.a.Admin

	archived := w.create(t, tenantAdmin.Token, "access", "Archived", map[string]any{"read_only": true})
	apptest.WantStatus(t, w.assign(tenantAdmin.Token, "msa/suit/first", "access", archived.ID), http.StatusOK)

	type who struct {
		name string
		id   uuid.UUID
	}
	people := []who{{"editor", editor.ID}, {"workspace admin", wsAdmin.ID}, {"tenant admin", tenantAdmin.ID}}
	cases := []struct {
		path   string
		action rbac.Action
		want   map[string]bool
	}{
		{"msa/suit/first", rbac.WorkspaceUpdate, map[string]bool{"editor": false, "workspace admin": false, "tenant admin": true}},
		{"msa/suit/first/child", rbac.WorkspaceUpdate, map[string]bool{"editor": false, "workspace admin": false, "tenant admin": true}},
		{"msa/suit/first/child", rbac.WorkspaceDelete, map[string]bool{"editor": false, "workspace admin": false, "tenant admin": true}},
		{"msa/suit/first", rbac.GrantManage, map[string]bool{"editor": false, "workspace admin": false, "tenant admin": true}},
		{"msa/suit/first", rbac.ProfileManage, map[string]bool{"editor": false, "workspace admin": false, "tenant admin": true}},
		{"msa/suit", rbac.WorkspaceUpdate, map[string]bool{"editor": true, "workspace admin": true, "tenant admin": true}},
		{"msa/suit/first", rbac.WorkspaceRead, map[string]bool{"editor": true, "workspace admin": true, "tenant admin": true}},
		{"msa/suit/first/child", rbac.GrantRead, map[string]bool{"editor": false, "workspace admin": true, "tenant admin": true}},
	}
	for _, c := range cases {
		for _, p := range people {
			if got := w.allowed(t, p.id, c.path, c.action); got != c.want[p.name] {
				t.Errorf("%s %s on %s: allowed %v, want %v", p.name, c.action, c.path, got, c.want[p.name])
			}
		}
	}

	// The same through the API.
	for _, c := range []struct {
		name  string
		token string
		path  string
		want  int
	}{
		{"editor below", editor.Token, "msa/suit/first", http.StatusForbidden},
		{"editor further below", editor.Token, "msa/suit/first/child", http.StatusForbidden},
		{"workspace admin below", wsAdmin.Token, "msa/suit/first", http.StatusForbidden},
		{"tenant admin below", tenantAdmin.Token, "msa/suit/first/child", http.StatusOK},
		{"editor above", editor.Token, "msa/suit", http.StatusOK},
		{"workspace admin above", wsAdmin.Token, "msa/suit", http.StatusOK},
	} {
		if got := w.describe(c.token, c.path); got != c.want {
			t.Errorf("%s: PATCH %s = %d, want %d", c.name, c.path, got, c.want)
		}
	}
	apptest.WantStatus(t, w.env.Do(http.MethodGet, wsPath+"/"+ref("msa/suit/first/child"), editor.Token, nil), http.StatusOK)

	// The workspace admin cannot lift it: managing profiles there is a write, too.
	apptest.WantStatus(t, w.unassign(wsAdmin.Token, "msa/suit/first", "access"), http.StatusForbidden)
	empty := w.create(t, tenantAdmin.Token, "access", "Nothing", map[string]any{})
	apptest.WantStatus(t, w.assign(wsAdmin.Token, "msa/suit/first/child", "access", empty.ID), http.StatusForbidden)
	if w.allowed(t, editor.ID, "msa/suit/first/child", rbac.WorkspaceUpdate) {
		t.Fatal("a refused assignment lifted the read-only profile")
	}

	// The tenant admin unassigns it: writes are back at once, on this process's warm policy too.
	apptest.WantStatus(t, w.unassign(tenantAdmin.Token, "msa/suit/first", "access"), http.StatusNoContent)
	for _, p := range people {
		if !w.allowed(t, p.id, "msa/suit/first/child", rbac.WorkspaceUpdate) {
			t.Errorf("%s still may not update msa/suit/first/child after the unassignment", p.name)
		}
	}
	if got := w.describe(editor.Token, "msa/suit/first"); got != http.StatusOK {
		t.Errorf("editor PATCH msa/suit/first after unassignment = %d, want 200", got)
	}
	apptest.WantStatus(t, w.unassign(tenantAdmin.Token, "msa/suit/first", "access"), http.StatusNotFound)

	// Both changes are in the audit log.
	if err := w.env.App.Audit.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := w.env.Do(http.MethodGet, "/api/v1/audit?result=allow&action=profile:manage&object="+w.node("msa/suit/first"), tenantAdmin.Token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	var log page[audit.View]
	r.JSON(t, &log)
	ops := map[string]bool{}
	for _, e := range log.Items {
		var reason map[string]any
		_ = json.Unmarshal(e.Reason, &reason)
		if op, _ := reason["op"].(string); op != "" && e.Subject == rbac.UserSubject(tenantAdmin.ID) {
			ops[op] = true
		}
	}
	if !ops["assign"] || !ops["unassign"] {
		t.Errorf("audit log for %s: %s, want an assign and an unassign by the tenant admin", w.node("msa/suit/first"), r.Body)
	}
}

// A deny list takes exactly the listed actions away from a role; changing or deleting the
// profile takes effect at once.
func TestProfiles_denyListTakesActionsFromOneRoleOnly(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "msa", "msa/suit", "msa/suit/andromeda")
	editor := w.member(t, rbac.RoleEditor, "msa/suit")
	wsAdmin := w.member(t, rbac.RoleAdmin, "msa/suit")
	admin := w.a.Admin.Token

	p := w.create(t, admin, "access", "No editing by editors", map[string]any{"deny": map[string]any{"editor": []string{"workspace:update"}}})
	apptest.WantStatus(t, w.assign(admin, "msa/suit", "access", p.ID), http.StatusOK)

	check := func(stage string, want map[string]bool) {
		t.Helper()
		got := map[string]bool{
			"editor update":    w.allowed(t, editor.ID, "msa/suit/andromeda", rbac.WorkspaceUpdate),
			"editor read":      w.allowed(t, editor.ID, "msa/suit/andromeda", rbac.WorkspaceRead),
			"admin update":     w.allowed(t, wsAdmin.ID, "msa/suit/andromeda", rbac.WorkspaceUpdate),
			"admin create":     w.allowed(t, wsAdmin.ID, "msa/suit/andromeda", rbac.WorkspaceCreate),
			"editor on node":   w.allowed(t, editor.ID, "msa/suit", rbac.WorkspaceUpdate),
			"admin grant:read": w.allowed(t, wsAdmin.ID, "msa/suit", rbac.GrantRead),
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s allowed %v, want %v", stage, k, got[k], v)
			}
		}
	}
	check("assigned", map[string]bool{"editor update": false, "editor read": true, "admin update": true,
		"admin create": true, "editor on node": false, "admin grant:read": true})
	if got := w.describe(editor.Token, "msa/suit/andromeda"); got != http.StatusForbidden {
		t.Errorf("editor PATCH under the deny list = %d, want 403", got)
	}

	// Changing the settings applies at once: the editors get update back, the admins lose create.
	r := w.env.Do(http.MethodPatch, profilesPath+"/"+p.ID.String(), admin,
		map[string]any{"settings": map[string]any{"deny": map[string]any{"admin": []string{"workspace:create"}}}})
	apptest.WantStatus(t, r, http.StatusOK)
	check("changed", map[string]bool{"editor update": true, "admin update": true, "admin create": false})

	// Deleting the profile removes its assignment and its effect.
	apptest.WantStatus(t, w.env.Do(http.MethodDelete, profilesPath+"/"+p.ID.String(), admin, nil), http.StatusNoContent)
	check("deleted", map[string]bool{"editor update": true, "admin create": true})
	if e := w.effective(t, admin, "msa/suit")["access"]; e.Profile != nil || e.From != nil {
		t.Errorf("after delete the effective access profile is %+v, want the defaults", e)
	}
}

// Managing profiles needs profile:manage, which a read-only profile also takes away: nobody
// but a tenant admin can lift an archive. On the tenant root a profile must not take
// profile:manage from admins, or nobody could ever lift it.
func TestProfiles_tenantRootCannotLockAdminsOutOfProfiles(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "msa")
	admin := w.a.Admin.Token
	lock := w.create(t, admin, "access", "Lock", map[string]any{"deny": map[string]any{"admin": []string{"profile:manage"}}})
	apptest.WantInvalid(t, w.assign(admin, "", "access", lock.ID), "profile_id")
	if e := w.effective(t, admin, "")["access"]; e.Profile != nil {
		t.Fatalf("refused assignment was written: %+v", e)
	}

	// On a workspace it is allowed: tenant admins can still edit or delete the profile itself.
	apptest.WantStatus(t, w.assign(admin, "msa", "access", lock.ID), http.StatusOK)
	apptest.WantStatus(t, w.unassign(admin, "msa", "access"), http.StatusForbidden)
	apptest.WantStatus(t, w.env.Do(http.MethodPatch, profilesPath+"/"+lock.ID.String(), admin,
		map[string]any{"settings": map[string]any{}}), http.StatusOK)
	apptest.WantStatus(t, w.unassign(admin, "msa", "access"), http.StatusNoContent)

	// A profile on the root cannot be changed into a lock either.
	open := w.create(t, admin, "access", "Open", map[string]any{"deny": map[string]any{"editor": []string{"workspace:delete"}}})
	apptest.WantStatus(t, w.assign(admin, "", "access", open.ID), http.StatusOK)
	r := w.env.Do(http.MethodPatch, profilesPath+"/"+open.ID.String(), admin,
		map[string]any{"settings": map[string]any{"deny": map[string]any{"admin": []string{"grant:manage", "profile:manage"}}}})
	apptest.WantInvalid(t, r, "settings.deny.admin[1]")
	if !w.allowed(t, w.a.Admin.ID, "", rbac.ProfileManage) {
		t.Fatal("the tenant admin lost profile:manage on the root")
	}
}
