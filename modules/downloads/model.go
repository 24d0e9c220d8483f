// Package downloads builds zips of images for their requester (SPEC §8): every image is
// read-checked before anything is queued, the worker checks each again as the requester when it
// runs, the archive is streamed to storage under a temporary name and renamed when complete, and
// only the requester can fetch it (with their credentials or a short-lived signed link).
//
// A download is personal data: nobody but its owner sees it, tenant admins included (they can
// read the images themselves). Anyone else gets 404, exactly as for a download that does not
// exist.
package downloads

import (
	"time"

	"github.com/google/uuid"
	"gorm.io/datatypes"
)

// Statuses of a download.
const (
	StatusPending = "pending" // queued, not started
	StatusRunning = "running" // a worker is writing the archive
	StatusReady   = "ready"   // the archive is complete and can be fetched until expires_at
	StatusFailed  = "failed"  // the build gave up; error says why
	StatusExpired = "expired" // past expires_at: the file is gone
)

// Download is a download row.
type Download struct {
	TenantID    uuid.UUID `gorm:"primaryKey"`
	ID          uuid.UUID `gorm:"primaryKey"`
	OwnerID     uuid.UUID
	WorkspaceID *uuid.UUID
	BoardID     *uuid.UUID
	// ImageIDs are the images asked for (for a board, those on it when it was asked for), in
	// archive order, as a JSON array.
	ImageIDs     datatypes.JSONSlice[uuid.UUID]
	Status       string
	ImageCount   int
	OmittedCount int
	Bytes        int64
	Progress     float64
	Error        string
	Checksum     string
	// File is the stored archive's name once ready (Storage names each build's archive).
	File      string
	ExpiresAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// View is a download as its owner sees it. Bytes is the sum of the images' sizes until the
// archive is ready, then the archive's size; checksum is the archive's SHA-256 once ready.
type View struct {
	ID           uuid.UUID  `json:"id"`
	Status       string     `json:"status" enum:"pending,running,ready,failed,expired"`
	WorkspaceID  *uuid.UUID `json:"workspace_id"`
	BoardID      *uuid.UUID `json:"board_id"`
	ImageCount   int        `json:"image_count"`
	OmittedCount int        `json:"omitted_count"`
	Bytes        int64      `json:"bytes"`
	Progress     float64    `json:"progress"`
	Error        string     `json:"error,omitempty"`
	Checksum     string     `json:"checksum,omitempty"`
	ExpiresAt    time.Time  `json:"expires_at"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// view shows the row as of now: a download past its expiry is expired even before the cleanup
// job has removed its file.
func (d Download) view(now time.Time) View {
	status := d.Status
	if !now.Before(d.ExpiresAt) {
		status = StatusExpired
	}
	return View{ID: d.ID, Status: status, WorkspaceID: d.WorkspaceID, BoardID: d.BoardID, ImageCount: d.ImageCount,
		OmittedCount: d.OmittedCount, Bytes: d.Bytes, Progress: d.Progress, Error: d.Error, Checksum: d.Checksum,
		ExpiresAt: d.ExpiresAt.UTC(), CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
}

// CreateInput asks for a download of a board or of images (exactly one of the two).
type CreateInput struct {
	BoardID  *uuid.UUID  `json:"board_id"`
	ImageIDs []uuid.UUID `json:"image_ids" validate:"omitempty,max=10000"`
	// Workspace optionally names the workspace (id or path) every image must belong to.
	Workspace string `json:"workspace" validate:"omitempty,max=1000"`
}

// Link is a signed link to a download's file.
type Link struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}
