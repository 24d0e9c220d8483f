package queue

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/jobs"
)

// TaskSweep fails running items whose lease has ended: their worker stopped (killed, lost) and
// asynq did not restart them in time. Periodic.
const TaskSweep = "queue:sweep_leases"

// leaseReason is the error of a swept item.
const leaseReason = "the worker running this item stopped (its lease expired); retry it"

// TenantLister lists tenants for maintenance that visits each one.
type TenantLister interface {
	IDs(ctx context.Context) ([]uuid.UUID, error)
}

// NewSweepTask is the sweeper's payload-less task.
func NewSweepTask() (*asynq.Task, error) {
	return asynq.NewTask(TaskSweep, nil, asynq.MaxRetry(3), asynq.Queue(jobs.QueueLow)), nil
}

// SweepHandler sweeps every tenant; a failing tenant does not stop the others.
func (s *Service) SweepHandler(tenants TenantLister) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		ids, err := tenants.IDs(ctx)
		if err != nil {
			return fmt.Errorf("list tenants: %w", err)
		}
		return jobs.ForEachTenant(ctx, ids, s.log, TaskSweep, func(ctx context.Context) error {
			_, err := s.Sweep(ctx)
			return err
		})
	}
}

// Sweep fails the tenant's running items whose lease ended, with an event for each, and returns
// how many.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	var swept []Item
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		swept, err = s.store.sweep(tx, s.now(), leaseReason)
		return err
	})
	if err != nil {
		return 0, err
	}
	if len(swept) > 0 {
		s.log.WarnContext(ctx, "queue items failed after their lease", slog.Int("items", len(swept)))
	}
	s.announce(ctx, swept)
	return len(swept), nil
}
