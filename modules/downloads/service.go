package downloads

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/jobs"
	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/images"
	"github.com/atelier-hq/atelier/modules/workspaces"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// Images is what downloads needs of the images module, always as the caller in ctx.
type Images interface {
	// Readable sorts ids into readable images and missing-or-unreadable ids.
	Readable(ctx context.Context, ids []uuid.UUID) ([]images.Image, []uuid.UUID, error)
	// OnBoard is a readable board (404 otherwise) with up to limit of its images.
	OnBoard(ctx context.Context, boardID uuid.UUID, limit int) (images.Board, []images.Image, error)
	// File re-checks that the image is readable and opens its file.
	File(ctx context.Context, id uuid.UUID, thumbnail bool) (images.Image, images.ReadSeekCloser, int64, error)
}

// Boards checks that a board is still readable (404 when deleted or not readable).
type Boards interface {
	Readable(ctx context.Context, id uuid.UUID) error
}

// Users says whether a user may still act (exists, enabled, tenant active).
type Users interface {
	MayAct(ctx context.Context, id uuid.UUID) (bool, error)
}

// Workspaces resolves a workspace reference the caller can see.
type Workspaces interface {
	Resolve(ctx context.Context, ref string) (workspaces.Workspace, error)
}

// Quota is what the quota profile in force on a node says of downloads: the largest bulk
// download (nil: only the server's own bound) and how long a download link lives.
type Quota struct {
	MaxImages, MaxBytes *int64
	LinkTTL             time.Duration
}

// Quotas gives the quota in force on a node (the quota profiles).
type Quotas interface {
	DownloadQuota(ctx context.Context, node string) (Quota, error)
}

// Enqueuer queues tasks (jobs.Client).
type Enqueuer interface {
	Enqueue(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Notifier tells a download's owner that it changed (status or progress). It must deliver to the
// owner only. The events hub implements it; LogNotifier is the default when Deps has none.
type Notifier interface {
	DownloadChanged(ctx context.Context, d Download)
}

// LogNotifier writes download changes to the process log at debug level.
type LogNotifier struct{ Log *slog.Logger }

// DownloadChanged logs the change.
func (n LogNotifier) DownloadChanged(ctx context.Context, d Download) {
	n.Log.DebugContext(ctx, "download changed", slog.String("tenant_id", d.TenantID.String()),
		slog.String("download_id", d.ID.String()), slog.String("user_id", d.OwnerID.String()),
		slog.String("status", d.Status), slog.Float64("progress", d.Progress))
}

// Config tunes the service. Zero values take the defaults.
type Config struct {
	// TTL is how long a download (and its file) lives; default 24h.
	TTL time.Duration
	// RowRetention is how long an expired row stays listed as expired before it is deleted;
	// default 7 days.
	RowRetention time.Duration
	// MaxImages and MaxBytes bound every download whatever the quota profiles say (they may
	// lower them); defaults 1,000 images and 2 GiB.
	MaxImages int
	MaxBytes  int64
	// LinkKey signs links (DeriveLinkKey of the server secret). Required.
	LinkKey []byte
	// TempGrace is how long a temporary file may go unwritten before the cleanup job counts its
	// writer dead; default 15 minutes.
	TempGrace time.Duration
	// StaleAfter fails a running download whose worker has not reported for that long; default
	// one hour.
	StaleAfter time.Duration
	// ProgressEvery bounds how often progress is written to the row; default one second.
	ProgressEvery time.Duration
	// CleanupBatch bounds the rows one cleanup statement touches; default 200.
	CleanupBatch int
	// MaxRetry is the build task's retry budget; default 3.
	MaxRetry int
	// Queue is the asynq queue of build tasks; default jobs.QueueDefault.
	Queue string
	// MaxActivePerUser bounds a user's downloads waiting or being built at once; default 10.
	MaxActivePerUser int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.TTL <= 0 {
		c.TTL = 24 * time.Hour
	}
	if c.RowRetention <= 0 {
		c.RowRetention = 7 * 24 * time.Hour
	}
	if c.MaxImages <= 0 {
		c.MaxImages = 1000
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 2 << 30
	}
	if c.TempGrace <= 0 {
		c.TempGrace = 15 * time.Minute
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = time.Hour
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = time.Second
	}
	if c.CleanupBatch <= 0 {
		c.CleanupBatch = 200
	}
	if c.MaxRetry <= 0 {
		c.MaxRetry = 3
	}
	if c.MaxActivePerUser <= 0 {
		c.MaxActivePerUser = 10
	}
	if c.Queue == "" {
		c.Queue = jobs.QueueDefault
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Deps are the service's collaborators.
type Deps struct {
	DB         *tenancy.DB
	Images     Images
	Boards     Boards
	Users      Users
	Workspaces Workspaces
	Quotas     Quotas
	Queue      Enqueuer
	Storage    Storage
	Notifier   Notifier
	Log        *slog.Logger
}

// Service holds the rules of downloads.
type Service struct {
	Deps
	cfg   Config
	store store
}

// NewService wires the service.
func NewService(d Deps, cfg Config) *Service {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Notifier == nil {
		d.Notifier = LogNotifier{Log: d.Log}
	}
	return &Service{Deps: d, cfg: cfg.withDefaults()}
}

// SetClock replaces the clock (tests move time to expire links and downloads). Call it before
// the service is used.
func (s *Service) SetClock(now func() time.Time) { s.cfg.Now = now }

// Config returns the service's configuration with its defaults filled in.
func (s *Service) Config() Config { return s.cfg }

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// Limits named in 413 answers.
const (
	LimitImages = "max_bulk_download_images"
	LimitBytes  = "max_bulk_download_bytes"
)

// Create checks every image (and the board) as the caller, checks the limits, records the
// download and queues its build. Nothing is queued unless every check passed: one unreadable
// image is 404 naming it.
func (s *Service) Create(ctx context.Context, in CreateInput) (View, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return View{}, apierr.Unauthorized()
	}
	switch {
	case in.BoardID == nil && len(in.ImageIDs) == 0:
		return View{}, apierr.Invalid("image_ids", "give board_id or a non-empty list of image_ids")
	case in.BoardID != nil && len(in.ImageIDs) > 0:
		return View{}, apierr.Invalid("board_id", "give board_id or image_ids, not both")
	}
	ids := dedupe(in.ImageIDs)
	if len(ids) > s.cfg.MaxImages {
		return View{}, tooLarge(LimitImages, int64(s.cfg.MaxImages), int64(len(ids)))
	}
	var wsID *uuid.UUID
	if in.Workspace != "" {
		ws, err := s.Workspaces.Resolve(ctx, in.Workspace)
		if err != nil {
			return View{}, err
		}
		wsID = &ws.ID
	}
	var imgs []images.Image
	if in.BoardID != nil {
		b, rows, err := s.Images.OnBoard(ctx, *in.BoardID, s.cfg.MaxImages+1)
		if err != nil {
			return View{}, err
		}
		if wsID != nil && b.WorkspaceID != *wsID {
			return View{}, apierr.Invalid("board_id", "the board is in another workspace")
		}
		if len(rows) == 0 {
			return View{}, apierr.Invalid("board_id", "the board has no images")
		}
		if len(rows) > s.cfg.MaxImages {
			return View{}, tooLarge(LimitImages, int64(s.cfg.MaxImages), int64(len(rows)))
		}
		imgs, wsID = rows, &b.WorkspaceID
	} else {
		readable, missing, err := s.Images.Readable(ctx, ids)
		if err != nil {
			return View{}, err
		}
		if len(missing) > 0 {
			i := slices.Index(ids, missing[0])
			return View{}, &apierr.Error{Code: apierr.CodeNotFound, Message: "image not found",
				Details: []apierr.FieldError{{Field: fmt.Sprintf("image_ids[%d]", i), Reason: "no such image: " + missing[0].String()}}}
		}
		for i, img := range readable {
			if wsID != nil && img.WorkspaceID != *wsID {
				return View{}, apierr.Invalid(fmt.Sprintf("image_ids[%d]", i), "the image is in another workspace")
			}
		}
		imgs = readable
		if wsID == nil && sameWorkspace(imgs) {
			wsID = &imgs[0].WorkspaceID
		}
	}
	var total int64
	for _, img := range imgs {
		total += img.SizeBytes
	}
	if err := s.checkLimits(ctx, imgs, total); err != nil {
		return View{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return View{}, err
	}
	now := s.now()
	order := make([]uuid.UUID, len(imgs))
	for i, img := range imgs {
		order[i] = img.ID
	}
	d := Download{ID: id, OwnerID: p.UserID, WorkspaceID: wsID, BoardID: in.BoardID, ImageIDs: order,
		Status: StatusPending, ImageCount: len(imgs), Bytes: total, ExpiresAt: now.Add(s.cfg.TTL),
		CreatedAt: now, UpdatedAt: now}
	err = s.DB.Tx(ctx, func(tx *gorm.DB) error {
		active, err := s.store.active(tx, p.UserID)
		if err != nil {
			return err
		}
		if active >= int64(s.cfg.MaxActivePerUser) {
			return apierr.RateLimited(30)
		}
		return s.store.insert(tx, &d)
	})
	if err != nil {
		return View{}, err
	}
	d.TenantID = p.TenantID
	if err := s.enqueue(ctx, d); err != nil {
		s.fail(ctx, d.ID, []string{StatusPending}, "the download could not be queued")
		return View{}, apierr.Unavailable("the job queue", err)
	}
	s.Notifier.DownloadChanged(ctx, d)
	return d.view(now), nil
}

func dedupe(ids []uuid.UUID) []uuid.UUID {
	seen := make(map[uuid.UUID]bool, len(ids))
	out := make([]uuid.UUID, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func sameWorkspace(imgs []images.Image) bool {
	for _, img := range imgs[1:] {
		if img.WorkspaceID != imgs[0].WorkspaceID {
			return false
		}
	}
	return len(imgs) > 0
}

// checkLimits applies the server's bounds and the quota profile of every workspace the images
// come from (the strictest wins, so mixing in one image of a generous workspace buys nothing).
func (s *Service) checkLimits(ctx context.Context, imgs []images.Image, total int64) error {
	maxImages, maxBytes := int64(s.cfg.MaxImages), s.cfg.MaxBytes
	seen := map[uuid.UUID]bool{}
	for _, img := range imgs {
		if seen[img.WorkspaceID] {
			continue
		}
		seen[img.WorkspaceID] = true
		q, err := s.Quotas.DownloadQuota(ctx, rbac.WorkspaceNode(img.WorkspaceID))
		if err != nil {
			return fmt.Errorf("quota of workspace %s: %w", img.WorkspaceID, err)
		}
		if q.MaxImages != nil {
			maxImages = min(maxImages, *q.MaxImages)
		}
		if q.MaxBytes != nil {
			maxBytes = min(maxBytes, *q.MaxBytes)
		}
	}
	if int64(len(imgs)) > maxImages {
		return tooLarge(LimitImages, maxImages, int64(len(imgs)))
	}
	if total > maxBytes {
		return tooLarge(LimitBytes, maxBytes, total)
	}
	return nil
}

// LimitDetails are the details of a 413: the limit exceeded, its value and what was asked.
type LimitDetails struct {
	Limit     string `json:"limit"`
	Max       int64  `json:"max"`
	Requested int64  `json:"requested"`
}

func tooLarge(limit string, maxV, requested int64) error {
	return &apierr.Error{Code: apierr.CodeTooLarge,
		Message: fmt.Sprintf("the download exceeds %s (%d, asked for %d)", limit, maxV, requested),
		Details: LimitDetails{Limit: limit, Max: maxV, Requested: requested}}
}

// Get returns one of the caller's downloads.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (View, error) {
	d, err := s.own(ctx, id)
	if err != nil {
		return View{}, err
	}
	return d.view(s.now()), nil
}

// own loads a download of the caller. Anybody else's — admins asking included — is not found.
func (s *Service) own(ctx context.Context, id uuid.UUID) (Download, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return Download{}, apierr.NotFound("download")
	}
	var d Download
	err := s.DB.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		d, err = s.store.own(tx, id, p.UserID)
		return err
	})
	if errors.Is(err, errNotFound) {
		return Download{}, apierr.NotFound("download")
	}
	return d, err
}

// List pages through the caller's own downloads.
func (s *Service) List(ctx context.Context, after uuid.UUID, limit int) ([]View, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return nil, apierr.Unauthorized()
	}
	var rows []Download
	err := s.DB.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		rows, err = s.store.list(tx, p.UserID, after, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]View, len(rows))
	for i, d := range rows {
		out[i] = d.view(now)
	}
	return out, nil
}

// Delete removes one of the caller's downloads and its file. A build still running notices at
// the end and removes what it wrote.
func (s *Service) Delete(ctx context.Context, id uuid.UUID) error {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return apierr.NotFound("download")
	}
	var d Download
	err := s.DB.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		d, err = s.store.deleteOwn(tx, id, p.UserID)
		return err
	})
	if errors.Is(err, errNotFound) {
		return apierr.NotFound("download")
	}
	if err != nil {
		return err
	}
	if d.File == "" {
		return nil
	}
	if err := s.Storage.Delete(context.WithoutCancel(ctx), p.TenantID, d.File); err != nil {
		s.Log.WarnContext(ctx, "download file left behind for the cleanup job", slog.String("download_id", id.String()), slog.Any("error", err))
	}
	return nil
}

// Open opens the caller's ready download.
func (s *Service) Open(ctx context.Context, id uuid.UUID) (Download, File, error) {
	d, err := s.own(ctx, id)
	if err != nil {
		return Download{}, File{}, err
	}
	return s.openReady(ctx, d)
}

// openReady opens the file of a download that is ready and not expired; anything else is 404
// (a download not ready yet has no file, as far as fetching goes).
func (s *Service) openReady(ctx context.Context, d Download) (Download, File, error) {
	if d.Status != StatusReady || !s.now().Before(d.ExpiresAt) {
		return Download{}, File{}, apierr.NotFound("download file")
	}
	tenantID, _ := tenancy.TenantFrom(ctx)
	f, err := s.Storage.Open(ctx, tenantID, d.File)
	if errors.Is(err, ErrNoFile) {
		return Download{}, File{}, apierr.NotFound("download file")
	}
	if err != nil {
		return Download{}, File{}, err
	}
	return d, f, nil
}

// MintLink signs a link to the caller's ready download: valid for the quota profile's link
// lifetime and never past the download's own expiry.
func (s *Service) MintLink(ctx context.Context, id uuid.UUID, prefix string) (Link, error) {
	d, err := s.own(ctx, id)
	if err != nil {
		return Link{}, err
	}
	now := s.now()
	if d.Status != StatusReady || !now.Before(d.ExpiresAt) {
		return Link{}, apierr.Conflict("the download is not ready (" + d.view(now).Status + ")")
	}
	node := rbac.Root
	if d.WorkspaceID != nil {
		node = rbac.WorkspaceNode(*d.WorkspaceID)
	}
	q, err := s.Quotas.DownloadQuota(ctx, node)
	if err != nil {
		return Link{}, fmt.Errorf("quota on %s: %w", node, err)
	}
	exp := now.Add(q.LinkTTL).Truncate(time.Second)
	if d.ExpiresAt.Before(exp) {
		exp = d.ExpiresAt.Truncate(time.Second)
	}
	p, _ := tenancy.PrincipalFrom(ctx)
	token := signLink(s.cfg.LinkKey, linkClaims{TenantID: p.TenantID, DownloadID: d.ID, UserID: p.UserID, ExpiresAt: exp})
	return Link{URL: prefix + LinkPath + token, ExpiresAt: exp}, nil
}

// OpenLink opens the download a signed link points to, if the link is genuine and unexpired,
// its user may still act, and the download is still theirs, ready and unexpired. Every failure
// is the same 404.
func (s *Service) OpenLink(ctx context.Context, token string) (Download, File, error) {
	c, err := verifyLink(s.cfg.LinkKey, token, s.now())
	if err != nil {
		return Download{}, File{}, apierr.NotFound("download")
	}
	ctx = tenancy.WithTenant(ctx, c.TenantID)
	if ok, err := s.Users.MayAct(ctx, c.UserID); err != nil {
		return Download{}, File{}, err
	} else if !ok {
		return Download{}, File{}, apierr.NotFound("download")
	}
	var d Download
	err = s.DB.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		d, err = s.store.own(tx, c.DownloadID, c.UserID)
		return err
	})
	if errors.Is(err, errNotFound) {
		return Download{}, File{}, apierr.NotFound("download")
	}
	if err != nil {
		return Download{}, File{}, err
	}
	return s.openReady(ctx, d)
}

// fail marks the download failed if its status is one of from.
func (s *Service) fail(ctx context.Context, id uuid.UUID, from []string, reason string) {
	var d Download
	var changed bool
	err := s.DB.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		changed, err = s.store.update(tx, id, from, map[string]any{"status": StatusFailed, "error": reason}, s.now())
		if err != nil || !changed {
			return err
		}
		d, err = s.store.get(tx, id)
		return err
	})
	if err != nil {
		s.Log.ErrorContext(ctx, "mark download failed", slog.String("download_id", id.String()), slog.Any("error", err))
		return
	}
	if changed {
		s.Notifier.DownloadChanged(ctx, d)
	}
}

// progressFraction keeps progress within [0, 1] and monotone for the row's CHECK.
func progressFraction(done, total int) float64 {
	if total <= 0 {
		return 0
	}
	return math.Min(1, float64(done)/float64(total))
}
