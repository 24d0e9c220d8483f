// Package groups manages groups of users. A group is a subject like a user: a grant to a group
// gives its role to every member, on the grant's node and below, for as long as they are members.
package groups

import (
	"time"

	"github.com/google/uuid"
)

// Group is a named set of users of one tenant. Names are unique in the tenant, ignoring case.
type Group struct {
	TenantID    uuid.UUID `gorm:"primaryKey"`
	ID          uuid.UUID `gorm:"primaryKey"`
	Name        string
	Description string
	CreatedAt   time.Time
}

// TableName is the groups table.
func (Group) TableName() string { return "groups" }

// Member is a user's membership of a group.
type Member struct {
	TenantID  uuid.UUID `gorm:"primaryKey"`
	GroupID   uuid.UUID `gorm:"primaryKey"`
	UserID    uuid.UUID `gorm:"primaryKey"`
	CreatedAt time.Time
}

// TableName is the group_members table.
func (Member) TableName() string { return "group_members" }

// View is a group as lists show it.
type View struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	MemberCount int64     `json:"member_count"`
	CreatedAt   time.Time `json:"created_at"`
}

func (g Group) view(members int64) View {
	return View{ID: g.ID, Name: g.Name, Description: g.Description, MemberCount: members, CreatedAt: g.CreatedAt}
}

// MemberView is a member as the API shows it.
type MemberView struct {
	UserID      uuid.UUID `json:"user_id"`
	DisplayName string    `json:"display_name"`
	AddedAt     time.Time `json:"added_at"`
}

// Detail is one group with a page of its members, in user id order (?cursor=…&limit=…).
type Detail struct {
	View
	Members           []MemberView `json:"members"`
	MembersNextCursor *string      `json:"members_next_cursor"`
}

// CreateInput creates a group.
type CreateInput struct {
	Name        string `json:"name" validate:"required,max=100,name"`
	Description string `json:"description" validate:"max=500,text"`
}

// AddMemberInput adds a user of the tenant to a group.
type AddMemberInput struct {
	UserID string `json:"user_id" validate:"required" description:"id of a user of the tenant"`
}
