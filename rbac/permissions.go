// Package rbac decides who may do what: the casbin model, the per-tenant enforcer, built-in roles,
// the decision point every service calls, the listing scope and explain.
package rbac

import "strings"

// Action is a permission, `object_type:action`.
type Action string

// Actions known to the product. A role is a set of these; an action not listed here is denied.
// Each has a row in the authorization matrix test.
const (
	TenantRead Action = "tenant:read"

	UserRead   Action = "user:read"
	UserCreate Action = "user:create"
	UserUpdate Action = "user:update"

	GroupRead   Action = "group:read"
	GroupManage Action = "group:manage"
	RoleRead    Action = "role:read"
	RoleManage  Action = "role:manage"

	WorkspaceRead   Action = "workspace:read"
	WorkspaceCreate Action = "workspace:create"
	WorkspaceUpdate Action = "workspace:update"
	WorkspaceMove   Action = "workspace:move"
	WorkspaceDelete Action = "workspace:delete"

	GrantRead   Action = "grant:read"
	GrantManage Action = "grant:manage"

	ProfileRead   Action = "profile:read"
	ProfileManage Action = "profile:manage"

	AuditRead    Action = "audit:read"
	AuthzExplain Action = "authz:explain"

	// TokenRead lists every personal access token of the tenant (metadata, never secrets);
	// TokenManage revokes any of them. Owners manage their own tokens without either.
	TokenRead   Action = "token:read"
	TokenManage Action = "token:manage"

	// Boards and images, per object type (SPEC §4): each action held through a role on a node
	// holds on every board (image) of the subtree, whatever its visibility. Board membership and
	// image ownership stay the second source of rights (SPEC §6's table); a role adds to them.
	//
	// BoardRead reads every board of the subtree and its members (auditors); BoardCreate creates
	// boards; BoardUpdate renames and describes any board and puts images on it (a board
	// editor's rights on every board); BoardDelete deletes any board; BoardMembers sees and
	// manages the members of any board (the owner excepted); BoardPublish sets visibility and
	// publication. BoardAdmin is everything a board owner can on every board of the subtree,
	// ownership transfer and moves included (tenant and workspace admins).
	BoardRead    Action = "board:read"
	BoardCreate  Action = "board:create"
	BoardUpdate  Action = "board:update"
	BoardDelete  Action = "board:delete"
	BoardMembers Action = "board:members"
	BoardPublish Action = "board:publish"
	BoardAdmin   Action = "board:admin"
	// ImageRead reads every image of the subtree, uncategorised ones included; ImageCreate uploads
	// images (uncategorised: the uploader's own; onto a board, the board's add rights decide);
	// ImageUpdate renames and stars any image; ImageDelete deletes any image or takes it off its
	// board.
	ImageRead   Action = "image:read"
	ImageCreate Action = "image:create"
	ImageUpdate Action = "image:update"
	ImageDelete Action = "image:delete"

	// WorkflowRead reads the workflows shared in a workspace (own and system workflows need no
	// grant); WorkflowCreate saves new ones there. WorkflowUpdate and WorkflowDelete change or
	// delete any workflow of the subtree, not only one's own (admins; on the tenant root they
	// also cover the tenant's system workflows).
	WorkflowRead   Action = "workflow:read"
	WorkflowCreate Action = "workflow:create"
	WorkflowUpdate Action = "workflow:update"
	WorkflowDelete Action = "workflow:delete"

	// QueueRead lists a workspace's queue (everyone's items, field values and results hidden per
	// the privacy profile); QueueCreate enqueues workflow runs there. QueueUpdate and QueueDelete
	// cancel, retry or delete anyone's items of the subtree (admins); owners need neither for
	// their own items.
	QueueRead   Action = "queue:read"
	QueueCreate Action = "queue:create"
	QueueUpdate Action = "queue:update"
	QueueDelete Action = "queue:delete"
)

// AllActions lists every action.
var AllActions = []Action{
	TenantRead,
	UserRead, UserCreate, UserUpdate,
	GroupRead, GroupManage, RoleRead, RoleManage,
	WorkspaceRead, WorkspaceCreate, WorkspaceUpdate, WorkspaceMove, WorkspaceDelete,
	GrantRead, GrantManage,
	ProfileRead, ProfileManage,
	AuditRead, AuthzExplain,
	TokenRead, TokenManage,
	BoardRead, BoardCreate, BoardUpdate, BoardDelete, BoardMembers, BoardPublish, BoardAdmin,
	ImageRead, ImageCreate, ImageUpdate, ImageDelete,
	WorkflowRead, WorkflowCreate, WorkflowUpdate, WorkflowDelete,
	QueueRead, QueueCreate, QueueUpdate, QueueDelete,
}

var known = func() map[Action]bool {
	m := make(map[Action]bool, len(AllActions))
	for _, a := range AllActions {
		m[a] = true
	}
	return m
}()

// ReadOnly reports whether the action changes nothing (what a `read` token, an auditor and a
// read-only subtree allow).
func (a Action) ReadOnly() bool {
	_, verb, _ := strings.Cut(string(a), ":")
	return verb == "read" || verb == "explain"
}

// Implies reports whether holding a includes act beside a itself. board:admin is everything a
// board owner can on every board (and image) of the subtree, so it includes the per-object
// actions that came after it: an access profile that takes board:admin from a role takes those
// too, as it did before they existed.
func (a Action) Implies(act Action) bool {
	if a != BoardAdmin {
		return false
	}
	switch act {
	case BoardUpdate, BoardDelete, BoardMembers, BoardPublish, ImageUpdate, ImageDelete:
		return true
	}
	return false
}

// Known reports whether the action is one the product defines.
func (a Action) Known() bool { return known[a] }

// Built-in role names. The same role means the same permissions wherever it is granted: `admin`
// on the tenant root is the tenant admin, on a workspace a workspace admin of that subtree.
const (
	RoleAdmin   = "admin"
	RoleAuditor = "auditor"
	RoleEditor  = "editor"
	RoleViewer  = "viewer"
)

var builtinDescriptions = map[string]string{
	RoleAdmin:   "Everything, on the node it is granted on and below (on the tenant root: tenant admin)",
	RoleAuditor: "Reads everything, the audit log included; changes nothing",
	RoleEditor:  "Reads and edits content",
	RoleViewer:  "Reads content",
}

// BuiltinRoles maps each built-in role to its permissions. Seeded into every tenant at sign-up.
func BuiltinRoles() map[string][]Action {
	var reads []Action
	for _, a := range AllActions {
		if a.ReadOnly() {
			reads = append(reads, a)
		}
	}
	return map[string][]Action{
		RoleAdmin:   append([]Action(nil), AllActions...),
		RoleAuditor: reads,
		RoleEditor: {TenantRead, WorkspaceRead, WorkspaceUpdate, ProfileRead, BoardCreate, ImageCreate,
			WorkflowRead, WorkflowCreate, QueueRead, QueueCreate},
		RoleViewer: {TenantRead, WorkspaceRead, ProfileRead, WorkflowRead, QueueRead},
	}
}
