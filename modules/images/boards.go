package images

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/rbac"
)

// Board is a board as images needs it: where it is, and how one user stands to it. The boards
// module decides the standing (SPEC §6's table); images only reads the answers.
type Board struct {
	ID          uuid.UUID
	WorkspaceID uuid.UUID
	Name        string
	Description string

	Read      bool // reads the board, and so every image on it
	AddImages bool // uploads or generates onto it, puts images on it
	ChangeOwn bool // updates or deletes their own images on it
	ChangeAny bool // updates or deletes anyone's images on it
	Admin     bool // admin over the board's workspace
	ReadAll   bool // reads every board of the workspace (auditors)

	// Why the board lets the user change images, for explanations: its owner changes any image
	// on it, an editor their own, a workspace member their own on a public board.
	Role         string // the user's membership role on the board, "" for none
	Owner        bool
	Editor       bool
	PublicMember bool
}

// Boards is what images needs of the boards module.
type Boards interface {
	// Load is the board and the caller's standing; 404 when the caller cannot read it.
	Load(ctx context.Context, tx *gorm.DB, id uuid.UUID) (Board, error)
	// Relate is the board and the caller's standing, readable or not (404 only when there is no
	// such board), for a caller whose roles may show them the board's images.
	Relate(ctx context.Context, tx *gorm.DB, id uuid.UUID) (Board, error)
	// RelateUser is Relate for a user who need not be the caller (explanations).
	RelateUser(ctx context.Context, tx *gorm.DB, id, tenantID, userID uuid.UUID) (Board, error)
	// ExplainRead explains whether the user reads the board, and so its images.
	ExplainRead(ctx context.Context, id, userID uuid.UUID) (rbac.Explanation, error)
	// VisibleIDs is the ids of the workspace's boards the user sees, as a subquery of tx: the
	// boards' visibility rule as a condition of images' own query.
	VisibleIDs(tx *gorm.DB, workspaceID, userID uuid.UUID, seeAll, wsMember bool) *gorm.DB
	// Published is a published board (404 otherwise) and ctx scoped to its tenant, for anonymous
	// readers; the standing is empty.
	Published(ctx context.Context, id uuid.UUID) (context.Context, Board, error)
}

// mayChange is SPEC §6's "update / delete an image" row for an image on the board.
func (b Board) mayChange(ownImage bool) bool {
	if ownImage {
		return b.ChangeOwn
	}
	return b.ChangeAny
}

// BoardImages is what happens to a board's images when the board is deleted or moved (the
// boards module's Images). It needs no boards, so boards is built with it.
type BoardImages struct{ removals *Removals }

// NewBoardImages returns the board hooks; deleted images' files go through removals.
func NewBoardImages(r *Removals) BoardImages { return BoardImages{removals: r} }

// BoardDeleted: the board's images become uncategorised, or are deleted (rows now, files after
// commit).
func (bi BoardImages) BoardDeleted(ctx context.Context, tx *gorm.DB, boardID uuid.UUID, deleteImages bool) (func(), error) {
	if !deleteImages {
		return nil, tx.Model(&Image{}).Where("board_id = ?", boardID).Update("board_id", nil).Error
	}
	var ids []uuid.UUID
	if err := tx.Model(&Image{}).Where("board_id = ?", boardID).Pluck("id", &ids).Error; err != nil {
		return nil, err
	}
	if err := tx.Where("board_id = ?", boardID).Delete(&Image{}).Error; err != nil {
		return nil, err
	}
	return bi.removals.schedule(ctx, tx, ids)
}

// BoardMoved: a board's images move with it.
func (BoardImages) BoardMoved(_ context.Context, tx *gorm.DB, boardID, workspaceID uuid.UUID) error {
	return tx.Model(&Image{}).Where("board_id = ?", boardID).Update("workspace_id", workspaceID).Error
}
