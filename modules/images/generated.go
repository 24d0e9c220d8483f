package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"io"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/tenancy"
)

// What jobs need of images (the queue's inputs and results). Every method acts as the caller in
// ctx — the job's requester — and goes through the same read check and board add check as the
// API, so a job can reach nothing its requester could not.

// CheckReadable returns nil when the caller can read every image, else the same 404 as a missing
// image for the first one they cannot.
func (s *Service) CheckReadable(ctx context.Context, ids []uuid.UUID) error {
	if len(ids) == 0 {
		return nil
	}
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		for _, id := range ids {
			if _, err := s.load(ctx, tx, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// Decode read-checks an image as the caller and decodes its file within the upload limits.
func (s *Service) Decode(ctx context.Context, id uuid.UUID) (image.Image, error) {
	_, f, _, err := s.File(ctx, id, false)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, s.limits.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read image %s: %w", id, err)
	}
	_, img, err := s.gate.Inspect(ctx, data, s.limits)
	if apierr.Is(err, apierr.CodeUnavailable) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("decode image %s: %w", id, err)
	}
	return img, nil
}

// MayAddTo returns nil when the caller may add images to the board, which must be in the
// workspace: 404 when they cannot see it, 403 when they see it but may not add, 400 when it is
// in another workspace.
func (s *Service) MayAddTo(ctx context.Context, wsID, boardID uuid.UUID) error {
	return s.db.Tx(ctx, func(tx *gorm.DB) error {
		return s.mayAdd(ctx, tx, wsID, boardID)
	})
}

func (s *Service) mayAdd(ctx context.Context, tx *gorm.DB, wsID, boardID uuid.UUID) error {
	b, err := s.boards.Load(ctx, tx, boardID)
	if err != nil {
		return err
	}
	if b.WorkspaceID != wsID {
		return apierr.Invalid("board_id", "the board is in another workspace")
	}
	if !b.AddImages {
		return s.boardGuard.Forbid(ctx, "board:add_images", boardID, "may not add images to this board")
	}
	return nil
}

// Generated is an image a job made: an encoded PNG and its generation metadata (a JSON object).
type Generated struct {
	Name     string
	PNG      []byte
	Metadata []byte
}

// SaveGenerated stores images made for the caller on a board of the workspace; the caller owns
// them. The files are written first (each atomically, under its final key), then one
// transaction re-checks the add right, inserts every row and runs commit with their ids (the
// job records its result there; an error from commit undoes the rows). If the transaction fails
// the files are removed: no row ever lacks its file, and no half-written file exists.
func (s *Service) SaveGenerated(ctx context.Context, wsID, boardID uuid.UUID, gens []Generated,
	commit func(tx *gorm.DB, ids []uuid.UUID) error) ([]uuid.UUID, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return nil, apierr.Unauthorized()
	}
	if err := s.MayAddTo(ctx, wsID, boardID); err != nil {
		return nil, err
	}
	rows := make([]Image, 0, len(gens))
	ids := make([]uuid.UUID, 0, len(gens))
	var written []uuid.UUID
	cleanup := func() {
		for _, id := range written {
			s.removeFiles(ctx, p.TenantID, id)
		}
	}
	for _, g := range gens {
		meta, err := metadataOf(g.Metadata)
		if err != nil {
			cleanup()
			return nil, err
		}
		thumb, clean, media, err := s.derive(ctx, g.PNG)
		if err == nil && media.Format != "png" {
			err = fmt.Errorf("a %s, not a PNG", media.Format)
		}
		if err != nil {
			cleanup()
			return nil, fmt.Errorf("generated image: %w", err)
		}
		id, err := uuid.NewV7()
		if err != nil {
			cleanup()
			return nil, err
		}
		sum := sha256.Sum256(g.PNG)
		b := boardID
		rows = append(rows, Image{ID: id, WorkspaceID: wsID, OwnerID: p.UserID, BoardID: &b, Name: g.Name,
			ContentType: media.ContentType, SizeBytes: int64(len(g.PNG)), Width: media.Width, Height: media.Height,
			Sha256: hex.EncodeToString(sum[:]), Metadata: meta})
		ids = append(ids, id)
		written = append(written, id)
		if err := s.storage.Put(ctx, FileKey(p.TenantID, id), g.PNG); err != nil {
			cleanup()
			return nil, fmt.Errorf("store image: %w", err)
		}
		if err := s.storage.Put(ctx, ThumbKey(p.TenantID, id), thumb); err != nil {
			cleanup()
			return nil, fmt.Errorf("store thumbnail: %w", err)
		}
		if err := s.storage.Put(ctx, CleanKey(p.TenantID, id), clean); err != nil {
			cleanup()
			return nil, fmt.Errorf("store stripped copy: %w", err)
		}
	}
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := s.mayAdd(ctx, tx, wsID, boardID); err != nil {
			return err
		}
		if len(rows) > 0 {
			if err := tx.Create(&rows).Error; err != nil {
				return fmt.Errorf("insert generated images: %w", err)
			}
		}
		if commit != nil {
			return commit(tx, ids)
		}
		return nil
	})
	if err != nil {
		cleanup()
		return nil, err
	}
	for _, id := range ids {
		s.guard.Allow(ctx, "image:create", id, map[string]any{"workspace_id": wsID.String(), "generated": true})
	}
	return ids, nil
}
