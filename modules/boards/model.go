// Package boards holds boards: named collections of images in one workspace, private, shared or
// public, optionally published, with owner / editor / viewer members (SPEC §6).
package boards

import (
	"time"

	"github.com/google/uuid"
)

// Board is a board row.
type Board struct {
	TenantID    uuid.UUID `gorm:"primaryKey"`
	ID          uuid.UUID `gorm:"primaryKey"`
	WorkspaceID uuid.UUID
	OwnerID     uuid.UUID
	Name        string
	Description string
	Visibility  string
	Published   bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Member is a board membership row.
type Member struct {
	TenantID  uuid.UUID `gorm:"primaryKey"`
	BoardID   uuid.UUID `gorm:"primaryKey"`
	UserID    uuid.UUID `gorm:"primaryKey"`
	Role      string
	CreatedAt time.Time
}

// TableName is board_members.
func (Member) TableName() string { return "board_members" }

// View is a board as the API shows it to someone who can read it.
type View struct {
	ID          uuid.UUID `json:"id"`
	WorkspaceID uuid.UUID `json:"workspace_id"`
	OwnerID     uuid.UUID `json:"owner_id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Visibility  string    `json:"visibility"`
	Published   bool      `json:"published"`
	// MyRole is the caller's membership role ("" when they read it as a workspace member).
	MyRole    string    `json:"my_role"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (b Board) view(role string) View {
	return View{ID: b.ID, WorkspaceID: b.WorkspaceID, OwnerID: b.OwnerID, Name: b.Name, Description: b.Description,
		Visibility: b.Visibility, Published: b.Published, MyRole: role, CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt}
}

// PublicView is a published board as anonymous readers see it: no members, owners or e-mails.
type PublicView struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
}

// MemberView is a membership as the API shows it.
type MemberView struct {
	UserID    uuid.UUID `json:"user_id"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateInput creates a board.
type CreateInput struct {
	Name        string `json:"name" validate:"required,min=1,max=200,name"`
	Description string `json:"description" validate:"max=2000,text"`
	Visibility  string `json:"visibility" validate:"omitempty,oneof=private shared public"`
}

// UpdateInput changes a board; absent fields stay.
type UpdateInput struct {
	Name        *string `json:"name" validate:"omitempty,min=1,max=200,name"`
	Description *string `json:"description" validate:"omitempty,max=2000,text"`
	Visibility  *string `json:"visibility" validate:"omitempty,oneof=private shared public"`
	Published   *bool   `json:"published"`
	// OwnerID transfers ownership to another member (the old owner becomes an editor).
	OwnerID *uuid.UUID `json:"owner_id"`
}

// MoveInput moves a board to another workspace.
type MoveInput struct {
	WorkspaceID string `json:"workspace_id" validate:"required,max=600" description:"id or path (with ~) of the destination"`
}

// AddMemberInput adds a member.
type AddMemberInput struct {
	UserID uuid.UUID `json:"user_id" validate:"required"`
	Role   string    `json:"role" validate:"required,oneof=editor viewer"`
}

// RoleInput changes a member's role.
type RoleInput struct {
	Role string `json:"role" validate:"required,oneof=editor viewer"`
}
