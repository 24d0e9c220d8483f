package downloads

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/jobs"
	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/tenancy"
)

// Task types.
const (
	// TaskBuild builds one download's archive.
	TaskBuild = "downloads:build"
	// TaskCleanup removes expired archives and rows, orphaned temporary files and stale builds.
	TaskCleanup = "downloads:cleanup"
)

// BuildPayload is what the build task carries: ids only.
type BuildPayload struct {
	TenantID    uuid.UUID `json:"tenant_id"`
	DownloadID  uuid.UUID `json:"download_id"`
	RequesterID uuid.UUID `json:"requester_id"`
}

// CredentialWorker marks the principal a worker acts as on a requester's behalf.
const CredentialWorker tenancy.CredentialKind = "worker"

func (s *Service) enqueue(ctx context.Context, d Download) error {
	t, err := jobs.NewTask(TaskBuild, BuildPayload{TenantID: d.TenantID, DownloadID: d.ID, RequesterID: d.OwnerID},
		asynq.MaxRetry(s.cfg.MaxRetry), asynq.Queue(s.cfg.Queue), asynq.Timeout(2*time.Hour))
	if err != nil {
		return err
	}
	// One task per download, however often this runs.
	_, err = s.Queue.Enqueue(ctx, t, asynq.TaskID(TaskBuild+":"+d.ID.String()))
	return err
}

// NewCleanupTask is the periodic cleanup's payload-less task.
func NewCleanupTask() (*asynq.Task, error) {
	return asynq.NewTask(TaskCleanup, nil, asynq.MaxRetry(3), asynq.Queue(jobs.QueueLow)), nil
}

// BuildHandler runs build tasks. A failure is retried; the last attempt that fails marks the
// download failed.
func (s *Service) BuildHandler() asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		p, err := jobs.Decode[BuildPayload](t)
		if err != nil {
			return err
		}
		err = s.Build(ctx, p)
		if err == nil {
			return nil
		}
		retried, _ := asynq.GetRetryCount(ctx)
		maxRetry, ok := asynq.GetMaxRetry(ctx)
		if !ok || retried >= maxRetry || errors.Is(err, asynq.SkipRetry) {
			s.fail(tenancy.WithTenant(context.WithoutCancel(ctx), p.TenantID), p.DownloadID,
				[]string{StatusPending, StatusRunning}, "the archive could not be built")
		}
		return err
	}
}

// permanent is a build that cannot succeed: marked failed with a reason the owner may read.
type permanent struct{ reason string }

func (e permanent) Error() string { return e.reason }

// Build writes the download's archive as its requester at this moment. It is idempotent: a
// download already finished (or deleted) is left alone, and a retry after a crash starts the
// archive again from scratch under a new temporary name.
func (s *Service) Build(ctx context.Context, p BuildPayload) error {
	ctx = tenancy.WithTenant(ctx, p.TenantID)
	var d Download
	err := s.DB.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		d, err = s.store.get(tx, p.DownloadID)
		return err
	})
	if errors.Is(err, errNotFound) {
		return nil // deleted by its owner meanwhile
	}
	if err != nil {
		return err
	}
	if d.OwnerID != p.RequesterID {
		return fmt.Errorf("download %s is not the requester's: %w", d.ID, asynq.SkipRetry)
	}
	if d.Status != StatusPending && d.Status != StatusRunning {
		return nil
	}
	if !s.now().Before(d.ExpiresAt) {
		s.fail(ctx, d.ID, []string{StatusPending, StatusRunning}, "the download expired before it was built")
		return nil
	}
	err = s.build(ctx, d)
	var perm permanent
	if errors.As(err, &perm) {
		s.fail(ctx, d.ID, []string{StatusPending, StatusRunning}, perm.reason)
		return nil
	}
	return err
}

func (s *Service) build(ctx context.Context, d Download) error {
	// The requester as they stand now: disabled users get nothing.
	if ok, err := s.Users.MayAct(ctx, d.OwnerID); err != nil {
		return err
	} else if !ok {
		return permanent{"the requester can no longer sign in"}
	}
	as := tenancy.WithPrincipal(ctx, tenancy.Principal{TenantID: d.TenantID, UserID: d.OwnerID, Kind: CredentialWorker})
	if d.BoardID != nil {
		if err := s.Boards.Readable(as, *d.BoardID); apierr.Is(err, apierr.CodeNotFound) {
			return permanent{"the board was deleted or is no longer readable"}
		} else if err != nil {
			return err
		}
	}
	if err := s.setRunning(ctx, d.ID); err != nil {
		return err
	}
	tmp, err := s.Storage.Create(ctx, d.TenantID, d.ID)
	if err != nil {
		return fmt.Errorf("create archive: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			if err := tmp.Abort(); err != nil {
				s.Log.WarnContext(ctx, "temporary archive left for the cleanup job", slog.String("download_id", d.ID.String()), slog.Any("error", err))
			}
		}
	}()
	res, err := s.writeArchive(ctx, as, d, tmp)
	if err != nil {
		return err
	}
	if err := tmp.Commit(); err != nil {
		return fmt.Errorf("commit archive: %w", err)
	}
	committed = true
	res.file = tmp.Name()
	return s.finish(ctx, d, res)
}

type buildResult struct {
	file     string
	size     int64
	checksum string
	omitted  int
}

func (s *Service) setRunning(ctx context.Context, id uuid.UUID) error {
	var d Download
	var changed bool
	err := s.DB.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		changed, err = s.store.update(tx, id, []string{StatusPending, StatusRunning},
			map[string]any{"status": StatusRunning, "progress": 0}, s.now())
		if err != nil || !changed {
			return err
		}
		d, err = s.store.get(tx, id)
		return err
	})
	if err != nil {
		return err
	}
	if !changed {
		return permanent{"the download changed while it was being built"}
	}
	s.Notifier.DownloadChanged(ctx, d)
	return nil
}

// writeArchive streams each image the requester can still read into the archive, then the
// manifest. Images they can no longer read (or that were deleted) are left out and listed.
func (s *Service) writeArchive(ctx, as context.Context, d Download, w io.Writer) (buildResult, error) {
	a := NewArchive(w)
	var included []string
	var omitted []uuid.UUID
	last := s.now()
	for i, id := range d.ImageIDs {
		if err := ctx.Err(); err != nil {
			return buildResult{}, err
		}
		name, err := s.addImage(as, a, id)
		if apierr.Is(err, apierr.CodeNotFound) {
			omitted = append(omitted, id)
			continue
		}
		if err != nil {
			return buildResult{}, err
		}
		included = append(included, name+"  ("+id.String()+")")
		if now := s.now(); now.Sub(last) >= s.cfg.ProgressEvery {
			last = now
			s.progress(ctx, d, progressFraction(i+1, len(d.ImageIDs)))
		}
	}
	now := s.now()
	if err := a.AddManifest(manifest(d, included, omitted, now), now); err != nil {
		return buildResult{}, err
	}
	size, sum, err := a.Close()
	return buildResult{size: size, checksum: sum, omitted: len(omitted)}, err
}

// addImage re-checks the image as the requester (the read check of GET /images/{id}/file) and
// streams its file into the archive.
func (s *Service) addImage(as context.Context, a *Archive, id uuid.UUID) (string, error) {
	img, f, _, err := s.Images.File(as, id, false)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return a.Add(entryName(img.Name, img.ContentType), img.CreatedAt, f)
}

// progress records how far the build is (called at a bounded rate).
func (s *Service) progress(ctx context.Context, d Download, fraction float64) {
	err := s.DB.Tx(ctx, func(tx *gorm.DB) error {
		_, err := s.store.update(tx, d.ID, []string{StatusRunning}, map[string]any{"progress": fraction}, s.now())
		return err
	})
	if err != nil {
		s.Log.WarnContext(ctx, "record download progress", slog.String("download_id", d.ID.String()), slog.Any("error", err))
		return
	}
	d.Status, d.Progress = StatusRunning, fraction
	s.Notifier.DownloadChanged(ctx, d)
}

// finish records the completed archive; if the download was deleted (or finished by another
// delivery of the task) meanwhile, this build's file is removed again.
func (s *Service) finish(ctx context.Context, d Download, res buildResult) error {
	now := s.now()
	var changed bool
	err := s.DB.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		changed, err = s.store.update(tx, d.ID, []string{StatusRunning}, map[string]any{"status": StatusReady,
			"progress": 1, "bytes": res.size, "checksum": res.checksum, "file": res.file, "omitted_count": res.omitted,
			"expires_at": now.Add(s.cfg.TTL), "error": ""}, now)
		if err != nil || !changed {
			return err
		}
		d, err = s.store.get(tx, d.ID)
		return err
	})
	if err != nil {
		return err
	}
	if !changed {
		return s.Storage.Delete(ctx, d.TenantID, res.file)
	}
	s.Notifier.DownloadChanged(ctx, d)
	return nil
}

// entryName is the image's name with an extension matching its content when it has none.
func entryName(name, contentType string) string {
	if path.Ext(name) != "" {
		return name
	}
	switch contentType {
	case "image/png":
		return name + ".png"
	case "image/jpeg":
		return name + ".jpg"
	case "image/webp":
		return name + ".webp"
	}
	return name
}

func manifest(d Download, included []string, omitted []uuid.UUID, at time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Download %s\nBuilt %s\n\n", d.ID, at.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "Included (%d):\n", len(included))
	for _, line := range included {
		b.WriteString("  " + line + "\n")
	}
	fmt.Fprintf(&b, "\nLeft out (%d): deleted, or no longer readable by the requester when the archive was built\n", len(omitted))
	for _, id := range omitted {
		b.WriteString("  " + id.String() + "\n")
	}
	return b.String()
}
