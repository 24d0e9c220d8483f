// Package roles lets a tenant manage its roles: named sets of permissions `object_type:action`,
// never levels. The built-ins are seeded at sign-up and cannot be changed or deleted; custom
// roles (a "librarian" who creates and updates but never deletes) are data, not code.
package roles

import (
	"time"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/rbac"
)

// View is a role as the API shows it.
type View struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Builtin     bool      `json:"builtin"`
	Permissions []string  `json:"permissions"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func viewOf(r rbac.Role) View {
	perms := []string(r.Permissions)
	if perms == nil {
		perms = []string{}
	}
	return View{ID: r.ID, Name: r.Name, Description: r.Description, Builtin: r.Builtin,
		Permissions: perms, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// CreateInput defines a custom role.
type CreateInput struct {
	Name        string        `json:"name" validate:"required" description:"lower-case, 2–40 of a-z 0-9 _ -, starting with a letter"`
	Description string        `json:"description" validate:"max=500,text"`
	Permissions []rbac.Action `json:"permissions" validate:"required" description:"actions object_type:action; the caller must hold each on the tenant root"`
}

// UpdateInput changes a custom role; absent fields stay as they are. Permissions, when present,
// replace the role's set ([] leaves none).
type UpdateInput struct {
	Description *string        `json:"description" validate:"omitempty,max=500,text"`
	Permissions *[]rbac.Action `json:"permissions"`
}
