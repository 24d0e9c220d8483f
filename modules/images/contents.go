package images

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Contents is the images module's part in deleting workspaces (workspaces.Contents).
type Contents struct{ s *Service }

// Contents returns the workspaces.Contents of images.
func (s *Service) Contents() Contents { return Contents{s: s} }

// Count is how many images the workspaces hold.
func (c Contents) Count(_ context.Context, tx *gorm.DB, wsIDs []uuid.UUID) (int64, error) {
	var n int64
	err := tx.Model(&Image{}).Where("workspace_id IN ?", wsIDs).Count(&n).Error
	return n, err
}

// DeleteIn deletes the workspaces' images inside tx; a job removes their files after commit.
func (c Contents) DeleteIn(ctx context.Context, tx *gorm.DB, wsIDs []uuid.UUID) (func(), error) {
	var ids []uuid.UUID
	if err := tx.Model(&Image{}).Where("workspace_id IN ?", wsIDs).Pluck("id", &ids).Error; err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	if err := tx.Where("workspace_id IN ?", wsIDs).Delete(&Image{}).Error; err != nil {
		return nil, err
	}
	return c.s.removals.schedule(ctx, tx, ids)
}
