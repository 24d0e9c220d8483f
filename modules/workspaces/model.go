// Package workspaces holds the tenant's workspace tree and the grants made on its nodes. Every
// tenant has a `default` workspace at the root, created at sign-up, that cannot be deleted or
// moved.
package workspaces

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
)

// DefaultSlug is the root workspace every tenant has.
const DefaultSlug = "default"

// MaxDepth bounds the tree: the enforcer resolves inheritance by walking at most a fixed number
// of links (the object's node, its ancestors, the grant, a group), so a deeper tree would
// silently lose inherited grants at the bottom.
const MaxDepth = 12

// SlugPattern is the rule for workspace slugs (the database checks the same).
var SlugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// RootRef is the `{ws}` that names the tenant root on the routes that accept it (grants).
const RootRef = "~"

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

// Node is the workspace's node in the policy graph.
func (w Workspace) Node() string { return rbac.WorkspaceNode(w.ID) }

// parentNode is the node the workspace hangs from: its parent's, or the tenant root.
func (w Workspace) parentNode() string {
	if w.ParentID == nil {
		return rbac.Root
	}
	return rbac.WorkspaceNode(*w.ParentID)
}

// CreateDefaultTx creates the tenant's root `default` workspace inside the sign-up transaction
// and links it under the tenant root in the policy, so tenant-wide grants hold in it.
func (*Service) CreateDefaultTx(ctx context.Context, tx *gorm.DB, ownerID uuid.UUID) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	w := Workspace{ID: id, Slug: DefaultSlug, Name: "Default", Path: DefaultSlug, OwnerID: &ownerID}
	if err := tx.Create(&w).Error; err != nil {
		return fmt.Errorf("create default workspace: %w", err)
	}
	pol, err := rbac.PolicyIn(ctx, tx)
	if err != nil {
		return err
	}
	if err := pol.LinkWorkspace(w.ID, nil); err != nil {
		return fmt.Errorf("link default workspace: %w", err)
	}
	return nil
}

// View is a workspace as the API shows it.
type View struct {
	ID          uuid.UUID  `json:"id"`
	TenantID    uuid.UUID  `json:"tenant_id"`
	ParentID    *uuid.UUID `json:"parent_id"`
	Slug        string     `json:"slug"`
	Name        string     `json:"name"`
	Path        string     `json:"path" description:"slugs from the root down joined by /; in URLs write / as ~"`
	ShortName   string     `json:"short_name"`
	Description string     `json:"description"`
	Icon        string     `json:"icon"`
	Color       string     `json:"color"`
	OwnerID     *uuid.UUID `json:"owner_id"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

func (w Workspace) view() View {
	return View{ID: w.ID, TenantID: w.TenantID, ParentID: w.ParentID, Slug: w.Slug, Name: w.Name, Path: w.Path,
		ShortName: w.ShortName, Description: w.Description, Icon: w.Icon, Color: w.Color, OwnerID: w.OwnerID,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
}

// CreateInput creates a workspace under parent_id, or at the tenant root without it.
type CreateInput struct {
	Name        string     `json:"name" validate:"required,max=200,name"`
	Slug        string     `json:"slug" validate:"required" description:"^[a-z0-9][a-z0-9-]{0,62}$, unique among siblings"`
	ParentID    *uuid.UUID `json:"parent_id" description:"absent: at the tenant root"`
	ShortName   string     `json:"short_name" validate:"max=50,name"`
	Description string     `json:"description" validate:"max=2000,text"`
	Icon        string     `json:"icon" validate:"max=100"`
	Color       string     `json:"color" validate:"max=32"`
}

// UpdateInput changes a workspace; absent fields stay as they are. A new slug or parent_id
// moves the workspace and its subtree.
type UpdateInput struct {
	Name        *string   `json:"name" validate:"omitempty,max=200,name"`
	ShortName   *string   `json:"short_name" validate:"omitempty,max=50,name"`
	Description *string   `json:"description" validate:"omitempty,max=2000,text"`
	Icon        *string   `json:"icon" validate:"omitempty,max=100"`
	Color       *string   `json:"color" validate:"omitempty,max=32"`
	Slug        *string   `json:"slug" description:"a new slug renames the workspace's path (a move)"`
	ParentID    ParentRef `json:"parent_id" description:"a workspace id to move under, null to move to the tenant root"`
}

// describes reports whether the input changes the workspace's description fields.
func (in UpdateInput) describes() bool {
	return in.Name != nil || in.ShortName != nil || in.Description != nil || in.Icon != nil || in.Color != nil
}

// empty reports whether the input changes nothing at all.
func (in UpdateInput) empty() bool { return !in.describes() && in.Slug == nil && !in.ParentID.Set }

var uuidType = reflect.TypeOf(uuid.UUID{})

// ParentRef is a parent_id that may be absent (leave it), null (the tenant root) or an id.
type ParentRef struct {
	Set bool
	ID  *uuid.UUID
}

// UnmarshalJSON records that the field was present, and its id unless null.
func (p *ParentRef) UnmarshalJSON(b []byte) error {
	p.Set = true
	if string(b) == "null" {
		p.ID = nil
		return nil
	}
	var id uuid.UUID
	if err := json.Unmarshal(b, &id); err != nil {
		return &json.UnmarshalTypeError{Value: "string", Type: uuidType} // the decoder adds the field name
	}
	p.ID = &id
	return nil
}

// JSONSchemaBytes describes the field in the OpenAPI document as a nullable UUID.
func (ParentRef) JSONSchemaBytes() ([]byte, error) {
	return []byte(`{"type":["string","null"],"format":"uuid"}`), nil
}

// GrantView is a grant as the API shows it.
type GrantView struct {
	ID          uuid.UUID  `json:"id"`
	Node        string     `json:"node" description:"tenant (the root) or ws:<id>"`
	WorkspaceID *uuid.UUID `json:"workspace_id"`
	SubjectType string     `json:"subject_type"`
	SubjectID   uuid.UUID  `json:"subject_id"`
	Role        string     `json:"role"`
	ExpiresAt   *time.Time `json:"expires_at"`
	CreatedBy   *uuid.UUID `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
}

func grantView(g rbac.Grant) GrantView {
	return GrantView{ID: g.ID, Node: g.Node(), WorkspaceID: g.WorkspaceID, SubjectType: g.SubjectType,
		SubjectID: g.SubjectID, Role: g.Role, ExpiresAt: g.ExpiresAt, CreatedBy: g.CreatedBy, CreatedAt: g.CreatedAt}
}

// GrantInput grants a role on the node to a user or a group, optionally until expires_at.
type GrantInput struct {
	SubjectType string     `json:"subject_type" validate:"required,oneof=user group"`
	SubjectID   uuid.UUID  `json:"subject_id" validate:"required"`
	Role        string     `json:"role" validate:"required,max=40"`
	ExpiresAt   *time.Time `json:"expires_at" description:"RFC 3339, in the future; absent: no expiry"`
}

// ListQuery is the listing's query string.
type ListQuery struct {
	web.PageQuery
	Parent string `query:"parent" description:"a workspace id or path (~ for /): only its direct children; ~ alone: the top level"`
}

// DeleteQuery is the delete's query string.
type DeleteQuery struct {
	Cascade bool `query:"cascade" description:"also delete the child workspaces and everything they hold"`
}
