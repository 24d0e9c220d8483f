package images

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/decision"
	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// ListFilter selects images of one workspace: all the caller can read, only the caller's
// uncategorised ones (Uncategorised), or one board's (Board).
type ListFilter struct {
	Uncategorised bool
	Board         *uuid.UUID
}

// List pages through the images of a workspace the caller can read, in one query: the read rule
// is a condition of the SQL, never a filter over loaded rows. Uncategorised images are only ever
// the caller's own.
func (s *Service) List(ctx context.Context, wsRef string, f ListFilter, after uuid.UUID, limit int) ([]View, error) {
	ws, err := s.workspaces.Resolve(ctx, wsRef)
	if err != nil {
		return nil, err
	}
	p, _ := tenancy.PrincipalFrom(ctx)
	node := rbac.WorkspaceNode(ws.ID)
	rights, err := s.authz.RightsOn(ctx, p.TenantID, p.UserID, node)
	if err != nil {
		return nil, err
	}
	st := accessOf(rights)
	admin, readAll, wsMember := st.admin, st.readAll, rights.Has(rbac.WorkspaceRead)
	rule, err := s.metadataRule(ctx, ws.ID)
	if err != nil {
		return nil, err
	}
	var rows []Image
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		q := tx.Where("images.workspace_id = ?", ws.ID)
		switch {
		case f.Uncategorised:
			q = q.Where("images.board_id IS NULL AND images.owner_id = ?", p.UserID)
		case f.Board != nil:
			b, err := s.boards.Load(ctx, tx, *f.Board)
			if err != nil {
				return err
			}
			if b.WorkspaceID != ws.ID {
				return apierr.NotFound("board")
			}
			q = q.Where("images.board_id = ?", *f.Board)
		default:
			// Whatever makes a board readable through a role makes its images listed.
			seeAll := st.sees() || rights.Any(rbac.BoardUpdate, rbac.BoardDelete, rbac.BoardPublish, rbac.BoardMembers)
			q = q.Where("((images.board_id IS NULL AND images.owner_id = ?) OR images.board_id IN (?))",
				p.UserID, s.boards.VisibleIDs(tx, ws.ID, p.UserID, seeAll, wsMember))
		}
		if after != uuid.Nil {
			q = q.Where("images.id > ?", after)
		}
		return q.Order("images.id").Limit(limit).Find(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	out := make([]View, len(rows))
	for i, img := range rows {
		out[i] = img.view(rule(audience{owner: img.OwnerID == p.UserID, admin: admin, auditor: readAll && !admin}))
	}
	return out, nil
}

// BoardImages pages through one board's images (readers of the board).
func (s *Service) BoardImages(ctx context.Context, boardID uuid.UUID, after uuid.UUID, limit int) ([]View, error) {
	var rows []Image
	var b Board
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		b, err = s.boards.Load(ctx, tx, boardID)
		if err != nil {
			return err
		}
		q := tx.Where("board_id = ?", boardID)
		if after != uuid.Nil {
			q = q.Where("id > ?", after)
		}
		return q.Order("id").Limit(limit).Find(&rows).Error
	})
	if err != nil {
		return nil, err
	}
	rule, err := s.metadataRule(ctx, b.WorkspaceID)
	if err != nil {
		return nil, err
	}
	p, _ := tenancy.PrincipalFrom(ctx)
	out := make([]View, len(rows))
	for i, img := range rows {
		out[i] = img.view(rule(audience{owner: img.OwnerID == p.UserID, admin: b.Admin, auditor: b.ReadAll && !b.Admin}))
	}
	return out, nil
}

// AddToBoard puts images on a board. Each image needs its caller to be its direct owner (or an
// admin) — board ownership never confers rights over someone else's image — and add rights on
// the board; an image already on another board also needs delete rights there. All images are
// in the board's workspace. All or nothing.
func (s *Service) AddToBoard(ctx context.Context, boardID uuid.UUID, ids []uuid.UUID) error {
	if err := decision.RequireWrite(ctx); err != nil {
		return err
	}
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		dest, err := s.boards.Load(ctx, tx, boardID)
		if err != nil {
			return err
		}
		if !dest.AddImages {
			return s.boardGuard.Forbid(ctx, "board:add_images", boardID, "may not add images to this board")
		}
		all, err := s.loadMany(ctx, tx, ids)
		if err != nil {
			return err
		}
		for _, a := range all {
			id := a.img.ID
			if !a.own && !a.admin {
				return s.guard.Forbid(ctx, "image:add_to_board", id, "only the image's owner (or an admin) may put it on a board")
			}
			if a.img.WorkspaceID != dest.WorkspaceID {
				return apierr.Invalid("image_ids", "image "+id.String()+" is in another workspace")
			}
			if a.board != nil && a.board.ID != boardID && !a.mayDelete() {
				return s.guard.Forbid(ctx, "image:move", id, "may not take this image off its board")
			}
		}
		return tx.Model(&Image{}).Where("id IN ?", ids).Update("board_id", boardID).Error
	})
	if err != nil {
		return err
	}
	s.boardGuard.Allow(ctx, "board:add_images", boardID, map[string]any{"images": len(ids)})
	return nil
}

// RemoveFromBoard takes an image off a board (delete rights there); it becomes its owner's
// uncategorised image.
func (s *Service) RemoveFromBoard(ctx context.Context, boardID, imageID uuid.UUID) error {
	if err := decision.RequireWrite(ctx); err != nil {
		return err
	}
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		a, err := s.load(ctx, tx, imageID)
		if err != nil {
			return err
		}
		if a.board == nil || a.board.ID != boardID {
			return apierr.NotFound("image")
		}
		if !a.mayDelete() {
			return s.guard.Forbid(ctx, "board:remove_image", imageID, "may not take this image off the board")
		}
		return tx.Model(&Image{}).Where("id = ?", imageID).Update("board_id", nil).Error
	})
	if err != nil {
		return err
	}
	s.boardGuard.Allow(ctx, "board:remove_image", boardID, map[string]any{"image": imageID.String()})
	return nil
}

// PublicBoard is a published board with its images, for anonymous readers.
type PublicBoard struct {
	Board  PublishedBoard `json:"board"`
	Images []PublicImage  `json:"images"`
	// NextCursor pages through the images (?cursor=…&limit=…), as every list does.
	NextCursor *string `json:"next_cursor"`
}

// PublishedBoard is a published board as anonymous readers see it: no members, owners or e-mails.
type PublishedBoard struct {
	ID          uuid.UUID `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
}

// Public returns a published board and a page of its images (after the cursor, at most limit):
// no members, owners, e-mails or metadata.
func (s *Service) Public(ctx context.Context, boardID uuid.UUID, page web.Cursor) (PublicBoard, error) {
	ctx, b, err := s.boards.Published(ctx, boardID)
	if err != nil {
		return PublicBoard{}, err
	}
	var rows []Image
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		q := tx.Where("board_id = ?", boardID)
		if page.After != uuid.Nil {
			q = q.Where("id > ?", page.After)
		}
		return q.Order("id").Limit(page.Limit + 1).Find(&rows).Error
	})
	if err != nil {
		return PublicBoard{}, err
	}
	views := make([]PublicImage, len(rows))
	for i, img := range rows {
		views[i] = PublicImage{ID: img.ID, Name: img.Name, ContentType: img.ContentType, Width: img.Width, Height: img.Height}
	}
	pg := web.NewPage(views, page.Limit, func(v PublicImage) uuid.UUID { return v.ID })
	return PublicBoard{Board: PublishedBoard{ID: b.ID, Name: b.Name, Description: b.Description},
		Images: pg.Items, NextCursor: pg.NextCursor}, nil
}

// PublicFile opens an image's thumbnail, or its stripped copy (never the file as uploaded), if
// it is on the published board.
func (s *Service) PublicFile(ctx context.Context, boardID, imageID uuid.UUID, thumbnail bool) (Image, ReadSeekCloser, int64, error) {
	ctx, _, err := s.boards.Published(ctx, boardID)
	if err != nil {
		return Image{}, nil, 0, err
	}
	var img Image
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Where("id = ? AND board_id = ?", imageID, boardID).Take(&img).Error
	})
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Image{}, nil, 0, apierr.NotFound("image")
	}
	if err != nil {
		return Image{}, nil, 0, err
	}
	if thumbnail {
		return s.open(ctx, img, fileThumb)
	}
	return s.open(ctx, img, fileClean)
}
