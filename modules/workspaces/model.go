// Package workspaces holds the tenant's workspace tree. Every tenant has a `default` workspace at
// the root, created at sign-up, that cannot be deleted or moved.
package workspaces

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// DefaultSlug is the root workspace every tenant has.
const DefaultSlug = "default"

// Workspace is a node of the tree. Path is the slugs from the root down joined by "/".
type Workspace struct {
	TenantID    uuid.UUID `gorm:"primaryKey"`
	ID          uuid.UUID `gorm:"primaryKey"`
	ParentID    *uuid.UUID
	Slug        string
	Name        string
	Path        string
	ShortName   string
	Description string
	Icon        string
	Color       string
	OwnerID     *uuid.UUID
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// CreateDefaultTx creates the tenant's root `default` workspace inside the sign-up transaction.
func CreateDefaultTx(tx *gorm.DB, ownerID uuid.UUID) (Workspace, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Workspace{}, err
	}
	w := Workspace{ID: id, Slug: DefaultSlug, Name: "Default", Path: DefaultSlug, OwnerID: &ownerID}
	if err := tx.Create(&w).Error; err != nil {
		return Workspace{}, fmt.Errorf("create default workspace: %w", err)
	}
	return w, nil
}
