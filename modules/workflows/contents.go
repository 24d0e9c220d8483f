package workflows

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Contents is the workflows' part in deleting workspaces (workspaces.Contents).
type Contents struct{}

// Contents returns the workspaces.Contents of workflows.
func (s *Service) Contents() Contents { return Contents{} }

// Count is how many workflows the workspaces hold (system workflows are in none).
func (Contents) Count(_ context.Context, tx *gorm.DB, wsIDs []uuid.UUID) (int64, error) {
	var n int64
	err := tx.Model(&Workflow{}).Where("workspace_id IN ?", wsIDs).Count(&n).Error
	return n, err
}

// DeleteIn deletes the workspaces' workflows inside tx; tags and thumbnails go with them by
// foreign key.
func (Contents) DeleteIn(_ context.Context, tx *gorm.DB, wsIDs []uuid.UUID) (func(), error) {
	return nil, tx.Where("workspace_id IN ?", wsIDs).Delete(&Workflow{}).Error
}
