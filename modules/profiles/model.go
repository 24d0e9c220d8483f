// Package profiles holds profile types (access, privacy, quota, and any registered in code),
// profiles — named, validated settings of a type — and their assignment to nodes of the tree.
// The effective profile of a type on a node is the nearest assignment on the path from the node
// up to the tenant root; other modules read it through Service.Effective.
package profiles

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/swaggest/jsonschema-go"
	"gorm.io/datatypes"

	"github.com/atelier-hq/atelier/modules/web"
)

// Profile is an instance of a type: a name, a description, settings valid for the type, and an
// owner (who created it; owning a profile confers no right over it).
type Profile struct {
	TenantID    uuid.UUID `gorm:"primaryKey"`
	ID          uuid.UUID `gorm:"primaryKey"`
	Type        string
	Name        string
	Description string
	Settings    datatypes.JSON
	OwnerID     *uuid.UUID
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TableName is the profiles table.
func (Profile) TableName() string { return "profiles" }

// Assignment puts a profile in force on a node: the tenant root ("tenant") or a workspace
// ("ws:<id>", with WorkspaceID set so the assignment dies with the workspace). A node has at most
// one assignment per type.
type Assignment struct {
	TenantID    uuid.UUID `gorm:"primaryKey"`
	Node        string    `gorm:"primaryKey"`
	Type        string    `gorm:"primaryKey"`
	ProfileID   uuid.UUID
	WorkspaceID *uuid.UUID
	CreatedAt   time.Time
}

// TableName is the profile assignments table.
func (Assignment) TableName() string { return "profile_assignments" }

// View is a profile as the API shows it.
type View struct {
	ID          uuid.UUID       `json:"id"`
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Settings    json.RawMessage `json:"settings" description:"valid for the type, with every setting present"`
	OwnerID     *uuid.UUID      `json:"owner_id"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

func (p Profile) view() View {
	return View{ID: p.ID, Type: p.Type, Name: p.Name, Description: p.Description,
		Settings: json.RawMessage(p.Settings), OwnerID: p.OwnerID, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

// TypeView is a profile type as GET /profile-types shows it.
type TypeView struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Settings    Schema          `json:"settings"`
	Default     json.RawMessage `json:"default" description:"the settings in force where no profile of the type is assigned"`
}

// Schema is a type's settings described as a JSON Schema object. The API document says
// just that, rather than spell out JSON Schema's own meta-schema.
type Schema struct{ jsonschema.Schema }

// JSONSchema describes Schema in the API document.
func (Schema) JSONSchema() (jsonschema.Schema, error) {
	var s jsonschema.Schema
	s.WithType(jsonschema.Object.Type()).
		WithDescription("a JSON Schema of the settings object: type, properties (each with type, description, " +
			"default, and where they apply nullable, minimum, maximum, enum, items, additionalProperties), " +
			"additionalProperties: false").
		WithProperties(map[string]jsonschema.SchemaOrBool{
			"type":                 (&jsonschema.Schema{}).WithType(jsonschema.String.Type()).ToSchemaOrBool(),
			"properties":           (&jsonschema.Schema{}).WithType(jsonschema.Object.Type()).WithAdditionalProperties((&jsonschema.Schema{}).WithType(jsonschema.Object.Type()).ToSchemaOrBool()).ToSchemaOrBool(),
			"additionalProperties": (&jsonschema.Schema{}).WithType(jsonschema.Boolean.Type()).ToSchemaOrBool(),
		})
	return s, nil
}

// CreateInput creates a profile.
type CreateInput struct {
	Type        string          `json:"type" validate:"required" description:"a registered profile type (GET /profile-types)"`
	Name        string          `json:"name" validate:"required,name" description:"1–100 characters, unique per type (case-insensitive)"`
	Description string          `json:"description" validate:"text" description:"up to 1000 characters"`
	Settings    json.RawMessage `json:"settings" validate:"required" description:"an object valid for the type; absent settings take the type's defaults"`
}

// UpdateInput changes a profile; absent fields stay as they are. New settings replace the old
// ones entirely (absent settings take the type's defaults) and are validated again.
type UpdateInput struct {
	Name        *string         `json:"name" validate:"omitempty,name"`
	Description *string         `json:"description" validate:"omitempty,text"`
	Settings    json.RawMessage `json:"settings"`
}

// AssignInput puts a profile in force on a node.
type AssignInput struct {
	ProfileID string `json:"profile_id" validate:"required" format:"uuid" description:"a profile whose type is the route's {type}"`
}

// ListQuery is the profile listing's query string.
type ListQuery struct {
	web.PageQuery
	Type string `query:"type" description:"only profiles of this type"`
}

// Origin is the node an effective profile was assigned on.
type Origin struct {
	Node        string     `json:"node" description:"tenant (the root) or ws:<id>"`
	WorkspaceID *uuid.UUID `json:"workspace_id"`
	Path        string     `json:"path" description:"the workspace's path; empty for the tenant root"`
	// parent is the node above (the tenant root for a root workspace; empty for the root).
	parent string
}

// AssignmentView is an assignment as the API shows it.
type AssignmentView struct {
	Origin
	Type      string    `json:"type"`
	Profile   View      `json:"profile"`
	CreatedAt time.Time `json:"created_at"`
}

// Effective is the profile of one type in force on a node.
type Effective struct {
	Type string `json:"type"`
	// Settings are the profile's, or the type's defaults when no profile governs the node.
	Settings json.RawMessage `json:"settings"`
	// Profile is nil when no profile governs the node.
	Profile *View `json:"profile"`
	// Inherited is true when the profile is assigned on an ancestor, not on the node itself.
	Inherited bool `json:"inherited"`
	// From is the node the profile is assigned on; nil when the type's defaults apply.
	From *Origin `json:"from"`
}

// EffectiveView is every type's effective profile on a node.
type EffectiveView struct {
	Origin
	Profiles []Effective `json:"profiles"`
}
