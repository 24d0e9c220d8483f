package roles

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/decision"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// Authorizer is the decision point the service asks (rbac.Enforcer).
type Authorizer interface {
	Authorize(ctx context.Context, action rbac.Action, node string) error
	Allowed(ctx context.Context, tenantID, userID uuid.UUID, node string, action rbac.Action) (bool, error)
	Changed(ctx context.Context, tenantID uuid.UUID) error
}

// Auditor records every change to roles, and the refusals the service decides itself (nil: none).
type Auditor interface {
	Record(ctx context.Context, e rbac.AuditEntry)
}

// Service holds the rules of role management.
type Service struct {
	db    *tenancy.DB
	authz Authorizer
	guard decision.Gate
}

// NewService wires the service.
func NewService(db *tenancy.DB, authz Authorizer, audit Auditor) *Service {
	return &Service{db: db, authz: authz, guard: decision.NewGate(authz, audit, "role")}
}

// List returns every role of the tenant, built-in and custom, by name (role:read).
func (s *Service) List(ctx context.Context) ([]View, error) {
	if _, err := s.guard.AuthorizeCaller(ctx, rbac.RoleRead, rbac.Root); err != nil {
		return nil, err
	}
	var rows []rbac.Role
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		rows, err = pol.Roles()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	out := make([]View, 0, len(rows))
	for _, r := range rows {
		out = append(out, viewOf(r))
	}
	return out, nil
}

// Create defines a custom role (role:manage). Nobody can define a role with a permission they do
// not hold on the tenant root themselves: a role is a way to hand permissions out, so it must not
// be a way to mint new ones.
func (s *Service) Create(ctx context.Context, in CreateInput) (View, error) {
	p, err := s.guard.AuthorizeCaller(ctx, rbac.RoleManage, rbac.Root)
	if err != nil {
		return View{}, err
	}
	if !rbac.RoleNamePattern.MatchString(in.Name) {
		return View{}, apierr.Invalid("name", "must match "+rbac.RoleNamePattern.String())
	}
	if err := checkActions(in.Permissions); err != nil {
		return View{}, err
	}
	if err := s.withinCeiling(ctx, p, "role:"+in.Name, in.Permissions); err != nil {
		return View{}, err
	}
	var r rbac.Role
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		r, err = pol.DefineRole(in.Name, strings.TrimSpace(in.Description), in.Permissions)
		return err
	})
	if err != nil {
		return View{}, policyError(err)
	}
	if err := s.authz.Changed(ctx, p.TenantID); err != nil {
		return View{}, err
	}
	s.guard.Allow(ctx, rbac.RoleManage, r.ID, map[string]any{"op": "create", "name": r.Name, "permissions": []string(r.Permissions)})
	return viewOf(r), nil
}

// Update changes a custom role's description and permissions (role:manage). New permissions take
// effect at once for everyone who holds the role, on every node. Built-in roles are refused with
// a conflict: they are the same in every tenant, whoever asks.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in UpdateInput) (View, error) {
	p, err := s.guard.AuthorizeCaller(ctx, rbac.RoleManage, rbac.Root)
	if err != nil {
		return View{}, err
	}
	if in.Description != nil {
		trimmed := strings.TrimSpace(*in.Description)
		in.Description = &trimmed
	}
	var perms []rbac.Action
	if in.Permissions != nil {
		perms = *in.Permissions
		if perms == nil {
			perms = []rbac.Action{}
		}
		if err := checkActions(perms); err != nil {
			return View{}, err
		}
	}
	// A missing or built-in role answers before the ceiling does. The decision point is asked
	// between the two transactions, never inside one: it may need a connection of its own to
	// load the policy (the embedded database has only one).
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		r, err := pol.Role(id)
		if err == nil && r.Builtin {
			return rbac.ErrBuiltinRole
		}
		return err
	})
	if err != nil {
		return View{}, policyError(err)
	}
	if perms != nil {
		if err := s.withinCeiling(ctx, p, "role:"+id.String(), perms); err != nil {
			return View{}, err
		}
	}
	var before, after rbac.Role
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		if before, err = pol.Role(id); err != nil {
			return err
		}
		after, err = pol.UpdateRole(id, in.Description, perms)
		return err
	})
	if err != nil {
		return View{}, policyError(err)
	}
	if err := s.authz.Changed(ctx, p.TenantID); err != nil {
		return View{}, err
	}
	reason := map[string]any{"op": "update", "name": after.Name}
	if perms != nil {
		reason["permissions_before"] = []string(before.Permissions)
		reason["permissions"] = []string(after.Permissions)
	}
	if in.Description != nil {
		reason["description"] = after.Description
	}
	s.guard.Allow(ctx, rbac.RoleManage, after.ID, reason)
	return viewOf(after), nil
}

// Delete removes a custom role that nobody holds (role:manage). A role still granted anywhere is
// refused with a conflict: revoke its grants first, so that nobody loses access by surprise.
func (s *Service) Delete(ctx context.Context, id uuid.UUID) error {
	p, err := s.guard.AuthorizeCaller(ctx, rbac.RoleManage, rbac.Root)
	if err != nil {
		return err
	}
	var r rbac.Role
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		if r, err = pol.Role(id); err != nil {
			return err
		}
		return pol.DeleteRole(id)
	})
	if err != nil {
		return policyError(err)
	}
	if err := s.authz.Changed(ctx, p.TenantID); err != nil {
		return err
	}
	s.guard.Allow(ctx, rbac.RoleManage, r.ID, map[string]any{"op": "delete", "name": r.Name, "permissions": []string(r.Permissions)})
	return nil
}

// withinCeiling refuses permissions the caller does not hold on the tenant root, and audits the
// refusal (the enforcer only audits the denials it decides).
func (s *Service) withinCeiling(ctx context.Context, p tenancy.Principal, object string, perms []rbac.Action) error {
	var missing []string
	for _, a := range perms {
		ok, err := s.authz.Allowed(ctx, p.TenantID, p.UserID, rbac.Root, a)
		if err != nil {
			return err
		}
		if !ok {
			missing = append(missing, string(a))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	s.guard.Record(ctx, rbac.RoleManage, object, false,
		map[string]any{"rule": "a role cannot carry permissions its author does not hold", "missing": missing})
	return apierr.Forbidden("you cannot give a role permissions you do not hold: " + strings.Join(missing, ", "))
}

// checkActions names the first unknown action; rbac would refuse it too, but only as a bare error.
func checkActions(perms []rbac.Action) error {
	for _, a := range perms {
		if !a.Known() {
			return apierr.Invalid("permissions", fmt.Sprintf("unknown action %q", string(a)))
		}
	}
	return nil
}

// policyError maps rbac's policy errors to the API's categories.
func policyError(err error) error {
	switch {
	case errors.Is(err, rbac.ErrUnknownRole):
		return apierr.NotFound("role")
	case errors.Is(err, rbac.ErrRoleExists):
		return apierr.Conflict("a role with this name exists")
	case errors.Is(err, rbac.ErrBuiltinRole):
		return apierr.Conflict("built-in roles cannot be changed or deleted")
	case errors.Is(err, rbac.ErrRoleInUse):
		return apierr.Conflict("the role is still granted; revoke its grants first")
	case errors.Is(err, rbac.ErrBadAction):
		return apierr.Invalid("permissions", "unknown action")
	}
	return err
}
