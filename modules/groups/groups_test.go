package groups_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/rbac"
)

// A group is a subject like a user: joining a group that holds editor on msa gives its rights on
// msa and below at once; leaving takes them away at once; deleting the group takes them from
// every member and removes its grants and memberships.
func TestGroups_membersHoldTheGroupsRightsOnlyWhileMembers(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	admin := a.Admin.Token
	msa := addWorkspace(t, env, a.ID, nil, "msa")
	suit := addWorkspace(t, env, a.ID, &msa, "suit")
	rocket := addWorkspace(t, env, a.ID, nil, "rocket")
	curators := create(t, env, admin, "Curators")
	grantGroup(t, env, admin, "msa", curators.ID, rbac.RoleEditor)
	u, other := env.NewUser(t, a, "member"), env.NewUser(t, a, "member")
	edit := func(token, ws string) int {
		return env.Do(http.MethodPatch, "/api/v1/workspaces/"+ws, token, map[string]any{"description": "by a curator"}).Status
	}
	if got := edit(u.Token, "msa~suit"); got != http.StatusNotFound {
		t.Fatalf("before joining: %d, want 404", got)
	}

	apptest.WantStatus(t, addMember(env, admin, curators.ID, u.ID), http.StatusCreated)
	apptest.WantStatus(t, addMember(env, admin, curators.ID, other.ID), http.StatusCreated)
	for _, ws := range []string{"msa", "msa~suit"} {
		if got := edit(u.Token, ws); got != http.StatusOK {
			t.Errorf("member edits %s: %d, want 200", ws, got)
		}
	}
	if got := edit(u.Token, "rocket"); got != http.StatusNotFound {
		t.Errorf("member edits rocket: %d, want 404", got)
	}
	if got := env.Do(http.MethodDelete, "/api/v1/workspaces/msa~suit", u.Token, nil).Status; got != http.StatusForbidden {
		t.Errorf("an editor through the group deletes: %d, want 403", got)
	}
	d := get(t, env, admin, curators.ID)
	if d.MemberCount != 2 || len(d.Members) != 2 || d.Members[0].UserID != u.ID || d.Members[0].DisplayName != "member" {
		t.Fatalf("group %+v", d)
	}

	// Leaving takes the rights away at once, and only from the one who left.
	apptest.WantStatus(t, removeMember(env, admin, curators.ID, u.ID), http.StatusNoContent)
	if got := edit(u.Token, "msa~suit"); got != http.StatusNotFound {
		t.Errorf("after leaving: %d, want 404", got)
	}
	if got := edit(other.Token, "msa~suit"); got != http.StatusOK {
		t.Errorf("the other member after u left: %d, want 200", got)
	}
	apptest.WantError(t, removeMember(env, admin, curators.ID, u.ID), http.StatusNotFound, "not_found")
	apptest.WantError(t, addMember(env, admin, curators.ID, other.ID), http.StatusConflict, "conflict")

	// Deleting the group takes them from everyone, with its grants and memberships.
	apptest.WantStatus(t, env.Do(http.MethodDelete, groupsPath+"/"+curators.ID.String(), admin, nil), http.StatusNoContent)
	if got := edit(other.Token, "msa~suit"); got != http.StatusNotFound {
		t.Errorf("after the group's deletion: %d, want 404", got)
	}
	for _, n := range []string{rbac.WorkspaceNode(msa.ID), rbac.WorkspaceNode(suit.ID), rbac.WorkspaceNode(rocket.ID)} {
		if allowed(t, env, a.ID, other.ID, n, rbac.WorkspaceRead) {
			t.Errorf("a member of the deleted group still reads %s", n)
		}
	}
	if n := count(t, env, a.ID, "grants", "subject_id = ?", curators.ID); n != 0 {
		t.Errorf("%d grants of the deleted group remain", n)
	}
	if n := count(t, env, a.ID, "group_members", "group_id = ?", curators.ID); n != 0 {
		t.Errorf("%d memberships of the deleted group remain", n)
	}
	apptest.WantError(t, env.Do(http.MethodGet, groupsPath+"/"+curators.ID.String(), admin, nil), http.StatusNotFound, "not_found")
	apptest.WantError(t, env.Do(http.MethodDelete, groupsPath+"/"+curators.ID.String(), admin, nil), http.StatusNotFound, "not_found")
	apptest.WantError(t, addMember(env, admin, curators.ID, u.ID), http.StatusNotFound, "not_found")

	// Every change is in the audit log as done by the admin.
	ops := map[string]int{}
	for _, e := range auditOf(t, env, admin, "group:"+curators.ID.String()) {
		if e.Result == "allow" && e.Subject == rbac.UserSubject(a.Admin.ID) {
			op, _ := e.Reason["op"].(string)
			ops[op]++
		}
	}
	if ops["create"] != 1 || ops["add_member"] != 2 || ops["remove_member"] != 1 || ops["delete"] != 1 {
		t.Errorf("audited operations %v", ops)
	}
}

// Groups never cross tenants: another tenant's user cannot be added (400, naming user_id, and
// nothing is written), and another tenant's admin cannot see, change or delete the group (404,
// the same answer as for a group that does not exist).
func TestGroups_anotherTenantsUsersAndGroupsAreOutOfReach(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a, b := env.SignUp(t), env.SignUp(t)
	msa := addWorkspace(t, env, a.ID, nil, "msa")
	g := create(t, env, a.Admin.Token, "Curators")
	grantGroup(t, env, a.Admin.Token, "msa", g.ID, rbac.RoleEditor)
	bUser := env.NewUser(t, b, "member")
	aUser := env.NewUser(t, a, "member")
	apptest.WantStatus(t, addMember(env, a.Admin.Token, g.ID, aUser.ID), http.StatusCreated)

	for _, u := range []uuid.UUID{bUser.ID, b.Admin.ID, uuid.New()} {
		apptest.WantInvalid(t, addMember(env, a.Admin.Token, g.ID, u), "user_id")
	}
	if n := count(t, env, a.ID, "group_members", "group_id = ?", g.ID); n != 1 {
		t.Errorf("%d memberships, want 1", n)
	}
	if allowed(t, env, b.ID, bUser.ID, rbac.WorkspaceNode(msa.ID), rbac.WorkspaceRead) ||
		allowed(t, env, a.ID, bUser.ID, rbac.WorkspaceNode(msa.ID), rbac.WorkspaceRead) {
		t.Error("tenant B's user got the group's rights")
	}

	missing := env.Do(http.MethodGet, groupsPath+"/"+uuid.NewString(), b.Admin.Token, nil)
	apptest.WantError(t, missing, http.StatusNotFound, "not_found")
	for _, r := range []apptest.Response{
		env.Do(http.MethodGet, groupsPath+"/"+g.ID.String(), b.Admin.Token, nil),
		env.Do(http.MethodDelete, groupsPath+"/"+g.ID.String(), b.Admin.Token, nil),
		addMember(env, b.Admin.Token, g.ID, bUser.ID),
		removeMember(env, b.Admin.Token, g.ID, aUser.ID),
	} {
		apptest.WantError(t, r, http.StatusNotFound, "not_found")
		if string(r.Body) != string(missing.Body) {
			t.Errorf("body %s differs from a missing group's %s", r.Body, missing.Body)
		}
	}
	r := env.Do(http.MethodGet, groupsPath, b.Admin.Token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	var p page
	r.JSON(t, &p)
	if len(p.Items) != 0 {
		t.Errorf("tenant B lists %+v", p.Items)
	}
	// The same name is free in tenant B; tenant A's group is untouched.
	create(t, env, b.Admin.Token, "Curators")
	if d := get(t, env, a.Admin.Token, g.ID); d.MemberCount != 1 || d.Members[0].UserID != aUser.ID {
		t.Errorf("tenant A's group after B's attempts: %+v", d)
	}
	if !allowed(t, env, a.ID, aUser.ID, rbac.WorkspaceNode(msa.ID), rbac.WorkspaceUpdate) {
		t.Error("the member lost the group's rights")
	}
}

// Names are unique in the tenant ignoring case; bad input is refused with the field at fault and
// writes nothing.
func TestGroups_badInputIsRefusedAndWritesNothing(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	admin := a.Admin.Token
	g := create(t, env, admin, "Editors")

	apptest.WantError(t, env.Do(http.MethodPost, groupsPath, admin, map[string]any{"name": "editors"}), http.StatusConflict, "conflict")
	apptest.WantError(t, env.Do(http.MethodPost, groupsPath, admin, map[string]any{"name": "  EDITORS "}), http.StatusConflict, "conflict")
	for _, c := range []struct {
		name  string
		body  any
		field string
	}{
		{"empty name", map[string]any{"name": ""}, "name"},
		{"blank name", map[string]any{"name": "   "}, "name"},
		{"no name", map[string]any{"description": "x"}, "name"},
		{"long name", map[string]any{"name": strings.Repeat("g", 101)}, "name"},
		{"NUL in the name", map[string]any{"name": "a\x00b"}, "name"},
		{"long description", map[string]any{"name": "Fine", "description": strings.Repeat("d", 501)}, "description"},
		{"unknown field", map[string]any{"name": "Fine", "owner": "me"}, "owner"},
	} {
		r := env.Do(http.MethodPost, groupsPath, admin, c.body)
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Details []struct {
					Field string `json:"field"`
				} `json:"details"`
			} `json:"error"`
		}
		r.JSON(t, &e)
		if r.Status != http.StatusBadRequest || e.Error.Code != "invalid" || len(e.Error.Details) == 0 || e.Error.Details[0].Field != c.field {
			t.Errorf("%s: %d %s, want 400 invalid on %q", c.name, r.Status, r.Body, c.field)
		}
	}
	members := groupsPath + "/" + g.ID.String() + "/members"
	apptest.WantInvalid(t, env.Do(http.MethodPost, members, admin, map[string]any{"user_id": "not-a-uuid"}), "user_id")
	apptest.WantInvalid(t, env.Do(http.MethodPost, members, admin, map[string]any{}), "user_id")
	apptest.WantError(t, env.Do(http.MethodPost, groupsPath+"/"+uuid.NewString()+"/members", admin, map[string]any{"user_id": a.Admin.ID}), http.StatusNotFound, "not_found")
	apptest.WantError(t, env.Do(http.MethodGet, groupsPath+"/not-a-uuid", admin, nil), http.StatusNotFound, "not_found")

	if n := count(t, env, a.ID, "groups", "1 = 1"); n != 1 {
		t.Errorf("%d groups, want 1", n)
	}
	if n := count(t, env, a.ID, "group_members", "1 = 1"); n != 0 {
		t.Errorf("%d memberships, want 0", n)
	}
}

// Listing pages through the groups by cursor, with member counts.
func TestGroups_listPagesWithMemberCounts(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	admin := a.Admin.Token
	u := env.NewUser(t, a, "member")
	var ids []uuid.UUID
	for _, name := range []string{"One", "Two", "Three"} {
		ids = append(ids, create(t, env, admin, name).ID)
	}
	apptest.WantStatus(t, addMember(env, admin, ids[1], u.ID), http.StatusCreated)
	apptest.WantStatus(t, addMember(env, admin, ids[1], a.Admin.ID), http.StatusCreated)

	counts := map[uuid.UUID]int64{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		r := env.Do(http.MethodGet, groupsPath+"?limit=2"+cursor, admin, nil)
		apptest.WantStatus(t, r, http.StatusOK)
		var p page
		r.JSON(t, &p)
		if len(p.Items) > 2 {
			t.Fatalf("page of %d", len(p.Items))
		}
		for _, v := range p.Items {
			if _, dup := counts[v.ID]; dup {
				t.Fatalf("group %s on two pages", v.ID)
			}
			counts[v.ID] = v.MemberCount
		}
		if p.NextCursor == nil {
			break
		}
		cursor = "&cursor=" + *p.NextCursor
	}
	if len(counts) != 3 || counts[ids[0]] != 0 || counts[ids[1]] != 2 || counts[ids[2]] != 0 {
		t.Errorf("listed %v", counts)
	}
}

// Nobody can make someone a member of a group that holds more than they do: a "group keeper" who
// may manage groups but holds nothing on msa cannot put anyone in a group that edits msa (403,
// audited, nothing written), but fills a group that holds nothing.
func TestGroups_aMembershipCannotGiveMoreThanItsAuthorHolds(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	a := env.SignUp(t)
	admin := a.Admin.Token
	addWorkspace(t, env, a.ID, nil, "msa")
	r := env.Do(http.MethodPost, "/api/v1/roles", admin, map[string]any{"name": "group-keeper",
		"permissions": []string{"group:read", "group:manage"}})
	apptest.WantStatus(t, r, http.StatusCreated)
	keeper := env.NewUser(t, a, "member")
	r = env.Do(http.MethodPost, "/api/v1/workspaces/~/grants", admin,
		map[string]any{"subject_type": "user", "subject_id": keeper.ID, "role": "group-keeper"})
	apptest.WantStatus(t, r, http.StatusCreated)

	editors := create(t, env, admin, "Editors")
	grantGroup(t, env, admin, "msa", editors.ID, rbac.RoleEditor)
	empty := create(t, env, keeper.Token, "Nothing yet")
	u := env.NewUser(t, a, "member")

	apptest.WantError(t, addMember(env, keeper.Token, editors.ID, u.ID), http.StatusForbidden, "forbidden")
	apptest.WantError(t, addMember(env, keeper.Token, editors.ID, keeper.ID), http.StatusForbidden, "forbidden")
	if n := count(t, env, a.ID, "group_members", "group_id = ?", editors.ID); n != 0 {
		t.Errorf("%d memberships written by a refused request", n)
	}
	apptest.WantStatus(t, addMember(env, keeper.Token, empty.ID, u.ID), http.StatusCreated)
	apptest.WantStatus(t, addMember(env, admin, editors.ID, u.ID), http.StatusCreated)

	var refused int
	for _, e := range auditOf(t, env, admin, "group:"+editors.ID.String()) {
		if e.Result == "deny" && e.Subject == rbac.UserSubject(keeper.ID) && e.Reason["rule"] == "a membership cannot give more than its author holds" {
			refused++
		}
	}
	if refused != 2 {
		t.Errorf("%d audited refusals, want 2", refused)
	}
	// Members, viewers and editors of workspaces manage no groups.
	apptest.WantError(t, env.Do(http.MethodPost, groupsPath, u.Token, map[string]any{"name": "Mine"}), http.StatusForbidden, "forbidden")
	apptest.WantError(t, env.Do(http.MethodGet, groupsPath, u.Token, nil), http.StatusForbidden, "forbidden")
}
