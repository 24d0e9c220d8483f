// Package tenants holds the tenant registry and sign-up.
package tenants

import (
	"time"

	"github.com/google/uuid"
)

// Tenant is an organisation. Its row is the one without a tenant_id: it is the registry.
type Tenant struct {
	ID        uuid.UUID `gorm:"primaryKey"`
	Slug      string
	Name      string
	Settings  string `gorm:"default:{}"`
	Status    string `gorm:"default:active"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Tenant statuses.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
)

// View is a tenant as the API shows it.
type View struct {
	ID   uuid.UUID `json:"id"`
	Slug string    `json:"slug"`
	Name string    `json:"name"`
}

// AdminInput is the first admin of a new tenant.
type AdminInput struct {
	Email       string `json:"email" validate:"required,email,max=254"`
	Password    string `json:"password" validate:"required,min=10,max=256"`
	DisplayName string `json:"display_name" validate:"max=100,name"`
}

// SignUpInput creates a tenant with its first admin.
type SignUpInput struct {
	Name  string     `json:"name" validate:"required,min=1,max=200,name"`
	Slug  string     `json:"slug" validate:"required,slug"`
	Admin AdminInput `json:"admin" validate:"required"`
}

// SignUpResult is the new tenant and its admin. The admin's e-mail is shown only to the person
// who just signed up with it.
type SignUpResult struct {
	Tenant View       `json:"tenant"`
	User   SignUpUser `json:"user"`
}

// SignUpUser is the first admin as sign-up answers it.
type SignUpUser struct {
	ID    uuid.UUID `json:"id"`
	Email string    `json:"email"`
}
