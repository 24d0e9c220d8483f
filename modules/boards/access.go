package boards

// Board roles held by members; the creator is the owner.
const (
	RoleOwner  = "owner"
	RoleEditor = "editor"
	RoleViewer = "viewer"
)

// Visibilities.
const (
	Private = "private" // members only (the default)
	Shared  = "shared"  // every member of the workspace or an ancestor reads; only members write
	Public  = "public"  // every workspace member reads and adds images
)

// Relation is how the caller stands to a board: their membership role, whether they are an
// admin over it (tenant admin or admin of its workspace or an ancestor: everything an owner
// may), and whether they are a member of its workspace (hold a role on it or above other than
// the read-only auditor's).
type Relation struct {
	Role     string
	Admin    bool
	WSMember bool
	// ReadAll reads every board of the workspace whatever its visibility, and nothing more
	// (tenant auditors).
	ReadAll bool
	// ReadOnly: an access profile makes the board's workspace read-only for the caller; no
	// membership, ownership or visibility lets them write there.
	ReadOnly bool
	// Granted is what roles held on the board's workspace or above give on every board there,
	// beside membership (SPEC §4: roles per object type).
	Granted Granted
}

// Granted is a board right that comes from a role (board:update, board:delete, board:publish,
// board:members) rather than from membership. Each holds on every board of the subtree the
// role is granted on, whatever its visibility, and makes the board visible.
type Granted struct {
	Update  bool // rename, describe, put images on it
	Delete  bool
	Publish bool // visibility and publication
	Members bool // see and manage members, the owner excepted
}

func (g Granted) any() bool { return g.Update || g.Delete || g.Publish || g.Members }

// Op is an operation of SPEC §6's table.
type Op int

// The operations.
const (
	OpRead          Op = iota // read the board and its images
	OpAddImages               // upload into, generate into, add own image
	OpEditBoard               // name / description
	OpOwn                     // transfer ownership (and what only owners and admins do)
	OpViewMembers             //
	OpManageMembers           // add, remove, change roles (further limited by MayAddMember / MayRemoveMember)
	OpPublish                 // set visibility, publish
	OpDelete                  // delete the board
)

// owns reports whether the caller has the owner's powers.
func (r Relation) owns() bool { return r.Admin || r.Role == RoleOwner }

// managesMembers reports whether the caller manages members as an owner does.
func (r Relation) managesMembers() bool { return r.owns() || r.Granted.Members }

// Can is SPEC §6's table for board-level operations. Not being able to read means the board is
// not visible (404); being able to read but not to do is 403.
func Can(r Relation, visibility string, op Op) bool {
	member := r.Role != ""
	if r.ReadOnly && op != OpRead && op != OpViewMembers {
		return false
	}
	switch op {
	case OpRead:
		return r.owns() || member || r.ReadAll || r.Granted.any() || (r.WSMember && (visibility == Shared || visibility == Public))
	case OpAddImages:
		return r.owns() || r.Role == RoleEditor || r.Granted.Update || (r.WSMember && visibility == Public)
	case OpEditBoard:
		return r.owns() || r.Role == RoleEditor || r.Granted.Update
	case OpOwn:
		return r.owns()
	case OpPublish:
		return r.owns() || r.Granted.Publish
	case OpDelete:
		return r.owns() || r.Granted.Delete
	case OpViewMembers:
		// Auditors read everything, members included.
		return r.managesMembers() || member || r.ReadAll
	case OpManageMembers:
		return r.managesMembers() || r.Role == RoleEditor
	}
	return false
}

// MayAddMember: owners add any role; editors add viewers and editors only.
func MayAddMember(r Relation, role string) bool {
	if r.ReadOnly {
		return false
	}
	if r.managesMembers() {
		return role == RoleEditor || role == RoleViewer
	}
	return r.Role == RoleEditor && (role == RoleEditor || role == RoleViewer)
}

// MayRemoveMember: owners remove anyone but the owner (replaced only by a transfer); editors
// remove viewers only.
func MayRemoveMember(r Relation, targetRole string) bool {
	if targetRole == RoleOwner || r.ReadOnly {
		return false
	}
	if r.managesMembers() {
		return true
	}
	return r.Role == RoleEditor && targetRole == RoleViewer
}

// MayChangeRole: only owners (and holders of board:members) change roles, never to or from
// owner (that is a transfer).
func MayChangeRole(r Relation, from, to string) bool {
	return r.managesMembers() && !r.ReadOnly && from != RoleOwner && to != RoleOwner
}

// MayChangeImage is the table's "update / delete an image" row for an image on the board:
// owners (and admins) any image; editors their own; workspace members their own on a public
// board. Board ownership never confers more: an image added by someone else stays theirs.
func MayChangeImage(r Relation, visibility string, ownImage bool) bool {
	switch {
	case r.ReadOnly:
		return false
	case r.owns():
		return true
	case r.Role == RoleEditor:
		return ownImage
	case r.Role == RoleViewer:
		return false
	default:
		return ownImage && r.WSMember && visibility == Public
	}
}
