package boards

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Contents is the boards module's part in deleting workspaces (workspaces.Contents). Register
// it after the images' Contents, so that a cascade has removed the images first.
type Contents struct{}

// Contents returns the workspaces.Contents of boards.
func (s *Service) Contents() Contents { return Contents{} }

// Count is how many boards the workspaces hold.
func (Contents) Count(_ context.Context, tx *gorm.DB, wsIDs []uuid.UUID) (int64, error) {
	var n int64
	err := tx.Model(&Board{}).Where("workspace_id IN ?", wsIDs).Count(&n).Error
	return n, err
}

// DeleteIn deletes the workspaces' boards inside tx; members and the published index go with
// them by foreign key.
func (Contents) DeleteIn(_ context.Context, tx *gorm.DB, wsIDs []uuid.UUID) (func(), error) {
	return nil, tx.Where("workspace_id IN ?", wsIDs).Delete(&Board{}).Error
}
