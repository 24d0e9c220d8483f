package auth

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/atelier-hq/atelier/jobs"
)

// TaskPurgeRefreshTokens deletes refresh tokens that can never be used again, tenant by tenant.
const TaskPurgeRefreshTokens = "auth:purge_refresh_tokens"

// TenantLister lists tenants for maintenance that visits each one.
type TenantLister interface {
	IDs(ctx context.Context) ([]uuid.UUID, error)
}

// NewPurgeTask is the periodic task's payload-less task.
func NewPurgeTask() (*asynq.Task, error) {
	return asynq.NewTask(TaskPurgeRefreshTokens, nil, asynq.MaxRetry(5), asynq.Queue(jobs.QueueLow)), nil
}

// PurgeHandler runs the purge. It is idempotent: a retry deletes only what is still there.
func (s *Service) PurgeHandler(tenants TenantLister) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		ids, err := tenants.IDs(ctx)
		if err != nil {
			return fmt.Errorf("list tenants: %w", err)
		}
		var total int64
		err = jobs.ForEachTenant(ctx, ids, s.log, TaskPurgeRefreshTokens, func(ctx context.Context) error {
			n, err := s.PurgeRefreshTokens(ctx)
			total += n
			return err
		})
		s.log.InfoContext(ctx, "purged refresh tokens", slog.Int64("deleted", total), slog.Int("tenants", len(ids)))
		return err
	}
}
