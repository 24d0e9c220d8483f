// Package rbac decides who may do what: the casbin model, the per-tenant enforcer, built-in roles
// and the decision point every service calls.
package rbac

import "strings"

// Action is a permission, `object_type:action`.
type Action string

// Actions known to the product. A role is a set of these; an action not listed here is denied.
const (
	TenantRead Action = "tenant:read"

	UserRead   Action = "user:read"
	UserCreate Action = "user:create"
	UserUpdate Action = "user:update"

	WorkspaceRead   Action = "workspace:read"
	WorkspaceCreate Action = "workspace:create"
	WorkspaceUpdate Action = "workspace:update"
	WorkspaceDelete Action = "workspace:delete"
	GrantRead       Action = "grant:read"
	GrantManage     Action = "grant:manage"

	AuditRead Action = "audit:read"
)

// AllActions lists every action; the authorization matrix test has a row for each.
var AllActions = []Action{
	TenantRead,
	UserRead, UserCreate, UserUpdate,
	WorkspaceRead, WorkspaceCreate, WorkspaceUpdate, WorkspaceDelete,
	GrantRead, GrantManage,
	AuditRead,
}

// ReadOnly reports whether the action only reads (what a `read` token and an auditor may do).
func (a Action) ReadOnly() bool {
	_, verb, _ := strings.Cut(string(a), ":")
	return verb == "read" || verb == "list"
}

// Known reports whether the action is one the product defines.
func (a Action) Known() bool {
	for _, k := range AllActions {
		if k == a {
			return true
		}
	}
	return false
}

// Built-in role names.
const (
	RoleAdmin   = "admin"
	RoleAuditor = "auditor"
	RoleEditor  = "editor"
	RoleViewer  = "viewer"
)

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
		RoleEditor:  {TenantRead, WorkspaceRead},
		RoleViewer:  {TenantRead, WorkspaceRead},
	}
}
