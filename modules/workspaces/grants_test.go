package workspaces_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/workspaces"
	"github.com/atelier-hq/atelier/rbac"
)

// No role can grant more than its holder has: a workspace admin cannot mint a tenant admin, an
// editor cannot grant admin (nor anything), and a custom role that may manage grants hands out
// only roles whose every permission it holds there. Revoking follows the same rule.
func TestGrants_noRoleGrantsMoreThanItsHolderHas(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	// warden may manage grants and read, but not edit.
	tr.tx(t, func(ctx context.Context, tx *gorm.DB) error {
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		// Everything a viewer holds (so it may hand out viewer), plus managing grants.
		perms := append(append([]rbac.Action(nil), rbac.BuiltinRoles()[rbac.RoleViewer]...), rbac.GrantRead, rbac.GrantManage)
		_, err = pol.DefineRole("warden", "manages grants", perms)
		return err
	})
	if err := tr.env.App.Enforcer.Changed(context.Background(), tr.a.ID); err != nil {
		t.Fatal(err)
	}
	wsAdmin, editor, warden := tr.member(t), tr.member(t), tr.member(t)
	tr.mustGrant(t, "msa/suit", wsAdmin.ID, rbac.RoleAdmin)
	editorGrant := tr.mustGrant(t, "msa/suit", editor.ID, rbac.RoleEditor)
	tr.mustGrant(t, "msa/suit", warden.ID, "warden")

	for _, c := range []struct {
		name string
		who  apptest.User
		node string
		role string
		want int
	}{
		{"workspace admin cannot mint a tenant admin", wsAdmin, "~", rbac.RoleAdmin, http.StatusForbidden},
		{"workspace admin cannot grant on the root at all", wsAdmin, "~", rbac.RoleViewer, http.StatusForbidden},
		{"workspace admin cannot grant above its node", wsAdmin, "msa", rbac.RoleViewer, http.StatusNotFound},
		{"workspace admin grants admin on its node", wsAdmin, "msa/suit", rbac.RoleAdmin, http.StatusCreated},
		{"workspace admin grants below its node", wsAdmin, "msa/suit/andromeda", rbac.RoleEditor, http.StatusCreated},
		{"editor cannot grant admin", editor, "msa/suit", rbac.RoleAdmin, http.StatusForbidden},
		{"editor cannot grant even viewer", editor, "msa/suit", rbac.RoleViewer, http.StatusForbidden},
		{"warden grants viewer", warden, "msa/suit", rbac.RoleViewer, http.StatusCreated},
		{"warden grants its own role", warden, "msa/suit/andromeda", "warden", http.StatusCreated},
		{"warden cannot grant editor (no workspace:update)", warden, "msa/suit", rbac.RoleEditor, http.StatusForbidden},
		{"warden cannot grant admin", warden, "msa/suit", rbac.RoleAdmin, http.StatusForbidden},
		{"tenant admin mints a tenant admin", tr.a.Admin, "~", rbac.RoleAdmin, http.StatusCreated},
	} {
		target := tr.member(t)
		r := tr.grant(c.who.Token, c.node, target.ID, c.role, nil)
		if r.Status != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, r.Status, r.Body, c.want)
			continue
		}
		held := tr.count(t, "grants", "subject_id = ?", target.ID)
		if wantHeld := int64(map[bool]int{true: 1}[c.want == http.StatusCreated]); held != wantHeld {
			t.Errorf("%s: the target holds %d grants, want %d", c.name, held, wantHeld)
		}
	}
	denials := tr.auditEntries(t, string(rbac.GrantManage))
	var exceeded int
	for _, e := range denials {
		if e.Result == "deny" && reasonOf(t, e)["rule"] == "the role exceeds the caller's permissions" {
			exceeded++
		}
	}
	if exceeded != 2 {
		t.Errorf("%d audited refusals for exceeding roles, want 2 (warden's)", exceeded)
	}

	// Revoking: warden cannot take away the editor's grant, the workspace admin can.
	path := wsPath + "/msa~suit/grants/" + editorGrant.ID.String()
	apptest.WantStatus(t, tr.env.Do(http.MethodDelete, path, warden.Token, nil), http.StatusForbidden)
	apptest.WantStatus(t, tr.env.Do(http.MethodDelete, path, editor.Token, nil), http.StatusForbidden)
	apptest.WantStatus(t, tr.env.Do(http.MethodDelete, path, wsAdmin.Token, nil), http.StatusNoContent)
	apptest.WantStatus(t, tr.env.Do(http.MethodDelete, path, wsAdmin.Token, nil), http.StatusNotFound)
	if r := tr.env.Do(http.MethodPatch, wsPath+"/msa~suit", editor.Token, map[string]any{"name": "After revoke"}); r.Status != http.StatusNotFound {
		t.Errorf("the revoked editor still edits: %d", r.Status)
	}

	// The tenant admin cannot revoke their own tenant-wide admin grant.
	var roots page[grantView]
	r := tr.env.Do(http.MethodGet, wsPath+"/~/grants", tr.a.Admin.Token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	r.JSON(t, &roots)
	for _, g := range roots.Items {
		if g.SubjectID == tr.a.Admin.ID && g.Role == rbac.RoleAdmin {
			apptest.WantStatus(t, tr.env.Do(http.MethodDelete, wsPath+"/~/grants/"+g.ID.String(), tr.a.Admin.Token, nil), http.StatusConflict)
		}
	}
}

// Grants on a node are listed newest first with who made them; listing needs grant:read there.
// A grant of the same role to the same subject on the same node is a conflict.
func TestGrants_listNewestFirstAndDuplicatesConflict(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	u1, u2, viewer := tr.member(t), tr.member(t), tr.member(t)
	g1 := tr.mustGrant(t, "msa/suit", u1.ID, rbac.RoleEditor)
	g2 := tr.mustGrant(t, "msa/suit", u2.ID, rbac.RoleViewer)
	tr.mustGrant(t, "msa/suit", viewer.ID, rbac.RoleViewer)
	apptest.WantStatus(t, tr.grant(tr.a.Admin.Token, "msa/suit", u1.ID, rbac.RoleEditor, nil), http.StatusConflict)
	apptest.WantStatus(t, tr.grant(tr.a.Admin.Token, "msa/suit/andromeda", u1.ID, rbac.RoleEditor, nil), http.StatusCreated)

	var p page[grantView]
	r := tr.env.Do(http.MethodGet, wsPath+"/msa~suit/grants?limit=2", tr.a.Admin.Token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	r.JSON(t, &p)
	if len(p.Items) != 2 || p.NextCursor == nil || p.Items[1].ID != g2.ID {
		t.Fatalf("first page %+v", p)
	}
	r = tr.env.Do(http.MethodGet, wsPath+"/msa~suit/grants?limit=2&cursor="+*p.NextCursor, tr.a.Admin.Token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	r.JSON(t, &p)
	if len(p.Items) != 1 || p.NextCursor != nil {
		t.Fatalf("second page %+v", p)
	}
	g := p.Items[0]
	if g.ID != g1.ID || g.SubjectID != u1.ID || g.SubjectType != "user" || g.Role != rbac.RoleEditor ||
		g.CreatedBy == nil || *g.CreatedBy != tr.a.Admin.ID || g.ExpiresAt != nil || g.Node != rbac.WorkspaceNode(tr.ws["msa/suit"].ID) {
		t.Errorf("oldest grant %+v", g)
	}
	// The node's viewer may not read its grants (403: the node is visible); a member sees nothing (404).
	apptest.WantStatus(t, tr.env.Do(http.MethodGet, wsPath+"/msa~suit/grants", viewer.Token, nil), http.StatusForbidden)
	apptest.WantStatus(t, tr.env.Do(http.MethodGet, wsPath+"/msa~suit/grants", tr.member(t).Token, nil), http.StatusNotFound)
	apptest.WantStatus(t, tr.env.Do(http.MethodGet, wsPath+"/~/grants", viewer.Token, nil), http.StatusForbidden)
}

// A tenant admin grants a tenant-wide role to a group on the root (`~`): every member holds it
// everywhere; revoking it takes it away at once.
func TestGrants_tenantRootGrantToGroupHoldsEverywhere(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	u := tr.member(t)
	r := tr.env.Do(http.MethodPost, "/api/v1/groups", tr.a.Admin.Token, map[string]any{"name": "Editors"})
	apptest.WantStatus(t, r, http.StatusCreated)
	var group struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &group)
	apptest.WantStatus(t, tr.env.Do(http.MethodPost, "/api/v1/groups/"+group.ID.String()+"/members", tr.a.Admin.Token,
		map[string]any{"user_id": u.ID.String()}), http.StatusCreated)

	r = tr.env.Do(http.MethodPost, wsPath+"/~/grants", tr.a.Admin.Token,
		map[string]any{"subject_type": "group", "subject_id": group.ID, "role": rbac.RoleEditor})
	apptest.WantStatus(t, r, http.StatusCreated)
	var g grantView
	r.JSON(t, &g)
	if g.Node != rbac.Root || g.SubjectType != "group" {
		t.Fatalf("grant %+v", g)
	}
	for _, p := range []string{"default", "msa/rocket", "msa/suit/andromeda"} {
		apptest.WantStatus(t, tr.env.Do(http.MethodPatch, wsPath+"/"+ref(p), u.Token, map[string]any{"description": "by the group"}), http.StatusOK)
	}
	apptest.WantStatus(t, tr.env.Do(http.MethodDelete, wsPath+"/~/grants/"+g.ID.String(), tr.a.Admin.Token, nil), http.StatusNoContent)
	apptest.WantStatus(t, tr.env.Do(http.MethodGet, wsPath+"/default", u.Token, nil), http.StatusNotFound)
}

// The deputy story: a grant until a time a few seconds ahead stops working at that time without
// a restart, although the policy was warm; the periodic purge then removes it, audits it, and
// finds nothing more on a second run. A new grant may replace an expired one before the purge.
func TestGrants_expiringGrantStopsAtItsTimeAndThePurgeRemovesAndAuditsIt(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	deputy, again := tr.member(t), tr.member(t)
	until := time.Now().Add(2 * time.Second)
	r := tr.grant(tr.a.Admin.Token, "msa/suit", deputy.ID, rbac.RoleEditor, &until)
	apptest.WantStatus(t, r, http.StatusCreated)
	var g grantView
	r.JSON(t, &g)
	if g.ExpiresAt == nil || !g.ExpiresAt.Equal(until.UTC().Truncate(time.Microsecond)) && g.ExpiresAt.Sub(until).Abs() > time.Millisecond {
		t.Fatalf("expires_at %v, want %v", g.ExpiresAt, until)
	}
	apptest.WantStatus(t, tr.grant(tr.a.Admin.Token, "msa/suit", again.ID, rbac.RoleViewer, &until), http.StatusCreated)
	// Warm: the deputy edits, which loads and keeps the tenant's policy.
	apptest.WantStatus(t, tr.env.Do(http.MethodPatch, wsPath+"/msa~suit", deputy.Token, map[string]any{"description": "deputy was here"}), http.StatusOK)
	if !tr.allowed(t, deputy.ID, "msa/suit/andromeda", rbac.WorkspaceUpdate) {
		t.Fatal("deputy not allowed below before expiry")
	}

	tr.env.Clock.Advance(until.Sub(tr.env.Clock.Now()) + 100*time.Millisecond)
	if tr.allowed(t, deputy.ID, "msa/suit", rbac.WorkspaceUpdate) {
		t.Error("the expired grant still allows at the decision point")
	}
	if r := tr.env.Do(http.MethodPatch, wsPath+"/msa~suit", deputy.Token, map[string]any{"description": "too late"}); r.Status != http.StatusNotFound {
		t.Errorf("deputy edits after expiry: %d", r.Status)
	}
	if got := tr.list(t, deputy.Token, ""); len(got) != 0 {
		t.Errorf("deputy still lists %v", got)
	}
	// Before the purge, the expired grant is still listed and a fresh grant replaces it.
	if n := tr.count(t, "grants", "subject_id = ?", deputy.ID); n != 1 {
		t.Fatalf("%d grants of the deputy before the purge, want 1", n)
	}
	apptest.WantStatus(t, tr.grant(tr.a.Admin.Token, "msa/suit", again.ID, rbac.RoleViewer, nil), http.StatusCreated)
	apptest.WantStatus(t, tr.env.Do(http.MethodGet, wsPath+"/msa~suit", again.Token, nil), http.StatusOK)

	task, err := workspaces.NewPurgeExpiredGrantsTask()
	if err != nil {
		t.Fatal(err)
	}
	handler := tr.env.App.Workspaces.PurgeExpiredGrantsHandler(tr.env.App.Tenants)
	for run := 0; run < 2; run++ {
		if err := handler.ProcessTask(context.Background(), task); err != nil {
			t.Fatal(err)
		}
		if n := tr.count(t, "grants", "subject_id = ?", deputy.ID); n != 0 {
			t.Fatalf("run %d: %d grants of the deputy left", run, n)
		}
		if n := tr.count(t, "grants", "subject_id = ?", again.ID); n != 1 {
			t.Fatalf("run %d: the replacing grant is gone (%d left)", run, n)
		}
	}
	entries := tr.auditEntries(t, "grant:expire")
	if len(entries) != 2 {
		t.Fatalf("%d grant:expire entries, want 2 (the purged one and the replaced one): %+v", len(entries), entries)
	}
	byObject := map[string]map[string]any{}
	for _, e := range entries {
		if e.Subject != workspaces.SystemSubject || e.Result != "allow" {
			t.Errorf("entry %+v", e)
		}
		byObject[e.Object] = reasonOf(t, e)
	}
	reason := byObject["grant:"+g.ID.String()]
	if reason["role"] != rbac.RoleEditor || reason["subject"] != rbac.UserSubject(deputy.ID) ||
		reason["node"] != rbac.WorkspaceNode(tr.ws["msa/suit"].ID) {
		t.Errorf("audit reason %v", reason)
	}
	if tr.allowed(t, again.ID, "msa/suit", rbac.WorkspaceRead) != true {
		t.Error("the replacing grant does not hold after the purge")
	}
}
