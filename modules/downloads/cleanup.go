package downloads

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/tenancy"
)

// TenantLister lists tenants for maintenance that visits each one.
type TenantLister interface {
	IDs(ctx context.Context) ([]uuid.UUID, error)
}

// CleanupReport counts what one cleanup removed.
type CleanupReport struct {
	Expired     int   // downloads that reached their expiry: file removed, row marked expired
	Purged      int64 // expired rows deleted after the retention
	Stale       int   // running builds whose worker vanished, marked failed
	Requeued    int   // pending downloads whose task was lost (an embedded broker restarted), queued again
	TempRemoved int   // temporary files of dead writers
	Orphans     int   // committed files with no ready download
}

func (r *CleanupReport) add(o CleanupReport) {
	r.Expired += o.Expired
	r.Purged += o.Purged
	r.Stale += o.Stale
	r.Requeued += o.Requeued
	r.TempRemoved += o.TempRemoved
	r.Orphans += o.Orphans
}

// CleanupHandler runs the cleanup in every tenant. A tenant that fails does not stop the others;
// the task then fails as a whole and is retried (every step is idempotent).
func (s *Service) CleanupHandler(tenants TenantLister) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		ids, err := tenants.IDs(ctx)
		if err != nil {
			return fmt.Errorf("list tenants: %w", err)
		}
		var total CleanupReport
		var errs []error
		for _, id := range ids {
			r, err := s.Cleanup(tenancy.WithTenant(ctx, id))
			total.add(r)
			if err != nil {
				errs = append(errs, fmt.Errorf("clean downloads of tenant %s: %w", id, err))
			}
		}
		s.Log.InfoContext(ctx, "downloads cleaned", slog.Int("tenants", len(ids)), slog.Int("expired", total.Expired),
			slog.Int64("purged", total.Purged), slog.Int("stale", total.Stale), slog.Int("requeued", total.Requeued), slog.Int("temp_removed", total.TempRemoved),
			slog.Int("orphans", total.Orphans), slog.Int("failed_tenants", len(errs)))
		return errors.Join(errs...)
	}
}

// Cleanup tidies the downloads of the tenant in ctx, in bounded batches: expired downloads lose
// their file (then their row, after the retention), running builds that stopped reporting are
// failed, and files no download owns — a crashed writer's temporary file, an archive whose row
// is gone — are removed once they have been left alone for the grace period.
func (s *Service) Cleanup(ctx context.Context) (CleanupReport, error) {
	var r CleanupReport
	tenantID, ok := tenancy.TenantFrom(ctx)
	if !ok {
		return r, tenancy.ErrNoTenant
	}
	if err := s.expire(ctx, tenantID, &r); err != nil {
		return r, err
	}
	if err := s.failStale(ctx, &r); err != nil {
		return r, err
	}
	if err := s.requeue(ctx, &r); err != nil {
		return r, err
	}
	if err := s.purgeRows(ctx, &r); err != nil {
		return r, err
	}
	return r, s.removeOrphans(ctx, tenantID, &r)
}

// expire removes the files of downloads past their expiry, then marks them expired. The file
// goes first: a crash in between leaves a row the next run expires again, never a file no row
// points to.
func (s *Service) expire(ctx context.Context, tenantID uuid.UUID, r *CleanupReport) error {
	for {
		now := s.now()
		var due []Download
		err := s.DB.Tx(ctx, func(tx *gorm.DB) error {
			var err error
			due, err = s.store.expiring(tx, now, s.cfg.CleanupBatch)
			return err
		})
		if err != nil {
			return err
		}
		for _, d := range due {
			if d.File != "" {
				if err := s.Storage.Delete(ctx, tenantID, d.File); err != nil {
					return fmt.Errorf("delete archive %s: %w", d.ID, err)
				}
			}
			var changed bool
			err := s.DB.Tx(ctx, func(tx *gorm.DB) error {
				var err error
				changed, err = s.store.update(tx, d.ID, []string{StatusPending, StatusRunning, StatusReady, StatusFailed},
					map[string]any{"status": StatusExpired}, now)
				return err
			})
			if err != nil {
				return err
			}
			if changed {
				r.Expired++
				d.TenantID, d.Status = tenantID, StatusExpired
				s.Notifier.DownloadChanged(ctx, d)
			}
		}
		if len(due) < s.cfg.CleanupBatch {
			return nil
		}
	}
}

func (s *Service) failStale(ctx context.Context, r *CleanupReport) error {
	var ids []uuid.UUID
	err := s.DB.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		ids, err = s.store.stale(tx, s.now().Add(-s.cfg.StaleAfter), s.cfg.CleanupBatch)
		return err
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		s.fail(ctx, id, []string{StatusRunning}, "the worker building the archive stopped")
		r.Stale++
	}
	return nil
}

// requeue queues again the builds of downloads pending for longer than the grace period: their
// task was lost (the embedded broker keeps tasks in memory only). The task id is the download's,
// so a task still waiting in the queue is not duplicated, and a build runs at most once for a
// download that is no longer pending.
func (s *Service) requeue(ctx context.Context, r *CleanupReport) error {
	var due []Download
	err := s.DB.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		due, err = s.store.waiting(tx, s.now().Add(-s.cfg.TempGrace), s.cfg.CleanupBatch)
		return err
	})
	if err != nil {
		return err
	}
	for _, d := range due {
		if err := s.enqueue(ctx, d); err != nil {
			return fmt.Errorf("queue download %s again: %w", d.ID, err)
		}
		r.Requeued++
	}
	return nil
}

func (s *Service) purgeRows(ctx context.Context, r *CleanupReport) error {
	cutoff := s.now().Add(-s.cfg.RowRetention)
	for {
		var n int64
		err := s.DB.Tx(ctx, func(tx *gorm.DB) error {
			var err error
			n, err = s.store.purge(tx, cutoff, s.cfg.CleanupBatch)
			return err
		})
		r.Purged += n
		if err != nil {
			return err
		}
		if n < int64(s.cfg.CleanupBatch) {
			return nil
		}
	}
}

// removeOrphans removes temporary files nobody has written to for the grace period (their
// writer is dead: a live one writes continuously) and committed files that are not the archive
// of a ready download (deleted, expired or failed meanwhile, or a duplicate build's).
func (s *Service) removeOrphans(ctx context.Context, tenantID uuid.UUID, r *CleanupReport) error {
	objs, err := s.Storage.List(ctx, tenantID)
	if err != nil {
		return fmt.Errorf("list stored archives: %w", err)
	}
	cutoff := s.now().Add(-s.cfg.TempGrace)
	var committed []Object
	for _, o := range objs {
		if !o.ModTime.Before(cutoff) {
			continue
		}
		if !o.Temp {
			committed = append(committed, o)
			continue
		}
		if err := s.Storage.Delete(ctx, tenantID, o.Name); err != nil {
			return err
		}
		r.TempRemoved++
	}
	for len(committed) > 0 {
		batch := committed[:min(len(committed), s.cfg.CleanupBatch)]
		committed = committed[len(batch):]
		ids := make([]uuid.UUID, len(batch))
		for i, o := range batch {
			ids[i] = o.ID
		}
		var ready map[uuid.UUID]string
		err := s.DB.Tx(ctx, func(tx *gorm.DB) error {
			var err error
			ready, err = s.store.readyFiles(tx, ids)
			return err
		})
		if err != nil {
			return err
		}
		for _, o := range batch {
			if ready[o.ID] == o.Name {
				continue
			}
			if err := s.Storage.Delete(ctx, tenantID, o.Name); err != nil {
				return err
			}
			r.Orphans++
		}
	}
	return nil
}
