package jobs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/tenancy"
)

// ForEachTenant runs fn once per tenant, with ctx scoped to it. A tenant whose run fails is
// logged and the others still run; the returned error counts the failures, so the task is
// retried (each tenant's work must be idempotent) without one bad tenant starving the rest.
func ForEachTenant(ctx context.Context, ids []uuid.UUID, log *slog.Logger, task string, fn func(ctx context.Context) error) error {
	failed := 0
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(tenancy.WithTenant(ctx, id)); err != nil {
			failed++
			orDefault(log).ErrorContext(ctx, "periodic task failed for a tenant", slog.String("task", task),
				slog.String("tenant_id", id.String()), slog.Any("error", err))
		}
	}
	if failed > 0 {
		return fmt.Errorf("%s: %d of %d tenants failed", task, failed, len(ids))
	}
	return nil
}
