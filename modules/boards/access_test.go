package boards

import "testing"

// TestCan_specTable is SPEC §6's table row by row, for every visibility.
func TestCan_specTable(t *testing.T) {
	owner := Relation{Role: RoleOwner, WSMember: true}
	editor := Relation{Role: RoleEditor, WSMember: true}
	viewer := Relation{Role: RoleViewer, WSMember: true}
	wsMember := Relation{WSMember: true}
	admin := Relation{Admin: true, WSMember: true}
	outsider := Relation{}
	// The tenant auditor reads every board (ReadAll) and is no workspace member for writing.
	auditor := Relation{ReadAll: true}
	librarian := Relation{Granted: Granted{Update: true}}
	deleter := Relation{Granted: Granted{Delete: true}}
	publisher := Relation{Granted: Granted{Publish: true}}
	steward := Relation{Granted: Granted{Members: true}}
	readOnlyLibrarian := Relation{Granted: Granted{Update: true}, ReadOnly: true}
	type row struct {
		op   Op
		who  Relation
		name string
		want map[string]bool // by visibility
	}
	all := func(v bool) map[string]bool { return map[string]bool{Private: v, Shared: v, Public: v} }
	rows := []row{
		{OpRead, owner, "owner reads", all(true)},
		{OpRead, editor, "editor reads", all(true)},
		{OpRead, viewer, "viewer reads", all(true)},
		{OpRead, wsMember, "member reads shared/public", map[string]bool{Private: false, Shared: true, Public: true}},
		{OpRead, outsider, "outsider reads nothing", all(false)},
		{OpRead, admin, "admin reads", all(true)},
		{OpAddImages, owner, "owner adds", all(true)},
		{OpAddImages, editor, "editor adds", all(true)},
		{OpAddImages, viewer, "viewer adds nothing", map[string]bool{Private: false, Shared: false, Public: true}},
		{OpAddImages, wsMember, "member adds to public only", map[string]bool{Private: false, Shared: false, Public: true}},
		{OpEditBoard, editor, "editor edits name", all(true)},
		{OpEditBoard, viewer, "viewer does not", all(false)},
		{OpEditBoard, wsMember, "member does not", all(false)},
		{OpOwn, owner, "owner owns", all(true)},
		{OpOwn, admin, "admin owns", all(true)},
		{OpOwn, editor, "editor does not own", all(false)},
		{OpViewMembers, viewer, "viewer sees members", all(true)},
		{OpViewMembers, wsMember, "member does not", all(false)},
		{OpManageMembers, editor, "editor may manage some", all(true)},
		{OpManageMembers, viewer, "viewer may not", all(false)},
		{OpRead, auditor, "auditor reads every board", all(true)},
		{OpViewMembers, auditor, "auditor reads the members", all(true)},
		{OpAddImages, auditor, "auditor adds nothing, not even to public boards", all(false)},
		{OpEditBoard, auditor, "auditor edits nothing", all(false)},
		{OpOwn, auditor, "auditor owns nothing", all(false)},
		{OpManageMembers, auditor, "auditor manages no members", all(false)},
		{OpPublish, owner, "owner publishes", all(true)},
		{OpPublish, editor, "editor does not publish", all(false)},
		{OpDelete, owner, "owner deletes", all(true)},
		{OpDelete, admin, "admin deletes", all(true)},
		{OpDelete, editor, "editor does not delete", all(false)},
		// Rights through a role on the workspace (SPEC §4), on every board whatever its visibility.
		{OpRead, librarian, "board:update holder reads every board", all(true)},
		{OpEditBoard, librarian, "board:update holder edits every board", all(true)},
		{OpAddImages, librarian, "board:update holder adds to every board", all(true)},
		{OpDelete, librarian, "board:update holder deletes none", all(false)},
		{OpPublish, librarian, "board:update holder publishes none", all(false)},
		{OpOwn, librarian, "board:update holder owns none", all(false)},
		{OpDelete, deleter, "board:delete holder deletes every board", all(true)},
		{OpEditBoard, deleter, "board:delete holder edits none", all(false)},
		{OpPublish, publisher, "board:publish holder publishes every board", all(true)},
		{OpOwn, publisher, "board:publish holder transfers no ownership", all(false)},
		{OpManageMembers, steward, "board:members holder manages members", all(true)},
		{OpViewMembers, steward, "board:members holder sees members", all(true)},
		{OpAddImages, steward, "board:members holder adds no images", all(false)},
		{OpEditBoard, readOnlyLibrarian, "a read-only profile stops role rights too", all(false)},
		{OpRead, readOnlyLibrarian, "a read-only profile leaves reading", all(true)},
	}
	for _, r := range rows {
		for vis, want := range r.want {
			if got := Can(r.who, vis, r.op); got != want {
				t.Errorf("%s on a %s board: %v, want %v", r.name, vis, got, want)
			}
		}
	}
}

func TestMembers_specTable(t *testing.T) {
	owner, editor, viewer := Relation{Role: RoleOwner}, Relation{Role: RoleEditor}, Relation{Role: RoleViewer}
	checks := []struct {
		name string
		got  bool
		want bool
	}{
		{"owner adds editor", MayAddMember(owner, RoleEditor), true},
		{"owner cannot add a second owner", MayAddMember(owner, RoleOwner), false},
		{"editor adds viewer", MayAddMember(editor, RoleViewer), true},
		{"editor adds editor", MayAddMember(editor, RoleEditor), true},
		{"editor cannot add owner", MayAddMember(editor, RoleOwner), false},
		{"viewer adds nobody", MayAddMember(viewer, RoleViewer), false},
		{"owner removes editor", MayRemoveMember(owner, RoleEditor), true},
		{"nobody removes the owner", MayRemoveMember(owner, RoleOwner), false},
		{"editor removes viewer", MayRemoveMember(editor, RoleViewer), true},
		{"editor cannot remove editor", MayRemoveMember(editor, RoleEditor), false},
		{"viewer removes nobody", MayRemoveMember(viewer, RoleViewer), false},
		{"owner changes roles", MayChangeRole(owner, RoleViewer, RoleEditor), true},
		{"editor cannot change roles", MayChangeRole(editor, RoleViewer, RoleEditor), false},
		{"role change never makes an owner", MayChangeRole(owner, RoleEditor, RoleOwner), false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
}

// InvokeAI's escalation chain: a board owner deleting an image someone else added. Ownership of
// the board never confers rights over another's image beyond the table.
func TestMayChangeImage_boardOwnershipIsNotImageOwnership(t *testing.T) {
	cases := []struct {
		name string
		r    Relation
		vis  string
		own  bool
		want bool
	}{
		{"owner changes any image", Relation{Role: RoleOwner}, Private, false, true},
		{"editor changes own", Relation{Role: RoleEditor}, Shared, true, true},
		{"editor cannot change others'", Relation{Role: RoleEditor}, Shared, false, false},
		{"viewer changes nothing, not even own", Relation{Role: RoleViewer}, Public, true, false},
		{"member changes own on public", Relation{WSMember: true}, Public, true, true},
		{"member cannot change own on shared", Relation{WSMember: true}, Shared, true, false},
		{"member cannot change others' on public", Relation{WSMember: true}, Public, false, false},
		{"auditor cannot change own on public", Relation{ReadAll: true}, Public, true, false},
	}
	for _, c := range cases {
		if got := MayChangeImage(c.r, c.vis, c.own); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
