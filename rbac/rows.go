package rbac

import (
	"time"

	"github.com/google/uuid"
	"gorm.io/datatypes"
)

// Subject types a grant can name.
const (
	SubjectUser  = "user"
	SubjectGroup = "group"
)

// Grant binds a subject to a role on a node, optionally until ExpiresAt. The row carries what
// the API shows; the casbin link written with it is what decisions walk.
type Grant struct {
	TenantID    uuid.UUID `gorm:"primaryKey"`
	ID          uuid.UUID `gorm:"primaryKey"`
	WorkspaceID *uuid.UUID
	SubjectType string
	SubjectID   uuid.UUID
	Role        string
	ExpiresAt   *time.Time
	CreatedBy   *uuid.UUID
	CreatedAt   time.Time
}

// TableName is the grants table.
func (Grant) TableName() string { return "grants" }

// Node is the node the grant was made on.
func (g Grant) Node() string {
	if g.WorkspaceID == nil {
		return Root
	}
	return WorkspaceNode(*g.WorkspaceID)
}

// Subject names the grantee in the policy graph.
func (g Grant) Subject() string { return g.SubjectType + ":" + g.SubjectID.String() }

// Role is a named set of permissions in a tenant. Built-in roles cannot be deleted.
type Role struct {
	TenantID    uuid.UUID `gorm:"primaryKey"`
	ID          uuid.UUID `gorm:"primaryKey"`
	Name        string
	Description string
	Builtin     bool
	Permissions datatypes.JSONSlice[string]
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TableName is the roles table.
func (Role) TableName() string { return "roles" }

// groupMember is a row of group_members, read to expand a group's grants to its members.
type groupMember struct {
	TenantID uuid.UUID
	GroupID  uuid.UUID
	UserID   uuid.UUID
}

func (groupMember) TableName() string { return "group_members" }

// AccessSettings are the settings of an `access` profile: restrictions layered on the grants of
// a subtree. ReadOnly stops every write except by tenant admins; Deny lists actions a role loses.
type AccessSettings struct {
	ReadOnly bool                `json:"read_only"`
	Deny     map[string][]Action `json:"deny,omitempty"`
}

// accessAssignment is an `access` profile in force on a node, as loaded with the policy.
type accessAssignment struct {
	Node      string
	ProfileID uuid.UUID
	Name      string
	Settings  datatypes.JSONType[AccessSettings]
}
