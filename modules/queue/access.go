package queue

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// standing is how the caller stands to one item.
type standing struct {
	read, own, admin, deleteAny, auditor bool
}

// standingOn is the caller's standing on an item: owner, admin of its workspace (queue:update
// there; queue:delete for deleting anyone's), reader (queue:read), auditor (reads every board).
func (s *Service) standingOn(ctx context.Context, it Item) (standing, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return standing{}, nil
	}
	node := rbac.WorkspaceNode(it.WorkspaceID)
	var st standing
	var err error
	st.own = it.OwnerID == p.UserID
	if st.admin, err = s.authz.Allowed(ctx, p.TenantID, p.UserID, node, rbac.QueueUpdate); err != nil {
		return st, err
	}
	if st.deleteAny, err = s.authz.Allowed(ctx, p.TenantID, p.UserID, node, rbac.QueueDelete); err != nil {
		return st, err
	}
	st.read = st.own || st.admin
	if !st.read {
		if st.read, err = s.authz.Allowed(ctx, p.TenantID, p.UserID, node, rbac.QueueRead); err != nil {
			return st, err
		}
	}
	if st.read && !st.admin && !st.own {
		if st.auditor, err = s.authz.Allowed(ctx, p.TenantID, p.UserID, node, rbac.BoardRead); err != nil {
			return st, err
		}
	}
	return st, nil
}

// shows applies the privacy profile in force on the workspace: whether the caller sees an item's
// field values, results and error.
func (s *Service) shows(ctx context.Context, wsID uuid.UUID) (func(standing) bool, error) {
	p, err := s.profiles.FieldPolicy(ctx, rbac.WorkspaceNode(wsID))
	if err != nil {
		return nil, err
	}
	return func(st standing) bool {
		if !p.Hidden {
			return true
		}
		return (st.own && p.Owner) || (st.admin && p.Admins) || (st.auditor && p.Auditors)
	}, nil
}

// load reads an item the caller may see: anything else is the same 404.
func (s *Service) load(ctx context.Context, tx *gorm.DB, id uuid.UUID) (listed, standing, error) {
	it, err := s.store.get(tx, id)
	if errors.Is(err, errNotFound) {
		return it, standing{}, apierr.NotFound("queue item")
	}
	if err != nil {
		return it, standing{}, err
	}
	st, err := s.standingOn(ctx, it.Item)
	if err != nil {
		return it, st, err
	}
	if !st.read {
		return listed{}, standing{}, apierr.NotFound("queue item")
	}
	return it, st, nil
}
