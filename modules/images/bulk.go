package images

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
)

// Readable sorts ids into the images the caller can read, in the order given, and the ids that
// are missing or unreadable (the two are indistinguishable, as everywhere). Every id goes through
// the same read check as GET /images/{id}, in one transaction. Bulk features (downloads) use it
// to refuse a request with any unreadable id before queuing anything.
func (s *Service) Readable(ctx context.Context, ids []uuid.UUID) ([]Image, []uuid.UUID, error) {
	var ok []Image
	var missing []uuid.UUID
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		ok, missing = ok[:0], missing[:0]
		for _, id := range ids {
			a, err := s.load(ctx, tx, id)
			if apierr.Is(err, apierr.CodeNotFound) {
				missing = append(missing, id)
				continue
			}
			if err != nil {
				return err
			}
			ok = append(ok, a.img)
		}
		return nil
	})
	return ok, missing, err
}

// OnBoard returns a board the caller can read (404 otherwise) and up to limit of its images,
// oldest first. Whoever reads a board reads every image on it.
func (s *Service) OnBoard(ctx context.Context, boardID uuid.UUID, limit int) (Board, []Image, error) {
	var b Board
	var rows []Image
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if b, err = s.boards.Load(ctx, tx, boardID); err != nil {
			return err
		}
		return tx.Where("board_id = ?", boardID).Order("id").Limit(limit).Find(&rows).Error
	})
	return b, rows, err
}
