package workspaces_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/rbac"
)

// The first story: a viewer on msa reads msa/suit/andromeda and changes nothing; an
// editor on msa/suit edits there but not in msa/rocket (which they cannot even see).
func TestWorkspaces_viewerOnParentReadsBelowAndEditorEditsOnlyInItsSubtree(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	viewer, editor := tr.member(t), tr.member(t)
	tr.mustGrant(t, "msa", viewer.ID, rbac.RoleViewer)
	tr.mustGrant(t, "msa/suit", editor.ID, rbac.RoleEditor)
	before := tr.paths(t)

	rename := map[string]any{"name": "Renamed"}
	for _, c := range []struct {
		name   string
		who    apptest.User
		method string
		path   string
		body   any
		want   int
	}{
		{"viewer reads the grandchild", viewer, http.MethodGet, "msa~suit~andromeda", nil, http.StatusOK},
		{"viewer reads the node", viewer, http.MethodGet, "msa", nil, http.StatusOK},
		{"viewer cannot rename the grandchild", viewer, http.MethodPatch, "msa~suit~andromeda", rename, http.StatusForbidden},
		{"viewer cannot rename the node", viewer, http.MethodPatch, "msa", rename, http.StatusForbidden},
		{"viewer cannot delete", viewer, http.MethodDelete, "msa~suit~andromeda", nil, http.StatusForbidden},
		{"viewer cannot create below", viewer, http.MethodPost, "", map[string]any{"name": "X", "slug": "x", "parent_id": tr.ws["msa/suit"].ID}, http.StatusForbidden},
		{"viewer cannot grant", viewer, http.MethodPost, "msa~suit~andromeda/grants", map[string]any{"subject_type": "user", "subject_id": viewer.ID, "role": "viewer"}, http.StatusForbidden},
		{"viewer cannot move", viewer, http.MethodPatch, "msa~suit~andromeda", map[string]any{"parent_id": tr.ws["msa/rocket"].ID}, http.StatusForbidden},
		{"viewer cannot send a PATCH that changes nothing", viewer, http.MethodPatch, "msa~suit", map[string]any{"slug": "suit", "parent_id": tr.ws["msa"].ID}, http.StatusForbidden},
		{"editor renames the node", editor, http.MethodPatch, "msa~suit", rename, http.StatusOK},
		{"editor renames below", editor, http.MethodPatch, "msa~suit~andromeda", map[string]any{"description": "edited"}, http.StatusOK},
		{"editor cannot see rocket", editor, http.MethodGet, "msa~rocket", nil, http.StatusNotFound},
		{"editor cannot rename rocket", editor, http.MethodPatch, "msa~rocket", rename, http.StatusNotFound},
		{"editor cannot see the parent", editor, http.MethodGet, "msa", nil, http.StatusNotFound},
		{"editor cannot delete", editor, http.MethodDelete, "msa~suit~andromeda", nil, http.StatusForbidden},
		{"editor cannot create below", editor, http.MethodPost, "", map[string]any{"name": "X", "slug": "x", "parent_id": tr.ws["msa/suit"].ID}, http.StatusForbidden},
		{"editor cannot rename the slug (a move)", editor, http.MethodPatch, "msa~suit~andromeda", map[string]any{"slug": "andro"}, http.StatusForbidden},
	} {
		path := wsPath
		if c.path != "" {
			path += "/" + c.path
		}
		if r := tr.env.Do(c.method, path, c.who.Token, c.body); r.Status != c.want {
			t.Errorf("%s: %s %s answered %d %s, want %d", c.name, c.method, path, r.Status, r.Body, c.want)
		}
	}
	if after := tr.paths(t); !mapsEqual(before, after) {
		t.Errorf("the tree changed: %v → %v", before, after)
	}
	names := map[string]string{}
	for _, p := range []string{"msa", "msa/suit", "msa/suit/andromeda", "msa/rocket"} {
		names[p] = tr.get(t, tr.a.Admin.Token, p).Name
	}
	want := map[string]string{"msa": "Workspace msa", "msa/suit": "Renamed", "msa/suit/andromeda": "Workspace msa/suit/andromeda",
		"msa/rocket": "Workspace msa/rocket"}
	if !mapsEqual(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
}

// A 3-level subtree keeps every path consistent through a slug rename, a move under another
// parent and a move to the root; a sibling whose slug merely starts with the same letters is
// never touched; and the policy follows the moves (a grant on the old parent stops applying).
func TestWorkspaces_renameAndMoveKeepSubtreePathsAndPolicyConsistent(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	for _, p := range []string{"proj", "proj/a", "proj/a/b", "proj/a/b/c", "proj/ab"} {
		tr.create(t, tr.a.Admin.Token, p)
	}
	rocketEditor := tr.member(t)
	tr.mustGrant(t, "msa/rocket", rocketEditor.ID, rbac.RoleEditor)
	a, c := tr.ws["proj/a"].ID, tr.ws["proj/a/b/c"].ID

	steps := []struct {
		name       string
		body       map[string]any
		wantPaths  []string // the subtree of a after the step
		rocketEdit bool     // rocket's editor may edit c
	}{
		{"rename the slug", map[string]any{"slug": "alpha"}, []string{"proj/alpha", "proj/alpha/b", "proj/alpha/b/c"}, false},
		{"move under msa/rocket", map[string]any{"parent_id": tr.ws["msa/rocket"].ID}, []string{"msa/rocket/alpha", "msa/rocket/alpha/b", "msa/rocket/alpha/b/c"}, true},
		{"move to the root and rename at once", map[string]any{"parent_id": nil, "slug": "top"}, []string{"top", "top/b", "top/b/c"}, false},
	}
	for _, s := range steps {
		r := tr.env.Do(http.MethodPatch, wsPath+"/"+a.String(), tr.a.Admin.Token, s.body)
		apptest.WantStatus(t, r, http.StatusOK)
		paths := tr.paths(t)
		for _, p := range s.wantPaths {
			if _, ok := paths[p]; !ok {
				t.Fatalf("%s: path %s missing from %v", s.name, p, paths)
			}
		}
		if paths["proj/ab"] != tr.ws["proj/ab"].ID || paths["proj"] != tr.ws["proj"].ID {
			t.Fatalf("%s: a bystander moved: %v", s.name, paths)
		}
		if len(paths) != 10 { // default, the 4 of the tree, proj, proj/ab, and a, b, c
			t.Fatalf("%s: %d workspaces, want 10: %v", s.name, len(paths), paths)
		}
		got := tr.get(t, tr.a.Admin.Token, s.wantPaths[2])
		if got.ID != c {
			t.Fatalf("%s: %s is %s, want c (%s)", s.name, s.wantPaths[2], got.ID, c)
		}
		// The parent recorded on each row agrees with its path.
		var rows []struct {
			Path     string
			Parent   *string
			ParentID *uuid.UUID
		}
		tr.tx(t, func(_ context.Context, tx *gorm.DB) error {
			return tx.Raw(`SELECT w.path, p.path AS parent, w.parent_id FROM workspaces w
				LEFT JOIN workspaces p ON p.tenant_id = w.tenant_id AND p.id = w.parent_id WHERE w.tenant_id = ?`, tr.a.ID).Scan(&rows).Error
		})
		for _, row := range rows {
			i := strings.LastIndex(row.Path, "/")
			switch {
			case i < 0 && row.ParentID != nil, i >= 0 && (row.Parent == nil || *row.Parent != row.Path[:i]):
				t.Fatalf("%s: %s has parent %v", s.name, row.Path, row.Parent)
			}
		}
		r = tr.env.Do(http.MethodPatch, wsPath+"/"+c.String(), rocketEditor.Token, map[string]any{"description": s.name})
		if ok := r.Status == http.StatusOK; ok != s.rocketEdit {
			t.Fatalf("%s: rocket's editor edits c: %d, want allowed=%v", s.name, r.Status, s.rocketEdit)
		}
	}
	// Old paths no longer resolve.
	for _, old := range []string{"proj~a", "proj~alpha~b", "msa~rocket~alpha"} {
		if r := tr.env.Do(http.MethodGet, wsPath+"/"+old, tr.a.Admin.Token, nil); r.Status != http.StatusNotFound {
			t.Errorf("old path %s: %d, want 404", old, r.Status)
		}
	}
	// A sibling slug clash is a conflict and changes nothing.
	before := tr.paths(t)
	r := tr.env.Do(http.MethodPatch, wsPath+"/top", tr.a.Admin.Token, map[string]any{"slug": "msa"})
	apptest.WantStatus(t, r, http.StatusConflict)
	r = tr.env.Do(http.MethodPatch, wsPath+"/proj~ab", tr.a.Admin.Token, map[string]any{"parent_id": nil, "slug": "top"})
	apptest.WantStatus(t, r, http.StatusConflict)
	if after := tr.paths(t); !mapsEqual(before, after) {
		t.Errorf("a refused move changed the tree: %v → %v", before, after)
	}
}

// A workspace never moves under itself or its own descendants.
func TestWorkspaces_moveUnderItselfOrItsDescendantIsBadInput(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	before := tr.paths(t)
	for _, target := range []string{"msa", "msa/suit", "msa/suit/andromeda"} {
		r := tr.env.Do(http.MethodPatch, wsPath+"/msa", tr.a.Admin.Token, map[string]any{"parent_id": tr.ws[target].ID})
		apptest.WantInvalid(t, r, "parent_id")
	}
	if after := tr.paths(t); !mapsEqual(before, after) {
		t.Errorf("the tree changed: %v → %v", before, after)
	}
}

// The default workspace cannot be moved, re-slugged or deleted, even by the tenant admin; it
// can be described.
func TestWorkspaces_defaultWorkspaceNeverMovesNorGoes(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	def := tr.ws["default"].ID.String()
	for _, c := range []struct {
		method string
		path   string
		body   any
		want   int
	}{
		{http.MethodPatch, "default", map[string]any{"slug": "other"}, http.StatusConflict},
		{http.MethodPatch, def, map[string]any{"parent_id": tr.ws["msa"].ID}, http.StatusConflict},
		{http.MethodDelete, "default", nil, http.StatusConflict},
		{http.MethodDelete, def + "?cascade=true", nil, http.StatusConflict},
		{http.MethodPatch, "default", map[string]any{"name": "Everything else", "color": "#abcdef"}, http.StatusOK},
	} {
		if r := tr.env.Do(c.method, wsPath+"/"+c.path, tr.a.Admin.Token, c.body); r.Status != c.want {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, r.Status, r.Body, c.want)
		}
	}
	got := tr.get(t, tr.a.Admin.Token, "default")
	if got.ID != tr.ws["default"].ID || got.Path != "default" || got.ParentID != nil || got.Name != "Everything else" {
		t.Errorf("default is now %+v", got)
	}
	// Sign-up linked it under the tenant root: tenant-wide grants hold in it.
	tenantViewer := tr.env.NewUser(t, tr.a, "viewer")
	if r := tr.env.Do(http.MethodGet, wsPath+"/default", tenantViewer.Token, nil); r.Status != http.StatusOK {
		t.Errorf("tenant viewer reads default: %d", r.Status)
	}
}

// Deleting a workspace with children is refused (nothing goes); with cascade the whole subtree
// goes in one transaction with its grants and their policy links, so a workspace later created
// at the same path is not covered by the old grants.
func TestWorkspaces_deleteRefusesChildrenAndCascadeRemovesSubtreeAndItsGrants(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	u := tr.member(t)
	g := tr.mustGrant(t, "msa/suit/andromeda", u.ID, rbac.RoleEditor)
	tr.mustGrant(t, "msa/suit", u.ID, rbac.RoleViewer)
	nodes := []string{rbac.WorkspaceNode(tr.ws["msa/suit"].ID), rbac.WorkspaceNode(tr.ws["msa/suit/andromeda"].ID)}
	before := tr.paths(t)

	r := tr.env.Do(http.MethodDelete, wsPath+"/msa~suit", tr.a.Admin.Token, nil)
	apptest.WantStatus(t, r, http.StatusConflict)
	if !bytes.Contains(r.Body, []byte("1 child workspace")) {
		t.Errorf("refusal does not say what is held: %s", r.Body)
	}
	if after := tr.paths(t); !mapsEqual(before, after) {
		t.Fatalf("a refused delete changed the tree: %v → %v", before, after)
	}
	if r := tr.env.Do(http.MethodDelete, wsPath+"/msa~suit?cascade=maybe", tr.a.Admin.Token, nil); r.Status != http.StatusBadRequest {
		t.Fatalf("cascade=maybe: %d, want 400", r.Status)
	}

	r = tr.env.Do(http.MethodDelete, wsPath+"/msa~suit?cascade=true", tr.a.Admin.Token, nil)
	apptest.WantStatus(t, r, http.StatusNoContent)
	after := tr.paths(t)
	for _, p := range []string{"msa/suit", "msa/suit/andromeda"} {
		if _, ok := after[p]; ok {
			t.Errorf("%s survived the cascade", p)
		}
	}
	if len(after) != len(before)-2 {
		t.Errorf("%d workspaces left, want %d: %v", len(after), len(before)-2, after)
	}
	if n := tr.count(t, "grants", "subject_id = ?", u.ID); n != 0 {
		t.Errorf("%d grants of the user survived", n)
	}
	if n := tr.count(t, "casbin_rule", "v0 IN ? OR v1 IN ?", nodes, nodes); n != 0 {
		t.Errorf("%d policy rules of the deleted nodes survived", n)
	}
	// The same paths again: the old grants authorize nothing there.
	tr.create(t, tr.a.Admin.Token, "msa/suit")
	tr.create(t, tr.a.Admin.Token, "msa/suit/andromeda")
	for _, p := range []string{"msa~suit", "msa~suit~andromeda"} {
		if r := tr.env.Do(http.MethodGet, wsPath+"/"+p, u.Token, nil); r.Status != http.StatusNotFound {
			t.Errorf("old grantee reads the re-created %s: %d, want 404", p, r.Status)
		}
	}
	if r := tr.env.Do(http.MethodGet, wsPath, u.Token, nil); !bytes.Contains(r.Body, []byte(`"items":[]`)) {
		t.Errorf("old grantee still lists: %s", r.Body)
	}
	// A grant id of the deleted node is gone everywhere.
	if r := tr.env.Do(http.MethodDelete, wsPath+"/msa~suit~andromeda/grants/"+g.ID.String(), tr.a.Admin.Token, nil); r.Status != http.StatusNotFound {
		t.Errorf("revoke of the deleted grant: %d, want 404", r.Status)
	}
	// A leaf goes without cascade; the delete is audited.
	apptest.WantStatus(t, tr.env.Do(http.MethodDelete, wsPath+"/msa~suit~andromeda", tr.a.Admin.Token, nil), http.StatusNoContent)
	entries := tr.auditEntries(t, string(rbac.WorkspaceDelete))
	if len(entries) != 2 || entries[0].Result != "allow" || reasonOf(t, entries[0])["cascade"] != true ||
		entries[0].Subject != rbac.UserSubject(tr.a.Admin.ID) {
		t.Errorf("audit of deletes: %+v", entries)
	}
}

// fakeContents is another module's objects, held per workspace.
type fakeContents struct {
	mu      sync.Mutex
	held    map[uuid.UUID]int64
	deleted []uuid.UUID
}

func (f *fakeContents) Count(_ context.Context, _ *gorm.DB, ids []uuid.UUID) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var n int64
	for _, id := range ids {
		n += f.held[id]
	}
	return n, nil
}

func (f *fakeContents) DeleteIn(_ context.Context, _ *gorm.DB, ids []uuid.UUID) (func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		if f.held[id] > 0 {
			f.deleted = append(f.deleted, id)
			delete(f.held, id)
		}
	}
	return nil, nil
}

// A module that keeps objects in workspaces makes a delete refuse while any are held, and its
// objects go with a cascade.
func TestWorkspaces_deleteAsksRegisteredContents(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	boards := &fakeContents{held: map[uuid.UUID]int64{tr.ws["msa/rocket"].ID: 3}}
	tr.env.App.Workspaces.RegisterContents("boards", boards)

	r := tr.env.Do(http.MethodDelete, wsPath+"/msa~rocket", tr.a.Admin.Token, nil)
	apptest.WantStatus(t, r, http.StatusConflict)
	if !bytes.Contains(r.Body, []byte("3 boards")) {
		t.Errorf("refusal does not count the boards: %s", r.Body)
	}
	apptest.WantStatus(t, tr.env.Do(http.MethodDelete, wsPath+"/msa~rocket?cascade=true", tr.a.Admin.Token, nil), http.StatusNoContent)
	if len(boards.deleted) != 1 || boards.deleted[0] != tr.ws["msa/rocket"].ID {
		t.Errorf("deleted boards in %v", boards.deleted)
	}
	// An empty leaf goes without cascade.
	apptest.WantStatus(t, tr.env.Do(http.MethodDelete, wsPath+"/msa~suit~andromeda", tr.a.Admin.Token, nil), http.StatusNoContent)
}

// The listing shows exactly the subtrees the caller may read, filtered in SQL and paged.
func TestWorkspaces_listShowsExactlyTheVisibleSubtrees(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	suitViewer, nobody := tr.member(t), tr.member(t)
	tr.mustGrant(t, "msa/suit", suitViewer.ID, rbac.RoleViewer)
	tenantAuditor := tr.env.NewUser(t, tr.a, "auditor")
	all := []string{"default", "msa", "msa/rocket", "msa/suit", "msa/suit/andromeda"}

	for _, c := range []struct {
		name  string
		token string
		query string
		want  []string
	}{
		{"a grant on msa/suit shows suit and below", suitViewer.Token, "", []string{"msa/suit", "msa/suit/andromeda"}},
		{"children of a visible node", suitViewer.Token, "&parent=msa~suit", []string{"msa/suit/andromeda"}},
		{"children by id", suitViewer.Token, "&parent=" + tr.ws["msa/suit"].ID.String(), []string{"msa/suit/andromeda"}},
		{"nothing visible at the top", suitViewer.Token, "&parent=~", nil},
		{"no grant, nothing", nobody.Token, "", nil},
		{"tenant admin sees all", tr.a.Admin.Token, "", all},
		{"tenant auditor sees all", tenantAuditor.Token, "", all},
		{"top level", tr.a.Admin.Token, "&parent=~", []string{"default", "msa"}},
		{"children of msa", tr.a.Admin.Token, "&parent=msa", []string{"msa/rocket", "msa/suit"}},
	} {
		got := tr.list(t, c.token, c.query)
		sort.Strings(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if r := tr.env.Do(http.MethodGet, wsPath+"?parent=msa", suitViewer.Token, nil); r.Status != http.StatusNotFound {
		t.Errorf("children of an invisible parent: %d, want 404", r.Status)
	}
	if r := tr.env.Do(http.MethodGet, wsPath, "", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("anonymous listing: %d, want 401", r.Status)
	}
}

// Another tenant's workspace, by id or by path, is the same 404 as a missing one, for every
// route; it cannot be a parent either.
func TestWorkspaces_otherTenantsWorkspacesAreIndistinguishableFromMissing(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	b := tr.env.SignUp(t)
	var bWs view
	r := tr.env.Do(http.MethodPost, wsPath, b.Admin.Token, map[string]any{"name": "B only", "slug": "bonly"})
	apptest.WantStatus(t, r, http.StatusCreated)
	r.JSON(t, &bWs)
	bUser := tr.env.NewUser(t, b, "member")
	r = tr.env.Do(http.MethodPost, wsPath+"/bonly/grants", b.Admin.Token, map[string]any{"subject_type": "user", "subject_id": bUser.ID, "role": "viewer"})
	apptest.WantStatus(t, r, http.StatusCreated)
	var bGrant grantView
	r.JSON(t, &bGrant)

	var reference []byte
	for _, target := range []string{bWs.ID.String(), "bonly", uuid.NewString(), "nope~nothing", "NOT_A_SLUG"} {
		for _, c := range []struct {
			method, suffix string
			body           any
		}{
			{http.MethodGet, "", nil},
			{http.MethodPatch, "", map[string]any{"name": "Owned"}},
			{http.MethodPatch, "", map[string]any{"parent_id": nil, "slug": "moved"}},
			{http.MethodDelete, "?cascade=true", nil},
			{http.MethodGet, "/grants", nil},
			{http.MethodPost, "/grants", map[string]any{"subject_type": "user", "subject_id": tr.a.Admin.ID, "role": "viewer"}},
			{http.MethodDelete, "/grants/" + bGrant.ID.String(), nil},
		} {
			r := tr.env.Do(c.method, wsPath+"/"+target+c.suffix, tr.a.Admin.Token, c.body)
			if r.Status != http.StatusNotFound {
				t.Errorf("%s %s%s: %d %s, want 404", c.method, target, c.suffix, r.Status, r.Body)
				continue
			}
			if reference == nil {
				reference = r.Body
			}
			if !bytes.Equal(r.Body, reference) {
				t.Errorf("%s %s%s: body %s differs from %s", c.method, target, c.suffix, r.Body, reference)
			}
		}
	}
	// B's grant id through A's own nodes is not found either.
	for _, node := range []string{"~", "msa"} {
		if r := tr.env.Do(http.MethodDelete, wsPath+"/"+node+"/grants/"+bGrant.ID.String(), tr.a.Admin.Token, nil); r.Status != http.StatusNotFound {
			t.Errorf("B's grant through %s: %d, want 404", node, r.Status)
		}
	}
	r = tr.env.Do(http.MethodPost, wsPath, tr.a.Admin.Token, map[string]any{"name": "Stray", "slug": "stray", "parent_id": bWs.ID})
	apptest.WantInvalid(t, r, "parent_id")
	// B's tree and grant are intact, and listing in A never shows B's workspace.
	if r := tr.env.Do(http.MethodGet, wsPath+"/bonly", bUser.Token, nil); r.Status != http.StatusOK {
		t.Errorf("B's grantee reads bonly: %d", r.Status)
	}
	if got := tr.list(t, tr.a.Admin.Token, ""); slices.Contains(got, "bonly") {
		t.Errorf("A lists B's workspace: %v", got)
	}
}

// The tree is at most MaxDepth levels deep, and a grant on the tenant root holds at the bottom.
func TestWorkspaces_deepestLevelInheritsTenantGrantsAndDeeperIsRefused(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	path := ""
	for i := 1; i <= 12; i++ {
		if path != "" {
			path += "/"
		}
		path += "l" + string(rune('a'+i-1))
		tr.create(t, tr.a.Admin.Token, path)
	}
	editor := tr.env.NewUser(t, tr.a, "editor")
	r := tr.env.Do(http.MethodPatch, wsPath+"/"+ref(path), editor.Token, map[string]any{"name": "Deep"})
	apptest.WantStatus(t, r, http.StatusOK)
	r = tr.env.Do(http.MethodPost, wsPath, tr.a.Admin.Token, tr.createBody(path+"/toodeep"))
	apptest.WantInvalid(t, r, "parent_id")
	// Moving msa (2 levels) under the 11th level would make 13.
	r = tr.env.Do(http.MethodPatch, wsPath+"/msa~suit", tr.a.Admin.Token, map[string]any{"parent_id": tr.ws[path[:strings.LastIndex(path, "/")]].ID})
	apptest.WantInvalid(t, r, "parent_id")
}

// Bad input is a 400 naming the field, and writes nothing.
func TestWorkspaces_badInputIsRefusedAndWritesNothing(t *testing.T) {
	t.Parallel()
	tr := newTree(t)
	b := tr.env.SignUp(t)
	var bDefault view
	r := tr.env.Do(http.MethodGet, wsPath+"/default", b.Admin.Token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	r.JSON(t, &bDefault)
	before := tr.paths(t)
	suit := tr.ws["msa/suit"].ID

	creates := []struct {
		name  string
		body  any
		field string
	}{
		{"bad slug", map[string]any{"name": "X", "slug": "Bad_Slug"}, "slug"},
		{"slug starting with a dash", map[string]any{"name": "X", "slug": "-x"}, "slug"},
		{"slug too long", map[string]any{"name": "X", "slug": strings.Repeat("a", 64)}, "slug"},
		{"no slug", map[string]any{"name": "X"}, "slug"},
		{"unknown field", map[string]any{"name": "X", "slug": "x", "owner": "me"}, "owner"},
		{"name too long", map[string]any{"name": strings.Repeat("n", 201), "slug": "x"}, "name"},
		{"blank name", map[string]any{"name": "   ", "slug": "x"}, "name"},
		{"NUL in name", map[string]any{"name": "a\x00b", "slug": "x"}, "name"},
		{"NUL in description", map[string]any{"name": "X", "slug": "x", "description": "\x00"}, "description"},
		{"parent of another tenant", map[string]any{"name": "X", "slug": "x", "parent_id": bDefault.ID}, "parent_id"},
		{"missing parent", map[string]any{"name": "X", "slug": "x", "parent_id": uuid.New()}, "parent_id"},
		{"malformed parent", map[string]any{"name": "X", "slug": "x", "parent_id": 12}, "parent_id"},
		{"not JSON", "{", "body"},
	}
	for _, c := range creates {
		if r := tr.env.Do(http.MethodPost, wsPath, tr.a.Admin.Token, c.body); r.Status != http.StatusBadRequest {
			t.Errorf("create, %s: %d %s, want 400", c.name, r.Status, r.Body)
		} else {
			apptest.WantInvalid(t, r, c.field)
		}
	}
	patches := []struct {
		name  string
		body  any
		field string
	}{
		{"nothing", map[string]any{}, "body"},
		{"bad slug", map[string]any{"slug": "UP"}, "slug"},
		{"blank name", map[string]any{"name": ""}, "name"},
		{"unknown field", map[string]any{"path": "x/y"}, "path"},
		{"parent of another tenant", map[string]any{"parent_id": bDefault.ID}, "parent_id"},
		{"malformed parent", map[string]any{"parent_id": "nope"}, "parent_id"},
		{"name too long", map[string]any{"name": strings.Repeat("n", 201)}, "name"},
	}
	for _, c := range patches {
		if r := tr.env.Do(http.MethodPatch, wsPath+"/msa~suit", tr.a.Admin.Token, c.body); r.Status != http.StatusBadRequest {
			t.Errorf("patch, %s: %d %s, want 400", c.name, r.Status, r.Body)
		} else {
			apptest.WantInvalid(t, r, c.field)
		}
	}
	grants := []struct {
		name  string
		body  any
		field string
	}{
		{"unknown subject type", map[string]any{"subject_type": "robot", "subject_id": tr.a.Admin.ID, "role": "viewer"}, "subject_type"},
		{"unknown role", map[string]any{"subject_type": "user", "subject_id": tr.a.Admin.ID, "role": "overlord"}, "role"},
		{"role not a name", map[string]any{"subject_type": "user", "subject_id": tr.a.Admin.ID, "role": "Viewer"}, "role"},
		{"user of another tenant", map[string]any{"subject_type": "user", "subject_id": b.Admin.ID, "role": "viewer"}, "subject_id"},
		{"missing group", map[string]any{"subject_type": "group", "subject_id": uuid.New(), "role": "viewer"}, "subject_id"},
		{"expiry in the past", map[string]any{"subject_type": "user", "subject_id": tr.a.Admin.ID, "role": "viewer", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"},
		{"expiry not a time", map[string]any{"subject_type": "user", "subject_id": tr.a.Admin.ID, "role": "viewer", "expires_at": "soon"}, "expires_at"}, // issue 14: the field at fault is named
		{"unknown field", map[string]any{"subject_type": "user", "subject_id": tr.a.Admin.ID, "role": "viewer", "node": "tenant"}, "node"},
	}
	for _, c := range grants {
		if r := tr.env.Do(http.MethodPost, wsPath+"/msa~suit/grants", tr.a.Admin.Token, c.body); r.Status != http.StatusBadRequest {
			t.Errorf("grant, %s: %d %s, want 400", c.name, r.Status, r.Body)
		} else {
			apptest.WantInvalid(t, r, c.field)
		}
	}
	if after := tr.paths(t); !mapsEqual(before, after) {
		t.Errorf("bad input changed the tree: %v → %v", before, after)
	}
	if n := tr.count(t, "grants", "workspace_id = ?", suit); n != 0 {
		t.Errorf("bad input wrote %d grants", n)
	}
	if got := tr.get(t, tr.a.Admin.Token, "msa/suit"); got.Name != "Workspace msa/suit" {
		t.Errorf("bad input renamed msa/suit to %q", got.Name)
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
