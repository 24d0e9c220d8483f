package rbac

import (
	"context"
	"fmt"
	"sort"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/tenancy"
)

// Policy writes rules inside the caller's tenant transaction. Call Enforcer.Changed after the
// transaction commits so every process drops the old policy.
type Policy struct {
	tx     *gorm.DB
	tenant string
}

// PolicyIn returns a writer bound to tx, which must be a tenancy.DB.Tx transaction.
func PolicyIn(ctx context.Context, tx *gorm.DB) (*Policy, error) {
	tenantID, ok := tenancy.TenantFrom(ctx)
	if !ok {
		return nil, tenancy.ErrNoTenant
	}
	return &Policy{tx: tx, tenant: tenantID.String()}, nil
}

// SeedBuiltinRoles defines the built-in roles in a new tenant.
func (p *Policy) SeedBuiltinRoles() error {
	a, err := adapterFor(p.tx)
	if err != nil {
		return err
	}
	roles := BuiltinRoles()
	names := make([]string, 0, len(roles))
	for name := range roles {
		names = append(names, name)
	}
	sort.Strings(names)
	var pRules, g2Rules [][]string
	for _, name := range names {
		pRules = append(pRules, []string{p.tenant, name})
		for _, act := range roles[name] {
			g2Rules = append(g2Rules, []string{name, string(act), p.tenant})
		}
	}
	if err := a.AddPolicies("p", "p", pRules); err != nil {
		return fmt.Errorf("seed roles: %w", err)
	}
	if err := a.AddPolicies("g", "g2", g2Rules); err != nil {
		return fmt.Errorf("seed role permissions: %w", err)
	}
	return nil
}

// GrantUser gives the user the role on the node (Root or a workspace node).
func (p *Policy) GrantUser(userID uuid.UUID, role, node string) error {
	if err := p.requireRole(role); err != nil {
		return err
	}
	a, err := adapterFor(p.tx)
	if err != nil {
		return err
	}
	if err := a.AddPolicy("g", "g", []string{node, role + "@" + UserSubject(userID), p.tenant}); err != nil {
		return fmt.Errorf("grant %s on %s: %w", role, node, err)
	}
	return nil
}

// RevokeUser takes the role on the node away from the user.
func (p *Policy) RevokeUser(userID uuid.UUID, role, node string) error {
	a, err := adapterFor(p.tx)
	if err != nil {
		return err
	}
	if err := a.RemovePolicy("g", "g", []string{node, role + "@" + UserSubject(userID), p.tenant}); err != nil {
		return fmt.Errorf("revoke %s on %s: %w", role, node, err)
	}
	return nil
}

// UserRolesOn lists the roles granted to the user directly on the node (no inheritance).
func (p *Policy) UserRolesOn(userID uuid.UUID, node string) ([]string, error) {
	var rules []struct{ V1 string }
	err := p.tx.Table(RulesTable).Select("v1").
		Where("ptype = ? AND v0 = ? AND v2 = ?", "g", node, p.tenant).
		Where("v1 LIKE ?", "%@"+UserSubject(userID)).Find(&rules).Error
	if err != nil {
		return nil, fmt.Errorf("roles on %s: %w", node, err)
	}
	roles := make([]string, 0, len(rules))
	for _, r := range rules {
		roles = append(roles, r.V1[:len(r.V1)-len("@"+UserSubject(userID))])
	}
	sort.Strings(roles)
	return roles, nil
}

func (p *Policy) requireRole(role string) error {
	var n int64
	err := p.tx.Table(RulesTable).Where("ptype = ? AND v0 = ? AND v1 = ?", "p", p.tenant, role).Count(&n).Error
	if err != nil {
		return fmt.Errorf("look up role %s: %w", role, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", ErrUnknownRole, role)
	}
	return nil
}
