package queue

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/decision"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// List is a page of the workspace's queue: every item, in order, with its owner's name; field
// values, results and errors only where the privacy profile shows them to the caller.
func (s *Service) List(ctx context.Context, wsRef string, after uuid.UUID, limit int) ([]View, error) {
	ws, err := s.workspaces.Resolve(ctx, wsRef)
	if err != nil {
		return nil, err
	}
	if err := s.guard.Authorize(ctx, rbac.QueueRead, ws.Node()); err != nil {
		return nil, err
	}
	p, _ := tenancy.PrincipalFrom(ctx)
	var rows []listed
	err = s.db.ReadTx(ctx, func(tx *gorm.DB) error {
		var err error
		rows, err = s.store.list(tx, ws.ID, after, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	// The caller's standing is the same for every item of the workspace but ownership.
	st, err := s.standingOn(ctx, Item{WorkspaceID: ws.ID})
	if err != nil {
		return nil, err
	}
	show, err := s.shows(ctx, ws.ID)
	if err != nil {
		return nil, err
	}
	out := make([]View, len(rows))
	for i, r := range rows {
		its := st
		its.own = r.OwnerID == p.UserID
		its.auditor = st.auditor && !its.own
		out[i] = r.view(show(its))
	}
	return out, nil
}

// Get returns an item the caller may see.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (View, error) {
	var it listed
	var st standing
	err := s.db.ReadTx(ctx, func(tx *gorm.DB) error {
		var err error
		it, st, err = s.load(ctx, tx, id)
		return err
	})
	if err != nil {
		return View{}, err
	}
	show, err := s.shows(ctx, it.WorkspaceID)
	if err != nil {
		return View{}, err
	}
	return it.view(show(st)), nil
}

// Cancel cancels a pending or running item: its owner or an admin. A running item stops before
// its next node.
func (s *Service) Cancel(ctx context.Context, id uuid.UUID) (View, error) {
	if err := decision.RequireWrite(ctx); err != nil {
		return View{}, err
	}
	var out listed
	var canceled []Item
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		it, st, err := s.load(ctx, tx, id)
		if err != nil {
			return err
		}
		if !st.own && !st.admin {
			return s.guard.Forbid(ctx, "queue:update", id, "only the owner or an admin cancels a queue item")
		}
		if finished(it.Status) {
			return apierr.Conflict("the queue item is already " + it.Status)
		}
		if canceled, err = s.store.cancel(tx, func(q *gorm.DB) *gorm.DB { return q.Where("id = ?", id) }, s.now()); err != nil {
			return err
		}
		out, err = s.store.get(tx, id)
		return err
	})
	if err != nil {
		return View{}, err
	}
	s.guard.Allow(ctx, "queue:cancel", id, nil)
	s.announce(ctx, canceled)
	return out.view(true), nil
}

// CancelAll cancels the caller's active items in the workspace (scope "mine"), or everyone's
// (scope "all", admins). Each canceled item gets its event.
func (s *Service) CancelAll(ctx context.Context, wsRef, scope string) (int, error) {
	if err := decision.RequireWrite(ctx); err != nil {
		return 0, err
	}
	ws, err := s.workspaces.Resolve(ctx, wsRef)
	if err != nil {
		return 0, err
	}
	p, _ := tenancy.PrincipalFrom(ctx)
	var sel func(*gorm.DB) *gorm.DB
	switch scope {
	case "mine":
		sel = func(q *gorm.DB) *gorm.DB { return q.Where("workspace_id = ? AND owner_id = ?", ws.ID, p.UserID) }
	case "all":
		if err := s.guard.Authorize(ctx, rbac.QueueUpdate, ws.Node()); err != nil {
			return 0, err
		}
		sel = func(q *gorm.DB) *gorm.DB { return q.Where("workspace_id = ?", ws.ID) }
	default:
		return 0, apierr.Invalid("scope", "must be mine or all")
	}
	var canceled []Item
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		canceled, err = s.store.cancel(tx, sel, s.now())
		return err
	})
	if err != nil {
		return 0, err
	}
	s.guard.Allow(ctx, "queue:cancel_all", ws.ID, map[string]any{"scope": scope, "canceled": len(canceled)})
	s.announce(ctx, canceled)
	return len(canceled), nil
}

// Retry queues a failed or canceled item again: its owner or an admin. It runs as its owner.
func (s *Service) Retry(ctx context.Context, id uuid.UUID) (View, error) {
	if err := decision.RequireWrite(ctx); err != nil {
		return View{}, err
	}
	var out listed
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		it, st, err := s.load(ctx, tx, id)
		if err != nil {
			return err
		}
		if !st.own && !st.admin {
			return s.guard.Forbid(ctx, "queue:update", id, "only the owner or an admin retries a queue item")
		}
		// A retried item is pending again: it counts against its owner's quota.
		if err := s.lockUser(tx, it.TenantID, it.OwnerID); err != nil {
			return err
		}
		if err := s.underQuota(ctx, tx, it.WorkspaceID, it.OwnerID, "the owner has"); err != nil {
			return err
		}
		ok, err := s.store.retry(tx, id, s.now())
		if err != nil {
			return err
		}
		if !ok {
			return apierr.Conflict("only a failed or canceled queue item can be retried; this one is " + it.Status)
		}
		out, err = s.store.get(tx, id)
		return err
	})
	if err != nil {
		return View{}, err
	}
	if err := s.enqueueTask(ctx, out.Item); err != nil {
		s.failUnqueued(ctx, out.Item)
		return View{}, apierr.Unavailable("the job queue", err)
	}
	s.guard.Allow(ctx, "queue:retry", id, nil)
	s.itemEvent(ctx, out.Item, "")
	s.countsEvent(ctx, out.TenantID)
	return out.view(true), nil
}

// Delete removes an item: its owner or an admin. A running item stops before its next node and
// saves nothing.
func (s *Service) Delete(ctx context.Context, id uuid.UUID) error {
	if err := decision.RequireWrite(ctx); err != nil {
		return err
	}
	var it listed
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var st standing
		var err error
		it, st, err = s.load(ctx, tx, id)
		if err != nil {
			return err
		}
		if !st.own && !st.deleteAny {
			return s.guard.Forbid(ctx, "queue:delete", id, "only the owner or an admin deletes a queue item")
		}
		ok, err := s.store.delete(tx, id)
		if err == nil && !ok {
			err = apierr.NotFound("queue item")
		}
		return err
	})
	if err != nil {
		return err
	}
	s.guard.Allow(ctx, "queue:delete", id, nil)
	active := !finished(it.Status)
	it.Status = StatusDeleted
	s.itemEvent(ctx, it.Item, "")
	if active {
		s.countsEvent(ctx, it.TenantID)
	}
	return nil
}
