package queue

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Contents is the queue's part in deleting workspaces (workspaces.Contents).
type Contents struct{}

// Contents returns the workspaces.Contents of queue items.
func (s *Service) Contents() Contents { return Contents{} }

// Count is how many queue items the workspaces hold.
func (Contents) Count(_ context.Context, tx *gorm.DB, wsIDs []uuid.UUID) (int64, error) {
	var n int64
	err := tx.Model(&Item{}).Where("workspace_id IN ?", wsIDs).Count(&n).Error
	return n, err
}

// DeleteIn deletes the workspaces' queue items inside tx. A worker running one of them finds it
// gone at its next node and saves nothing.
func (Contents) DeleteIn(_ context.Context, tx *gorm.DB, wsIDs []uuid.UUID) (func(), error) {
	return nil, tx.Where("workspace_id IN ?", wsIDs).Delete(&Item{}).Error
}
