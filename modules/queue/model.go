// Package queue runs workflows for users (SPEC §8): a user enqueues a workflow with field values
// and a destination board in a workspace; an asynq worker runs it as that user — re-checking
// every right at that moment — reports progress per node, and saves the results as the user's
// images on that board. Anyone who reads the workspace sees the queue, but field values, results
// and errors only the owner and admins (the privacy profile).
package queue

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"gorm.io/datatypes"
)

// Statuses of an item: pending → running → completed | failed | canceled.
const (
	StatusPending   = "pending"
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusCanceled  = "canceled"
	// StatusDeleted is never stored: the queue_item event of a deleted item says so.
	StatusDeleted = "deleted"
)

// finished reports whether the status is final.
func finished(status string) bool {
	return status == StatusCompleted || status == StatusFailed || status == StatusCanceled
}

// Item is a queue_items row.
type Item struct {
	TenantID       uuid.UUID `gorm:"primaryKey"`
	ID             uuid.UUID `gorm:"primaryKey"`
	WorkspaceID    uuid.UUID
	OwnerID        uuid.UUID
	WorkflowID     uuid.UUID
	WorkflowName   string
	Graph          string
	FieldValues    datatypes.JSON
	BoardID        uuid.UUID
	Status         string
	Progress       float64
	Error          string
	ResultImageIDs datatypes.JSON
	Attempt        int
	LeaseUntil     *time.Time
	CreatedAt      time.Time
	StartedAt      *time.Time
	FinishedAt     *time.Time
	UpdatedAt      time.Time
}

// TableName is queue_items.
func (Item) TableName() string { return "queue_items" }

// listed is an item with its owner's name and e-mail, as the listing reads it.
type listed struct {
	Item
	OwnerDisplayName string
	OwnerEmail       string
}

// View is a queue item as the API shows it. FieldValues, ResultImageIDs and Error are null with
// Hidden set for callers the privacy profile hides them from.
type View struct {
	ID             uuid.UUID       `json:"id"`
	WorkspaceID    uuid.UUID       `json:"workspace_id"`
	OwnerID        uuid.UUID       `json:"owner_id"`
	OwnerName      string          `json:"owner_name" description:"the owner's display name, else e-mail, else id"`
	WorkflowID     uuid.UUID       `json:"workflow_id"`
	WorkflowName   string          `json:"workflow_name"`
	BoardID        uuid.UUID       `json:"board_id"`
	Status         string          `json:"status" enum:"pending,running,completed,failed,canceled"`
	Progress       float64         `json:"progress"`
	FieldValues    json.RawMessage `json:"field_values"`
	ResultImageIDs json.RawMessage `json:"result_image_ids"`
	Error          *string         `json:"error"`
	Hidden         bool            `json:"hidden,omitempty" description:"field values, results and error are hidden from the caller"`
	CreatedAt      time.Time       `json:"created_at"`
	StartedAt      *time.Time      `json:"started_at"`
	FinishedAt     *time.Time      `json:"finished_at"`
}

// ownerName is the display name, else the e-mail, else the id.
func ownerName(id uuid.UUID, display, email string) string {
	switch {
	case display != "":
		return display
	case email != "":
		return email
	}
	return id.String()
}

func (l listed) view(show bool) View {
	it := l.Item
	v := View{ID: it.ID, WorkspaceID: it.WorkspaceID, OwnerID: it.OwnerID,
		OwnerName:  ownerName(it.OwnerID, l.OwnerDisplayName, l.OwnerEmail),
		WorkflowID: it.WorkflowID, WorkflowName: it.WorkflowName, BoardID: it.BoardID, Status: it.Status,
		Progress: it.Progress, CreatedAt: it.CreatedAt.UTC(), StartedAt: utc(it.StartedAt), FinishedAt: utc(it.FinishedAt)}
	if !show {
		v.FieldValues, v.ResultImageIDs, v.Hidden = json.RawMessage("null"), json.RawMessage("null"), true
		return v
	}
	v.FieldValues = orDefault(it.FieldValues, "{}")
	v.ResultImageIDs = orDefault(it.ResultImageIDs, "[]")
	if it.Error != "" {
		e := it.Error
		v.Error = &e
	}
	return v
}

func orDefault(raw datatypes.JSON, def string) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage(def)
	}
	return json.RawMessage(raw)
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// EnqueueInput enqueues a workflow run.
type EnqueueInput struct {
	WorkflowID  uuid.UUID                  `json:"workflow_id" validate:"required"`
	BoardID     uuid.UUID                  `json:"board_id" validate:"required" description:"destination board of the results (add rights needed)"`
	FieldValues map[string]json.RawMessage `json:"field_values" validate:"max=64" description:"values of the workflow's exposed fields, keyed NODE.FIELD"`
}

// CancelAllInput cancels items in bulk.
type CancelAllInput struct {
	Scope string `json:"scope" validate:"required,oneof=mine all" description:"mine: the caller's items; all: every item of the workspace (admins)"`
}

// CancelAllResult says how many items were canceled.
type CancelAllResult struct {
	Canceled int `json:"canceled"`
}

// ItemEvent is the data of a queue_item event (owner and admins of the workspace only).
type ItemEvent struct {
	ItemID      uuid.UUID   `json:"item_id"`
	WorkspaceID uuid.UUID   `json:"workspace_id"`
	Status      string      `json:"status"`
	Progress    float64     `json:"progress"`
	Node        string      `json:"node,omitempty"`
	Error       string      `json:"error,omitempty"`
	ResultIDs   []uuid.UUID `json:"result_image_ids,omitempty"`
}

// CountsEvent is the data of a queue_counts event (every user of the tenant): counts only.
type CountsEvent struct {
	Pending int64 `json:"pending"`
	Running int64 `json:"running"`
}
