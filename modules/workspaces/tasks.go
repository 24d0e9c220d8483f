package workspaces

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/jobs"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// TaskPurgeExpiredGrants deletes grants whose expiry has passed, tenant by tenant. Decisions stop
// counting an expired grant at its expiry time without it (the enforcer reloads then); the job
// keeps the grant lists truthful and records each expiry in the audit log.
const TaskPurgeExpiredGrants = "workspaces:purge_expired_grants"

// SystemSubject is the audit subject of changes the product makes by itself.
const SystemSubject = "system"

// TenantLister lists tenants for maintenance that visits each one.
type TenantLister interface {
	IDs(ctx context.Context) ([]uuid.UUID, error)
}

// NewPurgeExpiredGrantsTask is the periodic task's payload-less task.
func NewPurgeExpiredGrantsTask() (*asynq.Task, error) {
	return asynq.NewTask(TaskPurgeExpiredGrants, nil, asynq.MaxRetry(5), asynq.Queue(jobs.QueueLow)), nil
}

// PurgeExpiredGrantsHandler runs the purge in every tenant. It is idempotent: a retry finds only
// what is still there.
func (s *Service) PurgeExpiredGrantsHandler(tenants TenantLister) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		ids, err := tenants.IDs(ctx)
		if err != nil {
			return fmt.Errorf("list tenants: %w", err)
		}
		total := 0
		err = jobs.ForEachTenant(ctx, ids, s.log, TaskPurgeExpiredGrants, func(ctx context.Context) error {
			n, err := s.PurgeExpiredGrants(ctx)
			total += n
			return err
		})
		s.log.InfoContext(ctx, "purged expired grants", slog.Int("revoked", total), slog.Int("tenants", len(ids)))
		return err
	}
}

// PurgeExpiredGrants revokes the expired grants of the tenant in ctx in one transaction, tells
// every process, and audits each one. It returns how many it revoked.
func (s *Service) PurgeExpiredGrants(ctx context.Context) (int, error) {
	tenantID, ok := tenancy.TenantFrom(ctx)
	if !ok {
		return 0, tenancy.ErrNoTenant
	}
	var gone []rbac.Grant
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		expired, err := pol.Expired(s.now())
		if err != nil {
			return err
		}
		for _, g := range expired {
			_, err := pol.Revoke(g.ID)
			if errors.Is(err, rbac.ErrNoGrant) {
				continue
			}
			if err != nil {
				return fmt.Errorf("revoke grant %s: %w", g.ID, err)
			}
			gone = append(gone, g)
		}
		return nil
	})
	if err != nil || len(gone) == 0 {
		return 0, err
	}
	for _, g := range gone {
		s.recordExpired(ctx, g)
	}
	return len(gone), s.authz.Changed(ctx, tenantID)
}

// recordExpired audits the removal of an expired grant.
func (s *Service) recordExpired(ctx context.Context, g rbac.Grant) {
	if s.audit == nil {
		return
	}
	s.audit.Record(ctx, rbac.AuditEntry{Subject: SystemSubject, Action: "grant:expire", Object: "grant:" + g.ID.String(),
		Allowed: true, Reason: map[string]any{"subject": g.Subject(), "role": g.Role, "node": g.Node(),
			"expires_at": g.ExpiresAt}})
}
