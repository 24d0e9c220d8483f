package queue

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// announce publishes an event for each item and the new counts.
func (s *Service) announce(ctx context.Context, items []Item) {
	for _, it := range items {
		s.itemEvent(ctx, it, "")
	}
	if len(items) > 0 {
		s.countsEvent(ctx, items[0].TenantID)
	}
}

// itemEvent tells the item's owner and the admins of its workspace how it stands. Events are
// best effort: a failure is logged, never undoes the change.
func (s *Service) itemEvent(ctx context.Context, it Item, node string) {
	if s.events == nil {
		return
	}
	data := ItemEvent{ItemID: it.ID, WorkspaceID: it.WorkspaceID, Status: it.Status, Progress: it.Progress, Node: node, Error: it.Error}
	if it.Status == StatusCompleted {
		_ = json.Unmarshal(it.ResultImageIDs, &data.ResultIDs)
	}
	err := s.events.Publish(ctx, Notice{TenantID: it.TenantID, Name: "queue_item", Data: data,
		UserID: it.OwnerID, WorkspaceID: it.WorkspaceID, AdminAction: rbac.QueueUpdate})
	if err != nil {
		s.log.WarnContext(ctx, "publish queue item event", slog.String("item_id", it.ID.String()), slog.Any("error", err))
	}
}

// countsEvent tells every user of the tenant how many items are pending and running.
func (s *Service) countsEvent(ctx context.Context, tenantID uuid.UUID) {
	if s.events == nil {
		return
	}
	var c CountsEvent
	err := s.db.Tx(tenancy.WithTenant(ctx, tenantID), func(tx *gorm.DB) error {
		var err error
		c, err = s.store.counts(tx)
		return err
	})
	if err == nil {
		err = s.events.Publish(ctx, Notice{TenantID: tenantID, Name: "queue_counts", Data: c, TenantWide: true})
	}
	if err != nil {
		s.log.WarnContext(ctx, "publish queue counts", slog.Any("error", err))
	}
}
