package audit

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/atelier-hq/atelier/jobs"
)

// TaskPrune deletes audit entries past the retention, tenant by tenant.
const TaskPrune = "audit:prune"

// TenantLister lists tenants for maintenance that visits each one.
type TenantLister interface {
	IDs(ctx context.Context) ([]uuid.UUID, error)
}

// NewPruneTask is the periodic task's payload-less task.
func NewPruneTask() (*asynq.Task, error) {
	return asynq.NewTask(TaskPrune, nil, asynq.MaxRetry(5), asynq.Queue(jobs.QueueLow)), nil
}

// PruneHandler runs the retention. It is idempotent: a retry deletes only what is still there.
func (s *Service) PruneHandler(tenants TenantLister) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		if s.retention <= 0 {
			return nil
		}
		ids, err := tenants.IDs(ctx)
		if err != nil {
			return fmt.Errorf("list tenants: %w", err)
		}
		var total int64
		err = jobs.ForEachTenant(ctx, ids, s.log, TaskPrune, func(ctx context.Context) error {
			n, err := s.Prune(ctx)
			total += n
			return err
		})
		s.log.InfoContext(ctx, "pruned audit log", slog.Int64("deleted", total), slog.Int("tenants", len(ids)),
			slog.Duration("retention", s.retention))
		return err
	}
}
