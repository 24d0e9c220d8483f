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

	// BoardCreate creates boards in a workspace; BoardAdmin is "everything a board owner can" on
	// every board of the subtree (tenant and workspace admins). Reading boards of a workspace
	// follows workspace:read and board membership.
	BoardCreate Action = "board:create"
	BoardAdmin  Action = "board:admin"
	// BoardRead reads every board and image of the subtree whatever its visibility (auditors).
	BoardRead Action = "board:read"
	// ImageCreate uploads images that belong to no board yet (uncategorised, the uploader's own).
	ImageCreate Action = "image:create"

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
	BoardCreate, BoardAdmin, BoardRead, ImageCreate,
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
