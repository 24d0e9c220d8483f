package tokens

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/jobs"
	"github.com/atelier-hq/atelier/rbac"
)

// Periodic task types.
const (
	// TaskPruneAccessLog deletes access log entries past the retention, tenant by tenant.
	TaskPruneAccessLog = "tokens:prune_access_log"
	// TaskExpiryNotice tells owners about their tokens that expire within the notice window.
	TaskExpiryNotice = "tokens:expiry_notice"
)

// noticeBatch bounds how many tokens one pass of the expiry notice claims per tenant.
const noticeBatch = 500

// TenantLister lists tenants for maintenance that visits each one.
type TenantLister interface {
	IDs(ctx context.Context) ([]uuid.UUID, error)
}

// ExpiryNotice says that a token expires soon.
type ExpiryNotice struct {
	TenantID  uuid.UUID
	UserID    uuid.UUID
	TokenID   uuid.UUID
	Name      string
	Prefix    string
	ExpiresAt time.Time
}

// Notifier tells a token's owner that it expires soon. The events module implements it (an
// event for the owner); until it is wired, LogNotifier writes the notice to the process log.
// A notifier error makes the task retry that notice later.
type Notifier interface {
	TokenExpiring(ctx context.Context, n ExpiryNotice) error
}

// LogNotifier reports expiry notices in the process log.
type LogNotifier struct{ Log *slog.Logger }

// TokenExpiring logs the notice.
func (n LogNotifier) TokenExpiring(ctx context.Context, e ExpiryNotice) error {
	n.Log.InfoContext(ctx, "personal access token expires soon", slog.String("tenant_id", e.TenantID.String()),
		slog.String("user_id", e.UserID.String()), slog.String("token_id", e.TokenID.String()),
		slog.String("prefix", e.Prefix), slog.Time("expires_at", e.ExpiresAt))
	return nil
}

// NewPruneTask is the retention's payload-less task.
func NewPruneTask() (*asynq.Task, error) {
	return asynq.NewTask(TaskPruneAccessLog, nil, asynq.MaxRetry(5), asynq.Queue(jobs.QueueLow)), nil
}

// NewExpiryNoticeTask is the expiry notice's payload-less task.
func NewExpiryNoticeTask() (*asynq.Task, error) {
	return asynq.NewTask(TaskExpiryNotice, nil, asynq.MaxRetry(5), asynq.Queue(jobs.QueueLow)), nil
}

// PruneHandler runs the retention in every tenant. It is idempotent: a retry deletes only what
// is still there.
func (s *Service) PruneHandler(tenants TenantLister) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		if s.cfg.Retention <= 0 {
			return nil
		}
		ids, err := tenants.IDs(ctx)
		if err != nil {
			return fmt.Errorf("list tenants: %w", err)
		}
		var total int64
		err = jobs.ForEachTenant(ctx, ids, s.log, TaskPruneAccessLog, func(ctx context.Context) error {
			n, err := s.PruneAccessLog(ctx)
			total += n
			return err
		})
		s.log.InfoContext(ctx, "pruned token access log", slog.Int64("deleted", total), slog.Int("tenants", len(ids)),
			slog.Duration("retention", s.cfg.Retention))
		return err
	}
}

// PruneAccessLog deletes the tenant's access log entries older than the retention, in bounded
// batches (one statement and transaction each, so no long locks), and returns how many it
// deleted.
func (s *Service) PruneAccessLog(ctx context.Context) (int64, error) {
	if s.cfg.Retention <= 0 {
		return 0, nil
	}
	cutoff := s.now().Add(-s.cfg.Retention)
	var total int64
	for {
		var n int64
		err := s.db.Tx(ctx, func(tx *gorm.DB) error {
			var err error
			n, err = s.store.pruneLog(tx, cutoff, s.cfg.PruneBatch)
			return err
		})
		total += n
		if err != nil {
			return total, err
		}
		if n < int64(s.cfg.PruneBatch) {
			return total, nil
		}
	}
}

// ExpiryNoticeHandler sends the expiry notices of every tenant.
func (s *Service) ExpiryNoticeHandler(tenants TenantLister) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		ids, err := tenants.IDs(ctx)
		if err != nil {
			return fmt.Errorf("list tenants: %w", err)
		}
		total := 0
		err = jobs.ForEachTenant(ctx, ids, s.log, TaskExpiryNotice, func(ctx context.Context) error {
			n, err := s.NotifyExpiring(ctx)
			total += n
			return err
		})
		s.log.InfoContext(ctx, "token expiry notices sent", slog.Int("notices", total), slog.Int("tenants", len(ids)))
		return err
	}
}

// NotifyExpiring tells the owners of the tenant's live tokens that expire within the notice
// window and were not told yet, once per token. Each token is claimed (notified_at set) before
// its notice goes out, so concurrent runs never send it twice; a notice that fails is released
// for the retry.
func (s *Service) NotifyExpiring(ctx context.Context) (int, error) {
	sent := 0
	for {
		now := s.now()
		var due []Token
		err := s.db.Tx(ctx, func(tx *gorm.DB) error {
			var err error
			due, err = s.store.expiring(tx, now, now.Add(s.cfg.NoticeWindow), noticeBatch)
			return err
		})
		if err != nil {
			return sent, err
		}
		for _, t := range due {
			ok, err := s.notifyOne(ctx, t, now)
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
			}
		}
		if len(due) < noticeBatch {
			return sent, nil
		}
	}
}

func (s *Service) notifyOne(ctx context.Context, t Token, now time.Time) (bool, error) {
	var claimed bool
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		claimed, err = s.store.claimNotice(tx, t.ID, now)
		return err
	})
	if err != nil || !claimed {
		return false, err
	}
	n := ExpiryNotice{TenantID: t.TenantID, UserID: t.UserID, TokenID: t.ID, Name: t.Name, Prefix: t.Prefix,
		ExpiresAt: t.ExpiresAt.UTC()}
	if err := s.notifier.TokenExpiring(ctx, n); err != nil {
		if rerr := s.db.Tx(ctx, func(tx *gorm.DB) error { return s.store.releaseNotice(tx, t.ID) }); rerr != nil {
			s.log.ErrorContext(ctx, "release expiry notice claim", slog.String("token_id", t.ID.String()), slog.Any("error", rerr))
		}
		return false, fmt.Errorf("notify owner of token %s: %w", t.ID, err)
	}
	s.audit.Record(ctx, rbac.AuditEntry{Subject: SystemSubject, Action: "token:expiry_notice",
		Object: "token:" + t.ID.String(), Allowed: true, Reason: map[string]any{"owner": t.UserID.String(),
			"expires_at": n.ExpiresAt, "prefix": t.Prefix}})
	return true, nil
}
