package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/decision"
	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/modules/workspaces"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// Authorizer is the decision point (rbac.Enforcer).
type Authorizer interface {
	Authorize(ctx context.Context, action rbac.Action, node string) error
	Allowed(ctx context.Context, tenantID, userID uuid.UUID, node string, action rbac.Action) (bool, error)
	RightsOn(ctx context.Context, tenantID, userID uuid.UUID, node string) (rbac.Rights, error)
	Explain(ctx context.Context, tenantID, userID uuid.UUID, node string, action rbac.Action) (rbac.Explanation, error)
}

// Workspaces resolves a workspace reference the caller can see (Resolve), or any of the
// tenant's (Find, for a caller whose access comes through a board).
type Workspaces interface {
	Resolve(ctx context.Context, ref string) (workspaces.Workspace, error)
	Find(ctx context.Context, ref string) (workspaces.Workspace, error)
}

// Service holds the rules of images.
type Service struct {
	db         *tenancy.DB
	authz      Authorizer
	boards     Boards
	workspaces Workspaces
	storage    Storage
	limits     Limits
	guard      decision.Gate
	boardGuard decision.Gate // decisions on a board (adding images to it): audited as board:<id>
	removals   *Removals
	privacy    Privacy
	gate       *DecodeGate
	log        *slog.Logger
}

// Deps is what the service is built from. Privacy may be nil: then the owner and admins see
// generation metadata, nobody else.
type Deps struct {
	DB         *tenancy.DB
	Authz      Authorizer
	Boards     Boards
	Workspaces Workspaces
	Storage    Storage
	Limits     Limits
	Removals   *Removals
	Privacy    Privacy
	Auditor    rbac.Auditor
	Log        *slog.Logger
}

// NewService wires the service.
func NewService(d Deps) *Service {
	return &Service{db: d.DB, authz: d.Authz, boards: d.Boards, workspaces: d.Workspaces, storage: d.Storage,
		limits: d.Limits, removals: d.Removals, privacy: d.Privacy,
		guard: decision.NewGate(d.Authz, d.Auditor, "image"), boardGuard: decision.NewGate(d.Authz, d.Auditor, "board"),
		gate: NewDecodeGate(DefaultDecodeBounds(d.Limits)), log: d.Log}
}

// SetDecodeBounds replaces the default bounds on decoding (DECODE_* settings).
func (s *Service) SetDecodeBounds(b DecodeBounds) { s.gate = NewDecodeGate(b) }

// access is an image with how the caller stands to it.
type access struct {
	img     Image
	board   *Board // nil for an uncategorised image
	own     bool   // the caller is the image's direct owner
	admin   bool   // tenant or workspace admin over the image's workspace
	readAll bool   // reads every image of the workspace (auditors, admins)
	// readOnly: an access profile makes the image's workspace read-only for the caller.
	readOnly bool
	// granted is what roles on the image's workspace or above give on every image there
	// (image:update, image:delete), beside ownership and the board's table.
	granted imageGrants
}

// imageGrants are image rights that come from roles (image:read, image:update, image:delete),
// not from ownership or a board; each holds on every image of the subtree.
type imageGrants struct{ read, update, delete bool }

// accessOf reads the caller's standing towards images of a workspace off their rights there.
func accessOf(r rbac.Rights) access {
	return access{admin: r.Has(rbac.BoardAdmin), readAll: r.Has(rbac.BoardRead), readOnly: r.ReadOnly,
		granted: imageGrants{read: r.Has(rbac.ImageRead), update: r.Has(rbac.ImageUpdate), delete: r.Has(rbac.ImageDelete)}}
}

// sees reports whether roles alone make every image of the workspace visible.
func (a access) sees() bool {
	return a.admin || a.readAll || a.granted.read || a.granted.update || a.granted.delete
}

// mayChange is SPEC §6's "update / delete an image" row; for an uncategorised image, its owner
// and admins.
func (a access) mayChange() bool {
	if a.board == nil {
		return (a.own || a.admin) && !a.readOnly
	}
	return a.board.mayChange(a.own)
}

// mayUpdate: the table's row, or image:update through a role.
func (a access) mayUpdate() bool { return a.mayChange() || (a.granted.update && !a.readOnly) }

// mayDelete: the table's row, or image:delete through a role.
func (a access) mayDelete() bool { return a.mayChange() || (a.granted.delete && !a.readOnly) }

// audience is the caller's standing for the privacy profile.
func (a access) audience() audience {
	return audience{owner: a.own, admin: a.admin, auditor: a.readAll && !a.admin}
}

// view is the image as the caller may see it: generation metadata per the privacy profile in
// force on its workspace.
func (s *Service) view(ctx context.Context, a access) (View, error) {
	rule, err := s.metadataRule(ctx, a.img.WorkspaceID)
	if err != nil {
		return View{}, err
	}
	return a.img.view(rule(a.audience())), nil
}

// load is the one read check every path to an image goes through: an uncategorised image is
// its owner's and admins'; an image on a board is readable by whoever may read the board.
// Anything else is 404, exactly like an image that does not exist.
func (s *Service) load(ctx context.Context, tx *gorm.DB, id uuid.UUID) (access, error) {
	var img Image
	err := tx.Where("id = ?", id).Take(&img).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return access{}, apierr.NotFound("image")
	}
	if err != nil {
		return access{}, err
	}
	return s.accessTo(ctx, tx, img, nil)
}

// loadMany is load for many images in one query; the first id that is missing or unreadable
// answers 404 for it. Boards shared by several images are loaded once.
func (s *Service) loadMany(ctx context.Context, tx *gorm.DB, ids []uuid.UUID) ([]access, error) {
	var rows []Image
	if err := tx.Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	byID := make(map[uuid.UUID]Image, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	seen := map[uuid.UUID]Board{}
	out := make([]access, 0, len(ids))
	for _, id := range ids {
		img, ok := byID[id]
		if !ok {
			return nil, apierr.NotFound("image")
		}
		a, err := s.accessTo(ctx, tx, img, seen)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// accessTo is the caller's access to the image row: 404 when they may not read it. seen, when
// not nil, keeps the boards already loaded by this operation.
func (s *Service) accessTo(ctx context.Context, tx *gorm.DB, img Image, seen map[uuid.UUID]Board) (access, error) {
	id := img.ID
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return access{}, apierr.NotFound("image")
	}
	rights, err := s.authz.RightsOn(ctx, p.TenantID, p.UserID, rbac.WorkspaceNode(img.WorkspaceID))
	if err != nil {
		return access{}, err
	}
	a := accessOf(rights)
	a.img, a.own = img, img.OwnerID == p.UserID
	if img.BoardID == nil {
		if !a.own && !a.sees() {
			s.guard.Deny(ctx, "image:read", id, "an uncategorised image is its owner's")
			return access{}, apierr.NotFound("image")
		}
		return a, nil
	}
	b, cached := seen[*img.BoardID]
	if !cached {
		var err error
		// A role that reads or changes every image of the workspace sees images on boards the
		// caller may not open; everyone else sees an image exactly when they can read its board.
		if b, err = s.boards.Relate(ctx, tx, *img.BoardID); err != nil {
			return access{}, err
		}
		if seen != nil {
			seen[*img.BoardID] = b
		}
	}
	if !b.Read && !a.sees() {
		s.guard.Deny(ctx, "image:read", id, "the image's board is not readable")
		return access{}, apierr.NotFound("image")
	}
	a.board = &b
	return a, nil
}

// Upload is an image to store.
type Upload struct {
	Name    string
	Data    []byte
	BoardID *uuid.UUID
	// Metadata is the generation metadata, a JSON object (empty: none).
	Metadata []byte
}

// MaxMetadataBytes bounds an image's generation metadata.
const MaxMetadataBytes = 64 << 10

// Upload stores a new image in the workspace, on a board if BoardID is set (add rights there)
// or uncategorised (image:create on the workspace). The files are written first and removed
// again if the row cannot be written, so a failed upload leaves nothing behind.
func (s *Service) Upload(ctx context.Context, wsRef string, up Upload) (View, error) {
	name, data, boardID := up.Name, up.Data, up.BoardID
	if err := decision.RequireWrite(ctx); err != nil {
		return View{}, err
	}
	var ws workspaces.Workspace
	var err error
	if boardID == nil {
		if ws, err = s.workspaces.Resolve(ctx, wsRef); err != nil {
			return View{}, err
		}
		if err := s.guard.Authorize(ctx, rbac.ImageCreate, rbac.WorkspaceNode(ws.ID)); err != nil {
			return View{}, err
		}
	} else if ws, err = s.boardTarget(ctx, wsRef, *boardID); err != nil {
		// Onto a board, the board's add rights decide, not a role on its workspace; they are
		// checked before any decoding, and again in the transaction that writes the row.
		return View{}, err
	}
	name, err = web.CheckName("name", name, 255)
	if err != nil {
		return View{}, err
	}
	meta, err := metadataOf(up.Metadata)
	if err != nil {
		return View{}, err
	}
	thumb, clean, media, err := s.derive(ctx, data)
	if err != nil {
		return View{}, err
	}
	p, _ := tenancy.PrincipalFrom(ctx)
	id, err := uuid.NewV7()
	if err != nil {
		return View{}, err
	}
	sum := sha256.Sum256(data)
	img := Image{ID: id, WorkspaceID: ws.ID, OwnerID: p.UserID, BoardID: boardID, Name: name,
		ContentType: media.ContentType, SizeBytes: int64(len(data)), Width: media.Width, Height: media.Height,
		Sha256: hex.EncodeToString(sum[:]), Metadata: meta}
	if err := s.storage.Put(ctx, FileKey(p.TenantID, id), data); err != nil {
		return View{}, fmt.Errorf("store image: %w", err)
	}
	if err := s.storage.Put(ctx, ThumbKey(p.TenantID, id), thumb); err != nil {
		s.removeFiles(ctx, p.TenantID, id)
		return View{}, fmt.Errorf("store thumbnail: %w", err)
	}
	if err := s.storage.Put(ctx, CleanKey(p.TenantID, id), clean); err != nil {
		s.removeFiles(ctx, p.TenantID, id)
		return View{}, fmt.Errorf("store stripped copy: %w", err)
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if boardID != nil {
			if err := s.checkBoardAdd(ctx, tx, ws.ID, *boardID); err != nil {
				return err
			}
		}
		return tx.Create(&img).Error
	})
	if err != nil {
		s.removeFiles(ctx, p.TenantID, id)
		return View{}, err
	}
	s.guard.Allow(ctx, "image:create", id, map[string]any{"workspace_id": ws.ID.String()})
	admin, err := s.authz.Allowed(ctx, p.TenantID, p.UserID, rbac.WorkspaceNode(ws.ID), rbac.BoardAdmin)
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, access{img: img, own: true, admin: admin})
}

// derive decodes an upload within the decode bounds and makes its thumbnail and stripped copy,
// holding the bounds' room until the canvas is no longer needed.
func (s *Service) derive(ctx context.Context, data []byte) (thumb, clean []byte, media Media, err error) {
	media, decoded, release, err := s.gate.Hold(ctx, data, s.limits)
	if err != nil {
		return nil, nil, Media{}, err
	}
	defer release()
	if thumb, _, err = Thumbnail(decoded, media.Format); err != nil {
		return nil, nil, Media{}, fmt.Errorf("thumbnail: %w", err)
	}
	if clean, _, err = Strip(decoded, media.Format); err != nil {
		return nil, nil, Media{}, fmt.Errorf("strip metadata: %w", err)
	}
	return thumb, clean, media, nil
}

// checkBoardAdd checks that the caller may add images to the board, a board of the workspace.
func (s *Service) checkBoardAdd(ctx context.Context, tx *gorm.DB, wsID, boardID uuid.UUID) error {
	b, err := s.boards.Load(ctx, tx, boardID)
	if apierr.Is(err, apierr.CodeNotFound) {
		return apierr.Invalid("board_id", "no such board")
	}
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

// boardTarget is the workspace of an upload onto a board: the board must be one the caller may
// add images to, in the workspace the route names. A board member with no role on the
// workspace uploads through it; a workspace the caller can neither read nor reach through the
// board is 404 as before.
func (s *Service) boardTarget(ctx context.Context, wsRef string, boardID uuid.UUID) (workspaces.Workspace, error) {
	ws, err := s.workspaces.Resolve(ctx, wsRef)
	notVisible := apierr.Is(err, apierr.CodeNotFound)
	if notVisible {
		if ws, err = s.workspaces.Find(ctx, wsRef); err != nil {
			return workspaces.Workspace{}, err
		}
	}
	if err != nil {
		return workspaces.Workspace{}, err
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		b, err := s.boards.Load(ctx, tx, boardID)
		switch {
		case apierr.Is(err, apierr.CodeNotFound) && notVisible:
			return apierr.NotFound("workspace")
		case apierr.Is(err, apierr.CodeNotFound):
			return apierr.Invalid("board_id", "no such board")
		case err != nil:
			return err
		case b.WorkspaceID != ws.ID && notVisible:
			return apierr.NotFound("workspace")
		case b.WorkspaceID != ws.ID:
			return apierr.Invalid("board_id", "the board is in another workspace")
		case !b.AddImages:
			return s.boardGuard.Forbid(ctx, "board:add_images", boardID, "may not add images to this board")
		}
		return nil
	})
	return ws, err
}

// metadataOf checks generation metadata: a JSON object within MaxMetadataBytes ("{}" if none).
func metadataOf(raw []byte) ([]byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return []byte("{}"), nil
	}
	if len(raw) > MaxMetadataBytes {
		return nil, apierr.Invalid("metadata", fmt.Sprintf("at most %d bytes", MaxMetadataBytes))
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, apierr.Invalid("metadata", "must be a JSON object")
	}
	// PostgreSQL's jsonb takes neither invalid UTF-8 nor a NUL character: bad input, not a 500.
	if !utf8.Valid(raw) || bytes.Contains(raw, []byte(`\u0000`)) || web.HasLoneSurrogate(raw) {
		return nil, apierr.Invalid("metadata", "must be valid UTF-8 without NUL characters or lone surrogate escapes")
	}
	return raw, nil
}

// Get returns an image the caller can read.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (View, error) {
	var a access
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		a, err = s.load(ctx, tx, id)
		return err
	})
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, a)
}

// File opens the image's file (or thumbnail) after the same read check as every other path.
// The file as uploaded goes to its owner, admins and whoever the privacy profile shows generation
// metadata to; everyone else gets the stripped copy (Image.Stripped set), since a PNG's text
// chunks or a JPEG's EXIF carry the same metadata. Thumbnails never carry any.
func (s *Service) File(ctx context.Context, id uuid.UUID, thumbnail bool) (Image, ReadSeekCloser, int64, error) {
	var a access
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		a, err = s.load(ctx, tx, id)
		return err
	})
	if err != nil {
		return Image{}, nil, 0, err
	}
	v := fileOriginal
	if thumbnail {
		v = fileThumb
	} else {
		rule, err := s.metadataRule(ctx, a.img.WorkspaceID)
		if err != nil {
			return Image{}, nil, 0, err
		}
		if au := a.audience(); !au.owner && !au.admin && !rule(au) {
			v = fileClean
		}
	}
	return s.open(ctx, a.img, v)
}

// fileVariant is which stored file of an image to open.
type fileVariant int

const (
	fileOriginal fileVariant = iota
	fileThumb
	fileClean
)

func (s *Service) open(ctx context.Context, img Image, v fileVariant) (Image, ReadSeekCloser, int64, error) {
	key := FileKey(img.TenantID, img.ID)
	switch v {
	case fileThumb:
		key = ThumbKey(img.TenantID, img.ID)
	case fileClean:
		key = CleanKey(img.TenantID, img.ID)
		img.Stripped, img.ContentType = true, strippedType(img.ContentType)
	}
	f, size, err := s.storage.Open(ctx, key)
	if errors.Is(err, ErrNoFile) && v == fileClean {
		// An image stored before stripped copies existed: make its copy once, now.
		if err = s.makeClean(ctx, img); err == nil {
			f, size, err = s.storage.Open(ctx, key)
		}
	}
	if errors.Is(err, ErrNoFile) {
		return Image{}, nil, 0, apierr.NotFound("image")
	}
	return img, f, size, err
}

// makeClean stores the stripped copy of an image that has none, from its file.
func (s *Service) makeClean(ctx context.Context, img Image) error {
	f, _, err := s.storage.Open(ctx, FileKey(img.TenantID, img.ID))
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(f, s.limits.MaxBytes+1))
	f.Close()
	if err != nil {
		return fmt.Errorf("read image %s: %w", img.ID, err)
	}
	_, clean, _, err := s.derive(ctx, data)
	if apierr.Is(err, apierr.CodeUnavailable) {
		return err
	}
	if err != nil {
		return fmt.Errorf("strip image %s: %w", img.ID, err)
	}
	return s.storage.Put(ctx, CleanKey(img.TenantID, img.ID), clean)
}

// Patch renames or stars an image (the table's update right).
func (s *Service) Patch(ctx context.Context, id uuid.UUID, in PatchInput) (View, error) {
	if err := decision.RequireWrite(ctx); err != nil {
		return View{}, err
	}
	var out access
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		a, err := s.load(ctx, tx, id)
		if err != nil {
			return err
		}
		if !a.mayUpdate() {
			return s.guard.Forbid(ctx, "image:update", id, "may not change this image")
		}
		fields := map[string]any{"updated_at": gorm.Expr("CURRENT_TIMESTAMP")}
		if in.Name != nil {
			name, err := web.CheckName("name", *in.Name, 255)
			if err != nil {
				return err
			}
			fields["name"] = name
		}
		if in.Starred != nil {
			fields["starred"] = *in.Starred
		}
		if err := tx.Model(&Image{}).Where("id = ?", id).Updates(fields).Error; err != nil {
			return err
		}
		out = a
		return tx.Where("id = ?", id).Take(&out.img).Error
	})
	if err != nil {
		return View{}, err
	}
	s.guard.Allow(ctx, "image:update", id, nil)
	return s.view(ctx, out)
}

// Delete removes the image: the row in a transaction, then its files. A crash between the two
// leaves an unreachable file, never a row without its file.
func (s *Service) Delete(ctx context.Context, id uuid.UUID) error {
	if err := decision.RequireWrite(ctx); err != nil {
		return err
	}
	var img Image
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		a, err := s.load(ctx, tx, id)
		if err != nil {
			return err
		}
		if !a.mayDelete() {
			return s.guard.Forbid(ctx, "image:delete", id, "may not delete this image")
		}
		img = a.img
		return tx.Where("id = ?", id).Delete(&Image{}).Error
	})
	if err != nil {
		return err
	}
	s.removeFiles(ctx, img.TenantID, img.ID)
	s.guard.Allow(ctx, "image:delete", id, nil)
	return nil
}

func (s *Service) removeFiles(ctx context.Context, tenantID, id uuid.UUID) {
	for _, key := range []string{FileKey(tenantID, id), ThumbKey(tenantID, id), CleanKey(tenantID, id)} {
		if err := s.storage.Delete(ctx, key); err != nil {
			s.log.WarnContext(ctx, "image file left behind", slog.String("key", key), slog.Any("error", err))
		}
	}
}
