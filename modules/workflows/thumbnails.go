package workflows

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image/png"

	"github.com/disintegration/imaging"
	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/decision"
	"github.com/atelier-hq/atelier/modules/images"
)

// Thumbnail returns the thumbnail of a workflow the caller may read (the same check as the
// workflow: InvokeAI served private thumbnails to anyone holding the id).
func (s *Service) Thumbnail(ctx context.Context, id uuid.UUID) (Thumbnail, error) {
	var th Thumbnail
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		if _, _, err := s.load(ctx, tx, id); err != nil {
			return err
		}
		var err error
		th, err = s.store.thumbnail(tx, id)
		if errors.Is(err, errNotFound) {
			return apierr.NotFound("thumbnail")
		}
		return err
	})
	return th, err
}

// PutThumbnail replaces a workflow's thumbnail (owner or admin). Rights are checked before the
// image is decoded; the decoding and re-encoding happen outside any transaction.
func (s *Service) PutThumbnail(ctx context.Context, id uuid.UUID, data []byte) error {
	if err := decision.RequireWrite(ctx); err != nil {
		return err
	}
	check := func(tx *gorm.DB) (access, error) {
		_, a, err := s.load(ctx, tx, id)
		if err != nil {
			return a, err
		}
		if !a.update {
			return a, s.guard.Forbid(ctx, "workflow:update", id, "only the owner or an admin sets the thumbnail")
		}
		return a, nil
	}
	if err := s.db.Tx(ctx, func(tx *gorm.DB) error { _, err := check(tx); return err }); err != nil {
		return err
	}
	_, img, err := images.Inspect(data, ThumbnailLimits)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, imaging.Fit(img, MaxThumbSide, MaxThumbSide, imaging.Lanczos)); err != nil {
		return fmt.Errorf("encode thumbnail: %w", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		a, err := check(tx)
		if err != nil {
			return err
		}
		ok, err := s.store.update(tx, id, owner(ctx, a.updateAny), map[string]any{"has_thumbnail": true,
			"updated_at": gorm.Expr("CURRENT_TIMESTAMP")})
		if err != nil {
			return err
		}
		if !ok {
			return apierr.NotFound("workflow")
		}
		return s.store.putThumbnail(tx, Thumbnail{WorkflowID: id, ContentType: "image/png", Data: buf.Bytes(),
			Sha256: hex.EncodeToString(sum[:])})
	})
	if err != nil {
		return err
	}
	s.guard.Allow(ctx, "workflow:update", id, map[string]any{"rule": "thumbnail"})
	return nil
}
