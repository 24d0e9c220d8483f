package images

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/jobs"
	"github.com/atelier-hq/atelier/tenancy"
)

// Deleting many images (a board with its images, a workspace with ?cascade=true) deletes their
// rows in the request's transaction and records their files in image_file_removals in the same
// transaction; a job removes the files off the request path, in bounded batches. Nothing is
// forgotten: a crash after the commit leaves the records, and a periodic sweep drains them.

// Task types.
const (
	// TaskRemoveFiles removes the recorded files of one tenant.
	TaskRemoveFiles = "images:remove_files"
	// TaskSweepRemovals is the periodic backstop: TaskRemoveFiles's work for every tenant.
	TaskSweepRemovals = "images:sweep_file_removals"
)

// removalBatch is how many images' files one batch removes; one task runs at most
// removalBatches of them and queues a follow-up for the rest.
const (
	removalBatch   = 200
	removalBatches = 25
)

// fileRemoval is one deleted image whose files are still stored.
type fileRemoval struct {
	TenantID  uuid.UUID `gorm:"primaryKey"`
	ImageID   uuid.UUID `gorm:"primaryKey"`
	CreatedAt time.Time
}

func (fileRemoval) TableName() string { return "image_file_removals" }

// Enqueuer queues tasks (jobs.Client).
type Enqueuer interface {
	Enqueue(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Removals records deleted images' files for removal, in the deleting transaction, and nudges
// the job that removes them after the commit. Without a queue (nil jobs) the files wait for the
// periodic sweep.
type Removals struct {
	jobs Enqueuer
	log  *slog.Logger
}

// NewRemovals returns the removal recorder; jobs may be nil.
func NewRemovals(jobs Enqueuer, log *slog.Logger) *Removals { return &Removals{jobs: jobs, log: log} }

type removePayload struct {
	TenantID uuid.UUID `json:"tenant_id"`
}

// schedule records inside tx that the images' files must go, and returns what to run after the
// commit: a nudge to the removal job.
func (r *Removals) schedule(ctx context.Context, tx *gorm.DB, ids []uuid.UUID) (func(), error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows := make([]fileRemoval, len(ids))
	for i, id := range ids {
		rows[i] = fileRemoval{ImageID: id}
	}
	if err := tx.CreateInBatches(&rows, 500).Error; err != nil {
		return nil, fmt.Errorf("record file removals: %w", err)
	}
	tenantID, _ := tenancy.TenantFrom(ctx)
	return func() { r.nudge(context.WithoutCancel(ctx), tenantID) }, nil
}

func (r *Removals) nudge(ctx context.Context, tenantID uuid.UUID) {
	if r.jobs == nil {
		return
	}
	t, err := jobs.NewTask(TaskRemoveFiles, removePayload{TenantID: tenantID}, asynq.Queue(jobs.QueueLow), asynq.MaxRetry(10))
	if err == nil {
		// One pending task per tenant is enough: it drains whatever is recorded when it runs.
		_, err = r.jobs.Enqueue(ctx, t, asynq.TaskID(TaskRemoveFiles+":"+tenantID.String()))
	}
	if err != nil {
		r.log.WarnContext(ctx, "image file removal not queued; the periodic sweep will do it",
			slog.String("tenant_id", tenantID.String()), slog.Any("error", err))
	}
}

// RemoveFiles removes the recorded files of the tenant in ctx, at most limit batches; more
// reports whether records remain.
func (s *Service) RemoveFiles(ctx context.Context, limit int) (removed int, more bool, err error) {
	tenantID, ok := tenancy.TenantFrom(ctx)
	if !ok {
		return 0, false, tenancy.ErrNoTenant
	}
	for range limit {
		var batch []fileRemoval
		err := s.db.Tx(ctx, func(tx *gorm.DB) error {
			return tx.Order("image_id").Limit(removalBatch).Find(&batch).Error
		})
		if err != nil || len(batch) == 0 {
			return removed, false, err
		}
		ids := make([]uuid.UUID, len(batch))
		for i, r := range batch {
			ids[i] = r.ImageID
			// Deleting a file that is already gone is no error: a retried batch is harmless.
			s.removeFiles(ctx, tenantID, r.ImageID)
		}
		if err := s.db.Tx(ctx, func(tx *gorm.DB) error {
			return tx.Where("image_id IN ?", ids).Delete(&fileRemoval{}).Error
		}); err != nil {
			return removed, false, err
		}
		removed += len(batch)
		if len(batch) < removalBatch {
			return removed, false, nil
		}
	}
	return removed, true, nil
}

// RemoveFilesHandler runs TaskRemoveFiles; a tenant with more to remove than one run takes gets
// a follow-up task.
func (s *Service) RemoveFilesHandler() asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		p, err := jobs.Decode[removePayload](t)
		if err != nil {
			return err
		}
		if p.TenantID == uuid.Nil {
			return fmt.Errorf("no tenant: %w", asynq.SkipRetry)
		}
		ctx = tenancy.WithTenant(ctx, p.TenantID)
		n, more, err := s.RemoveFiles(ctx, removalBatches)
		if err != nil {
			return err
		}
		s.log.InfoContext(ctx, "removed files of deleted images", slog.String("tenant_id", p.TenantID.String()), slog.Int("images", n))
		if more {
			// This task's id is taken until it returns: the follow-up waits a moment.
			next, err := jobs.NewTask(TaskRemoveFiles, p, asynq.Queue(jobs.QueueLow), asynq.MaxRetry(10), asynq.ProcessIn(time.Second))
			if err == nil && s.removals.jobs != nil {
				_, err = s.removals.jobs.Enqueue(ctx, next)
			}
			if err != nil {
				return errors.Join(errors.New("more files to remove"), err)
			}
		}
		return nil
	}
}

// TenantLister lists tenants for maintenance that visits each one.
type TenantLister interface {
	IDs(ctx context.Context) ([]uuid.UUID, error)
}

// NewSweepRemovalsTask is the periodic sweep's task.
func NewSweepRemovalsTask() (*asynq.Task, error) {
	return asynq.NewTask(TaskSweepRemovals, nil, asynq.MaxRetry(3), asynq.Queue(jobs.QueueLow)), nil
}

// SweepRemovalsHandler drains every tenant's recorded removals (the backstop for a nudge that
// was lost).
func (s *Service) SweepRemovalsHandler(tenants TenantLister) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		ids, err := tenants.IDs(ctx)
		if err != nil {
			return fmt.Errorf("list tenants: %w", err)
		}
		return jobs.ForEachTenant(ctx, ids, s.log, TaskSweepRemovals, func(ctx context.Context) error {
			_, _, err := s.RemoveFiles(ctx, removalBatches)
			return err
		})
	}
}
