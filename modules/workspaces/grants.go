package workspaces

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// ListGrants pages through the grants made on the node `ref` names (a workspace, or the tenant
// root for `~`), newest first (grant:read on the node).
func (s *Service) ListGrants(ctx context.Context, ref string, before uuid.UUID, limit int) ([]GrantView, error) {
	node, err := s.ResolveNode(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := s.guard.Authorize(ctx, rbac.GrantRead, node); err != nil {
		return nil, err
	}
	var rows []rbac.Grant
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		rows, err = s.store.grants(tx, node, before, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]GrantView, 0, len(rows))
	for _, g := range rows {
		out = append(out, grantView(g))
	}
	return out, nil
}

// CreateGrant gives a user or group of the tenant a role on the node (grant:manage on it). No
// role can grant more than its holder has: the caller must hold, on that node, every
// permission of the role they hand out. A grant of the same role to the same subject on the same
// node that has expired but not yet been purged is replaced; a live one is a conflict.
func (s *Service) CreateGrant(ctx context.Context, ref string, in GrantInput) (GrantView, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return GrantView{}, apierr.Unauthorized()
	}
	node, err := s.ResolveNode(ctx, ref)
	if err != nil {
		return GrantView{}, err
	}
	if err := s.guard.Authorize(ctx, rbac.GrantManage, node); err != nil {
		return GrantView{}, err
	}
	now := s.now()
	if in.ExpiresAt != nil {
		if !in.ExpiresAt.After(now) {
			return GrantView{}, apierr.Invalid("expires_at", "must be in the future")
		}
		at := in.ExpiresAt.UTC()
		in.ExpiresAt = &at
	}
	if !rbac.RoleNamePattern.MatchString(in.Role) {
		return GrantView{}, apierr.Invalid("role", "unknown role")
	}
	var role rbac.Role
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		if role, err = pol.RoleByName(in.Role); err != nil {
			return unknownRole(err)
		}
		found, err := s.store.subjectExists(tx, p.TenantID, in.SubjectType, in.SubjectID)
		if err != nil {
			return err
		}
		if !found {
			return apierr.Invalid("subject_id", "no such "+in.SubjectType+" in this tenant")
		}
		return nil
	})
	if err != nil {
		return GrantView{}, err
	}
	if err := s.holdsRole(ctx, p, node, role); err != nil {
		return GrantView{}, err
	}
	g := rbac.Grant{SubjectType: in.SubjectType, SubjectID: in.SubjectID, Role: role.Name, ExpiresAt: in.ExpiresAt,
		CreatedBy: &p.UserID}
	if node != rbac.Root {
		id := uuid.MustParse(strings.TrimPrefix(node, "ws:"))
		g.WorkspaceID = &id
	}
	var replaced *rbac.Grant
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		if replaced, err = s.dropExpiredTwin(tx, pol, g, now); err != nil {
			return err
		}
		g, err = pol.Grant(g)
		switch {
		case errors.Is(err, rbac.ErrGrantExists):
			return apierr.Conflict("the subject already holds this role on this node")
		case errors.Is(err, rbac.ErrUnknownRole):
			return apierr.Invalid("role", "unknown role")
		case errors.Is(err, gorm.ErrForeignKeyViolated):
			return apierr.NotFound("workspace") // deleted since it was resolved
		}
		return err
	})
	if err != nil {
		return GrantView{}, err
	}
	if err := s.authz.Changed(ctx, p.TenantID); err != nil {
		return GrantView{}, err
	}
	if replaced != nil {
		s.recordExpired(ctx, *replaced)
	}
	s.guard.Record(ctx, rbac.GrantManage, "grant:"+g.ID.String(), true, map[string]any{"change": "granted", "node": node,
		"subject": g.Subject(), "role": g.Role, "expires_at": g.ExpiresAt})
	return grantView(g), nil
}

// dropExpiredTwin revokes an expired grant that would block g as a duplicate.
func (s *Service) dropExpiredTwin(tx *gorm.DB, pol *rbac.Policy, g rbac.Grant, now time.Time) (*rbac.Grant, error) {
	var twin rbac.Grant
	err := onNode(tx.Model(&rbac.Grant{}), g.Node()).
		Where("subject_type = ? AND subject_id = ? AND role = ? AND expires_at IS NOT NULL AND expires_at <= ?",
			g.SubjectType, g.SubjectID, g.Role, now).Take(&twin).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if _, err := pol.Revoke(twin.ID); err != nil {
		return nil, err
	}
	return &twin, nil
}

// DeleteGrant revokes a grant made on the node (grant:manage on it). The same rule as for
// granting holds: nobody revokes a role with permissions they do not hold there. A tenant admin
// cannot revoke their own tenant-wide admin grant (the tenant would risk losing its last admin).
func (s *Service) DeleteGrant(ctx context.Context, ref string, id uuid.UUID) error {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return apierr.Unauthorized()
	}
	node, err := s.ResolveNode(ctx, ref)
	if err != nil {
		return err
	}
	if err := s.guard.Authorize(ctx, rbac.GrantManage, node); err != nil {
		return err
	}
	var g rbac.Grant
	var role rbac.Role
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if g, err = s.store.grant(tx, node, id); err != nil {
			return err
		}
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		role, err = pol.RoleByName(g.Role)
		return err
	})
	if errors.Is(err, rbac.ErrNoGrant) {
		return apierr.NotFound("grant")
	}
	if err != nil {
		return err
	}
	if node == rbac.Root && g.Role == rbac.RoleAdmin && g.SubjectType == rbac.SubjectUser && g.SubjectID == p.UserID {
		return apierr.Conflict("you cannot revoke your own tenant admin role")
	}
	if err := s.holdsRole(ctx, p, node, role); err != nil {
		return err
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		_, err = pol.Revoke(g.ID)
		return err
	})
	if errors.Is(err, rbac.ErrNoGrant) {
		return apierr.NotFound("grant")
	}
	if err != nil {
		return err
	}
	if err := s.authz.Changed(ctx, p.TenantID); err != nil {
		return err
	}
	s.guard.Record(ctx, rbac.GrantManage, "grant:"+g.ID.String(), true, map[string]any{"change": "revoked", "node": node,
		"subject": g.Subject(), "role": g.Role})
	return nil
}

// holdsRole refuses (403, and audited as a denial) unless the caller may do, on the node, every
// action of the role: handing out or taking away a role is never a way to exceed one's own.
func (s *Service) holdsRole(ctx context.Context, p tenancy.Principal, node string, role rbac.Role) error {
	var missing []string
	for _, perm := range role.Permissions {
		ok, err := s.authz.Allowed(ctx, p.TenantID, p.UserID, node, rbac.Action(perm))
		if err != nil {
			return err
		}
		if !ok {
			missing = append(missing, perm)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	s.guard.Record(ctx, rbac.GrantManage, node, false, map[string]any{"rule": "the role exceeds the caller's permissions",
		"role": role.Name, "missing": missing})
	return apierr.Forbidden("you cannot hand out permissions you do not hold here: " + strings.Join(missing, ", "))
}

func unknownRole(err error) error {
	if errors.Is(err, rbac.ErrUnknownRole) {
		return apierr.Invalid("role", "unknown role")
	}
	return err
}
