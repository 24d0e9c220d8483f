// Package images holds images: uploads with thumbnails, their files, and their place on boards.
// Every way to reach an image goes through one read check (SPEC §6).
package images

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"gorm.io/datatypes"
)

// Image is an image row. Its file and thumbnail live in Storage under keys derived from ids.
type Image struct {
	TenantID    uuid.UUID `gorm:"primaryKey"`
	ID          uuid.UUID `gorm:"primaryKey"`
	WorkspaceID uuid.UUID
	OwnerID     uuid.UUID
	BoardID     *uuid.UUID
	Name        string
	ContentType string
	SizeBytes   int64
	Width       int
	Height      int
	Sha256      string
	Starred     bool
	Metadata    datatypes.JSON
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// Stripped: the file opened is the stripped copy (CleanKey), of this ContentType.
	Stripped bool `gorm:"-"`
}

// View is an image as the API shows it. Metadata is the generation metadata: null with
// metadata_hidden set for callers the privacy profile hides it from.
type View struct {
	ID             uuid.UUID       `json:"id"`
	WorkspaceID    uuid.UUID       `json:"workspace_id"`
	OwnerID        uuid.UUID       `json:"owner_id"`
	BoardID        *uuid.UUID      `json:"board_id"`
	Name           string          `json:"name"`
	ContentType    string          `json:"content_type"`
	SizeBytes      int64           `json:"size_bytes"`
	Width          int             `json:"width"`
	Height         int             `json:"height"`
	Starred        bool            `json:"starred"`
	Metadata       json.RawMessage `json:"metadata"`
	MetadataHidden bool            `json:"metadata_hidden,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
}

func (i Image) view(showMetadata bool) View {
	v := View{ID: i.ID, WorkspaceID: i.WorkspaceID, OwnerID: i.OwnerID, BoardID: i.BoardID, Name: i.Name,
		ContentType: i.ContentType, SizeBytes: i.SizeBytes, Width: i.Width, Height: i.Height, Starred: i.Starred,
		CreatedAt: i.CreatedAt}
	if showMetadata {
		v.Metadata = json.RawMessage(i.Metadata)
		if len(v.Metadata) == 0 {
			v.Metadata = json.RawMessage("{}")
		}
	} else {
		v.Metadata = json.RawMessage("null")
		v.MetadataHidden = true
	}
	return v
}

// PublicImage is an image of a published board as anonymous readers see it.
type PublicImage struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
}

// PatchInput renames or stars an image.
type PatchInput struct {
	Name    *string `json:"name" validate:"omitempty,min=1,max=255,name"`
	Starred *bool   `json:"starred"`
}

// AddInput adds images to a board.
type AddInput struct {
	ImageIDs []uuid.UUID `json:"image_ids" validate:"required,min=1,max=100,dive,required"`
}
