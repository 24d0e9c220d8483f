package profiles

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/workspaces"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// Assign puts a profile in force on the node `{ws}` (an id, a path, or ~ for the tenant root),
// replacing the type's assignment there. It needs profile:manage on the node — workspace admins
// assign in their subtree, tenant admins anywhere — and, when the type's profile in force there
// comes from an ancestor, on that ancestor too: nobody overrides a profile set above their reach.
func (s *Service) Assign(ctx context.Context, ref, typ string, in AssignInput) (AssignmentView, error) {
	at, err := s.target(ctx, ref)
	if err != nil {
		return AssignmentView{}, err
	}
	if err := s.guard.Authorize(ctx, rbac.ProfileManage, at.Node); err != nil {
		return AssignmentView{}, err
	}
	if _, ok := Lookup(typ); !ok {
		return AssignmentView{}, apierr.NotFound("profile type")
	}
	profileID, err := uuid.Parse(in.ProfileID)
	if err != nil {
		return AssignmentView{}, apierr.Invalid("profile_id", "must be a UUID")
	}
	if err := s.authorizeOverride(ctx, at, typ); err != nil {
		return AssignmentView{}, err
	}
	if err := s.authorizeLift(ctx, at, typ); err != nil {
		return AssignmentView{}, err
	}
	var (
		out      AssignmentView
		replaced []uuid.UUID
	)
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		p, err := s.store.get(tx, profileID)
		if err != nil {
			return err
		}
		if p.Type != typ {
			return apierr.Invalid("profile_id", "is a "+p.Type+" profile, not "+typ)
		}
		if at.Node == rbac.Root && typ == TypeAccess {
			if path, bad := lockout(json.RawMessage(p.Settings)); bad {
				return apierr.Invalid("profile_id", "its settings."+path+" takes profile:manage from admin: on the "+
					"tenant root, nobody could change or unassign it again")
			}
		}
		if err := tx.Model(&Assignment{}).Where("node = ? AND type = ?", at.Node, typ).
			Pluck("profile_id", &replaced).Error; err != nil {
			return err
		}
		a := Assignment{Node: at.Node, Type: typ, ProfileID: p.ID, WorkspaceID: at.WorkspaceID, CreatedAt: time.Now().UTC()}
		if err := s.store.assign(tx, &a); err != nil {
			return fmt.Errorf("assign profile: %w", err)
		}
		out = AssignmentView{Origin: at, Type: typ, Profile: p.view(), CreatedAt: a.CreatedAt}
		return nil
	})
	switch {
	case errors.Is(err, errNotFound):
		return AssignmentView{}, apierr.NotFound("profile")
	case errors.Is(err, errGone):
		return AssignmentView{}, apierr.Conflict("the workspace or the profile was deleted meanwhile")
	case err != nil:
		return AssignmentView{}, err
	}
	if typ == TypeAccess {
		if err := s.changed(ctx); err != nil {
			return AssignmentView{}, err
		}
	}
	reason := map[string]any{"op": "assign", "type": typ, "profile_id": profileID.String(), "path": at.Path}
	if len(replaced) > 0 {
		reason["replaced_profile_id"] = replaced[0].String()
	}
	s.guard.Record(ctx, rbac.ProfileManage, at.Node, true, reason)
	return out, nil
}

// Unassign removes the type's assignment from the node (profile:manage on it); the node then
// inherits from its ancestors again.
func (s *Service) Unassign(ctx context.Context, ref, typ string) error {
	at, err := s.target(ctx, ref)
	if err != nil {
		return err
	}
	if err := s.guard.Authorize(ctx, rbac.ProfileManage, at.Node); err != nil {
		return err
	}
	if _, ok := Lookup(typ); !ok {
		return apierr.NotFound("profile type")
	}
	if err := s.authorizeLift(ctx, at, typ); err != nil {
		return err
	}
	var gone Assignment
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		gone, err = s.store.unassign(tx, at.Node, typ)
		return err
	})
	if errors.Is(err, errNoAssignment) {
		return apierr.NotFound("profile assignment")
	}
	if err != nil {
		return err
	}
	if typ == TypeAccess {
		if err := s.changed(ctx); err != nil {
			return err
		}
	}
	s.guard.Record(ctx, rbac.ProfileManage, at.Node, true, map[string]any{"op": "unassign", "type": typ, "profile_id": gone.ProfileID.String(), "path": at.Path})
	return nil
}

// target resolves a route's `{ws}`: ~ is the tenant root, anything else a workspace the caller
// can see (otherwise not found).
func (s *Service) target(ctx context.Context, ref string) (Origin, error) {
	if ref == workspaces.RootRef {
		return Origin{Node: rbac.Root}, nil
	}
	w, err := s.ws.Resolve(ctx, ref)
	if err != nil {
		return Origin{}, err
	}
	id := w.ID
	parent := rbac.Root
	if w.ParentID != nil {
		parent = rbac.WorkspaceNode(*w.ParentID)
	}
	return Origin{Node: rbac.WorkspaceNode(id), WorkspaceID: &id, Path: w.Path, parent: parent}, nil
}

// authorizeLift keeps an access profile from being lifted by those it restricts. Replacing or
// unassigning the access profile assigned on a workspace needs, when that profile restricts the
// caller there (read_only, or actions denied to a role the caller holds on the workspace), the
// right to manage profiles on the workspace's parent: rights that come from above the node,
// which tenant admins and admins of an ancestor have and an admin granted on the node itself
// has not. A profile that restricts nobody the caller is may be changed by whoever manages
// profiles on the node.
func (s *Service) authorizeLift(ctx context.Context, at Origin, typ string) error {
	if typ != TypeAccess || at.Node == rbac.Root {
		return nil
	}
	cur, err := s.Effective(ctx, at.Node, typ)
	if errors.Is(err, ErrUnknownNode) {
		return apierr.NotFound("workspace")
	}
	if err != nil {
		return err
	}
	if cur.From == nil || cur.From.Node != at.Node {
		return nil // nothing assigned here; an ancestor's profile is authorizeOverride's
	}
	var settings rbac.AccessSettings
	if err := json.Unmarshal(cur.Settings, &settings); err != nil {
		return fmt.Errorf("access settings: %w", err)
	}
	p, _ := tenancy.PrincipalFrom(ctx)
	rights, err := s.authz.RightsOn(ctx, p.TenantID, p.UserID, at.Node)
	if err != nil {
		return err
	}
	restricted := settings.ReadOnly
	for _, role := range rights.Roles {
		if len(settings.Deny[role]) > 0 {
			restricted = true
		}
	}
	if !restricted {
		return nil
	}
	err = s.authz.Authorize(ctx, rbac.ProfileManage, at.parent)
	if errors.Is(err, rbac.ErrDenied) {
		return apierr.Forbidden("the access profile on " + at.Path + " restricts you there; only someone who manages " +
			"profiles above it (an admin of a parent workspace or a tenant admin) may replace or remove it")
	}
	return err
}

// authorizeOverride refuses to replace, from below, a profile assigned on an ancestor the caller
// may not manage: a workspace admin must not lift the limits a tenant admin set on a parent.
func (s *Service) authorizeOverride(ctx context.Context, at Origin, typ string) error {
	cur, err := s.Effective(ctx, at.Node, typ)
	if errors.Is(err, ErrUnknownNode) {
		return apierr.NotFound("workspace")
	}
	if err != nil {
		return err
	}
	if cur.From == nil || cur.From.Node == at.Node {
		return nil
	}
	err = s.authz.Authorize(ctx, rbac.ProfileManage, cur.From.Node)
	if errors.Is(err, rbac.ErrDenied) {
		where := "the tenant root"
		if cur.From.Path != "" {
			where = cur.From.Path
		}
		return apierr.Forbidden("the " + typ + " profile in force here is assigned on " + where +
			", which you may not manage; only someone who may can override it")
	}
	return err
}
