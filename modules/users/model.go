// Package users manages the people of a tenant: their accounts, passwords and tenant roles.
package users

import (
	"time"

	"github.com/google/uuid"
)

// User is a person in one tenant. The same e-mail in two tenants is two unrelated users.
type User struct {
	TenantID     uuid.UUID `gorm:"primaryKey"`
	ID           uuid.UUID `gorm:"primaryKey"`
	Email        string
	PasswordHash string
	DisplayName  string
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// View is a user as the API shows it.
type View struct {
	ID          uuid.UUID `json:"id"`
	TenantID    uuid.UUID `json:"tenant_id"`
	Email       string    `json:"email"`
	DisplayName string    `json:"display_name"`
	Disabled    bool      `json:"disabled"`
	Roles       []string  `json:"roles"`
	CreatedAt   time.Time `json:"created_at"`
}

func (u User) view(roles []string) View {
	if roles == nil {
		roles = []string{}
	}
	return View{ID: u.ID, TenantID: u.TenantID, Email: u.Email, DisplayName: u.DisplayName,
		Disabled: u.Disabled, Roles: roles, CreatedAt: u.CreatedAt}
}

// TenantRoles are the roles a user can hold on the tenant root from user management;
// "member" means no tenant-wide role (rights then come from workspace grants).
var TenantRoles = []string{"admin", "auditor", "editor", "viewer", "member"}

// CreateInput creates a user.
type CreateInput struct {
	Email       string `json:"email" validate:"required,email,max=254"`
	Password    string `json:"password" validate:"required,min=10,max=256"`
	DisplayName string `json:"display_name" validate:"max=100,name"`
	Role        string `json:"role" validate:"omitempty,oneof=admin auditor editor viewer member" description:"tenant-wide role (default member)"`
}

// UpdateInput changes a user; absent fields stay as they are.
type UpdateInput struct {
	DisplayName *string `json:"display_name" validate:"omitempty,max=100,name"`
	Role        *string `json:"role" validate:"omitempty,oneof=admin auditor editor viewer member"`
	Disabled    *bool   `json:"disabled"`
}
