// Package workflows is the workflow library (SPEC §7): users save graphs (package graph) in a
// workspace, keep them private or share them with the workspace's readers, and every user of
// the tenant reads its system ("default") workflows.
package workflows

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/workflows/graph"
)

// Categories of the library listing.
const (
	CategoryUser    = "user"    // the caller's own, in the workspace
	CategoryShared  = "shared"  // shared in the workspace or an ancestor the caller reads
	CategoryDefault = "default" // the tenant's system workflows
)

// SharedTag is kept on a workflow exactly while its shared flag is set.
const SharedTag = "shared"

// Tag rules.
const (
	MaxTags      = 16
	MaxTagLen    = 32
	MaxQueryLen  = 200
	MaxThumbSide = 512 // stored thumbnails fit in this square
)

// Workflow is a workflows row. A system workflow has no owner and no workspace.
type Workflow struct {
	TenantID     uuid.UUID `gorm:"primaryKey"`
	ID           uuid.UUID `gorm:"primaryKey"`
	WorkspaceID  *uuid.UUID
	OwnerID      *uuid.UUID
	IsSystem     bool
	Name         string
	Description  string
	Shared       bool
	Graph        string
	HasThumbnail bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Tag is a workflow_tags row.
type Tag struct {
	TenantID   uuid.UUID `gorm:"primaryKey"`
	WorkflowID uuid.UUID `gorm:"primaryKey"`
	Tag        string    `gorm:"primaryKey"`
}

// TableName is workflow_tags.
func (Tag) TableName() string { return "workflow_tags" }

// Thumbnail is a workflow_thumbnails row: the re-encoded PNG.
type Thumbnail struct {
	TenantID    uuid.UUID `gorm:"primaryKey"`
	WorkflowID  uuid.UUID `gorm:"primaryKey"`
	ContentType string
	Data        []byte
	Sha256      string
	UpdatedAt   time.Time
}

// TableName is workflow_thumbnails.
func (Thumbnail) TableName() string { return "workflow_thumbnails" }

// Summary is a workflow in a listing (no graph).
type Summary struct {
	ID           uuid.UUID  `json:"id"`
	WorkspaceID  *uuid.UUID `json:"workspace_id"`
	OwnerID      *uuid.UUID `json:"owner_id" description:"null for system workflows"`
	System       bool       `json:"system"`
	Name         string     `json:"name"`
	Description  string     `json:"description"`
	Tags         []string   `json:"tags"`
	Shared       bool       `json:"shared"`
	HasThumbnail bool       `json:"has_thumbnail"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// View is a workflow with its graph.
type View struct {
	Summary
	Graph json.RawMessage `json:"graph"`
}

func (w Workflow) summary(tags []string) Summary {
	if tags == nil {
		tags = []string{}
	}
	return Summary{ID: w.ID, WorkspaceID: w.WorkspaceID, OwnerID: w.OwnerID, System: w.IsSystem, Name: w.Name,
		Description: w.Description, Tags: tags, Shared: w.Shared, HasThumbnail: w.HasThumbnail,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
}

func (w Workflow) view(tags []string) View {
	return View{Summary: w.summary(tags), Graph: json.RawMessage(w.Graph)}
}

// CreateInput saves a workflow.
type CreateInput struct {
	Name        string          `json:"name" validate:"required,min=1,max=200"`
	Description string          `json:"description" validate:"max=2000"`
	Tags        []string        `json:"tags" validate:"max=64"`
	Shared      bool            `json:"shared"`
	Graph       json.RawMessage `json:"graph" validate:"required"`
}

// UpdateInput changes a workflow; absent fields stay.
type UpdateInput struct {
	Name        *string         `json:"name" validate:"omitempty,min=1,max=200"`
	Description *string         `json:"description" validate:"omitempty,max=2000"`
	Tags        *[]string       `json:"tags" validate:"omitempty,max=64"`
	Shared      *bool           `json:"shared"`
	Graph       json.RawMessage `json:"graph"`
}

// Filter narrows a listing.
type Filter struct {
	Category string // "", user, shared or default
	Tag      string
	Query    string // case-insensitive substring of the name
}

// ListQuery documents the listing's query parameters.
type ListQuery struct {
	Category string `query:"category" enum:"user,shared,default" description:"the caller's own, shared, or system workflows; all readable ones when absent"`
	Tag      string `query:"tag" description:"only workflows with this tag"`
	Q        string `query:"q" description:"name contains (case-insensitive)"`
	Limit    int    `query:"limit" minimum:"1" maximum:"200" description:"page size (default 50)"`
	Cursor   string `query:"cursor" description:"next_cursor of the previous page"`
}

// TagsQuery documents the tag list's query parameters.
type TagsQuery struct {
	Category string `query:"category" enum:"user,shared,default" description:"tags of this category only"`
}

// Counts is the number of workflows per category the caller can read in a workspace.
type Counts struct {
	User    int64 `json:"user"`
	Shared  int64 `json:"shared"`
	Default int64 `json:"default"`
}

// TagCount is a tag and how many readable workflows carry it.
type TagCount struct {
	Tag   string `json:"tag"`
	Count int64  `json:"count"`
}

// RunSpec is what the queue needs of a workflow it runs: read-checked as the requester.
type RunSpec struct {
	ID          uuid.UUID
	Name        string
	WorkspaceID uuid.UUID // uuid.Nil for a system workflow
	System      bool
	Graph       *graph.Graph
}
