package rbac

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	gormadapter "github.com/casbin/gorm-adapter/v3"
	"github.com/google/uuid"
	"gorm.io/datatypes"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/tenancy"
)

// Errors of policy changes.
var (
	ErrUnknownRole = errors.New("rbac: unknown role")
	ErrRoleExists  = errors.New("rbac: role exists")
	ErrRoleInUse   = errors.New("rbac: role is granted")
	ErrBuiltinRole = errors.New("rbac: built-in roles cannot be changed")
	ErrGrantExists = errors.New("rbac: grant exists")
	ErrNoGrant     = errors.New("rbac: no such grant")
	ErrBadAction   = errors.New("rbac: unknown action")
)

// RoleNamePattern is the rule for role names.
var RoleNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{1,39}$`)

// Policy writes the policy inside the caller's tenant transaction: the rows the API shows and
// the casbin rules decisions walk, together or not at all. Call Enforcer.Changed after the
// transaction commits so every process drops the old policy.
type Policy struct {
	tx      *gorm.DB
	tenant  string
	adapter *gormadapter.Adapter
}

// PolicyIn returns a writer bound to tx, which must be a tenancy.DB.Tx transaction.
func PolicyIn(ctx context.Context, tx *gorm.DB) (*Policy, error) {
	tenantID, ok := tenancy.TenantFrom(ctx)
	if !ok {
		return nil, tenancy.ErrNoTenant
	}
	a, err := adapterFor(tx)
	if err != nil {
		return nil, err
	}
	return &Policy{tx: tx, tenant: tenantID.String(), adapter: a}, nil
}

// SeedBuiltinRoles defines the built-in roles in a new tenant.
func (p *Policy) SeedBuiltinRoles() error {
	roles := BuiltinRoles()
	names := make([]string, 0, len(roles))
	for name := range roles {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, err := p.defineRole(name, builtinDescriptions[name], roles[name], true); err != nil {
			return fmt.Errorf("seed role %s: %w", name, err)
		}
	}
	return nil
}

// DefineRole creates a custom role.
func (p *Policy) DefineRole(name, description string, perms []Action) (Role, error) {
	return p.defineRole(name, description, perms, false)
}

func (p *Policy) defineRole(name, description string, perms []Action, builtin bool) (Role, error) {
	perms, err := normalise(perms)
	if err != nil {
		return Role{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Role{}, err
	}
	r := Role{ID: id, Name: name, Description: description, Builtin: builtin, Permissions: actionStrings(perms)}
	if err := p.tx.Create(&r).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return Role{}, ErrRoleExists
		}
		return Role{}, fmt.Errorf("insert role: %w", err)
	}
	if err := p.adapter.AddPolicy("p", "p", []string{p.tenant, name}); err != nil {
		return Role{}, err
	}
	return r, p.addPermissions(name, perms)
}

// UpdateRole changes a custom role's description and, when perms is not nil, its permissions.
func (p *Policy) UpdateRole(id uuid.UUID, description *string, perms []Action) (Role, error) {
	r, err := p.Role(id)
	if err != nil {
		return Role{}, err
	}
	if r.Builtin {
		return Role{}, ErrBuiltinRole
	}
	fields := map[string]any{"updated_at": time.Now().UTC()}
	if description != nil {
		fields["description"] = *description
	}
	if perms != nil {
		perms, err = normalise(perms)
		if err != nil {
			return Role{}, err
		}
		fields["permissions"] = datatypes.JSONSlice[string](actionStrings(perms))
		if err := p.adapter.RemoveFilteredPolicy("g", "g2", 0, r.Name, "", p.tenant); err != nil {
			return Role{}, err
		}
		if err := p.addPermissions(r.Name, perms); err != nil {
			return Role{}, err
		}
	}
	if err := p.tx.Model(&Role{}).Where("id = ?", id).Updates(fields).Error; err != nil {
		return Role{}, err
	}
	return p.Role(id)
}

// DeleteRole removes a custom role that nobody holds.
func (p *Policy) DeleteRole(id uuid.UUID) error {
	r, err := p.Role(id)
	if err != nil {
		return err
	}
	if r.Builtin {
		return ErrBuiltinRole
	}
	var n int64
	if err := p.tx.Model(&Grant{}).Where("role = ?", r.Name).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return ErrRoleInUse
	}
	if err := p.tx.Where("id = ?", id).Delete(&Role{}).Error; err != nil {
		return err
	}
	if err := p.adapter.RemoveFilteredPolicy("g", "g2", 0, r.Name, "", p.tenant); err != nil {
		return err
	}
	return p.adapter.RemovePolicy("p", "p", []string{p.tenant, r.Name})
}

// Role returns a role of the tenant.
func (p *Policy) Role(id uuid.UUID) (Role, error) {
	var r Role
	err := p.tx.Where("id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return r, ErrUnknownRole
	}
	return r, err
}

// RoleByName returns a role of the tenant by name.
func (p *Policy) RoleByName(name string) (Role, error) {
	var r Role
	err := p.tx.Where("name = ?", name).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return r, fmt.Errorf("%w: %s", ErrUnknownRole, name)
	}
	return r, err
}

// Roles lists the tenant's roles by name.
func (p *Policy) Roles() ([]Role, error) {
	var out []Role
	return out, p.tx.Order("name").Find(&out).Error
}

// Grant records the grant and links its subject to the role on its node. For a group, every
// member gets the role through the group.
func (p *Policy) Grant(g Grant) (Grant, error) {
	if _, err := p.RoleByName(g.Role); err != nil {
		return Grant{}, err
	}
	if g.ID == uuid.Nil {
		id, err := uuid.NewV7()
		if err != nil {
			return Grant{}, err
		}
		g.ID = id
	}
	if err := p.tx.Create(&g).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return Grant{}, ErrGrantExists
		}
		return Grant{}, fmt.Errorf("insert grant: %w", err)
	}
	if err := p.adapter.AddPolicy("g", "g", []string{g.Node(), g.Role + "@" + g.Subject(), p.tenant}); err != nil {
		return Grant{}, err
	}
	if g.SubjectType == SubjectGroup {
		return g, p.syncGroupRole(g.SubjectID, g.Role)
	}
	return g, nil
}

// Revoke deletes the grant and its link.
func (p *Policy) Revoke(id uuid.UUID) (Grant, error) {
	var g Grant
	err := p.tx.Where("id = ?", id).Take(&g).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return g, ErrNoGrant
	}
	if err != nil {
		return g, err
	}
	if err := p.tx.Where("id = ?", id).Delete(&Grant{}).Error; err != nil {
		return g, err
	}
	if err := p.adapter.RemovePolicy("g", "g", []string{g.Node(), g.Role + "@" + g.Subject(), p.tenant}); err != nil {
		return g, err
	}
	if g.SubjectType == SubjectGroup {
		return g, p.syncGroupRole(g.SubjectID, g.Role)
	}
	return g, nil
}

// GrantFilter narrows Grants; zero fields match everything.
type GrantFilter struct {
	Node        string
	SubjectType string
	SubjectID   uuid.UUID
}

// Grants lists grants, newest first.
func (p *Policy) Grants(f GrantFilter) ([]Grant, error) {
	q := p.tx.Order("id DESC")
	switch {
	case f.Node == Root:
		q = q.Where("workspace_id IS NULL")
	case strings.HasPrefix(f.Node, "ws:"):
		q = q.Where("workspace_id = ?", strings.TrimPrefix(f.Node, "ws:"))
	}
	if f.SubjectType != "" {
		q = q.Where("subject_type = ? AND subject_id = ?", f.SubjectType, f.SubjectID)
	}
	var out []Grant
	return out, q.Find(&out).Error
}

// Expired lists grants whose expiry has passed.
func (p *Policy) Expired(now time.Time) ([]Grant, error) {
	var out []Grant
	return out, p.tx.Where("expires_at IS NOT NULL AND expires_at <= ?", now).Order("id").Find(&out).Error
}

// MembershipChanged brings the user's links through the group in line with group_members,
// after the caller added or removed the membership row in the same transaction.
func (p *Policy) MembershipChanged(groupID, userID uuid.UUID) error {
	roles, err := p.groupRoles(groupID)
	if err != nil {
		return err
	}
	var n int64
	if err := p.tx.Model(&groupMember{}).Where("group_id = ? AND user_id = ?", groupID, userID).Count(&n).Error; err != nil {
		return err
	}
	group := SubjectGroup + ":" + groupID.String()
	for _, role := range roles {
		link := []string{role + "@" + group, role + "@" + UserSubject(userID), p.tenant}
		if n > 0 {
			err = p.adapter.AddPolicy("g", "g", link)
		} else {
			err = p.adapter.RemovePolicy("g", "g", link)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// GroupDeleted removes every link of the group; its grant and membership rows go with the group
// row (foreign keys), which the caller deletes in the same transaction.
func (p *Policy) GroupDeleted(groupID uuid.UUID) error {
	group := SubjectGroup + ":" + groupID.String()
	var rules []struct{ V0, V1 string }
	if err := p.tx.Table(RulesTable).Select("v0, v1").
		Where("ptype = 'g' AND v2 = ? AND (v0 LIKE ? OR v1 LIKE ?)", p.tenant, "%@"+group, "%@"+group).
		Find(&rules).Error; err != nil {
		return err
	}
	for _, r := range rules {
		if err := p.adapter.RemovePolicy("g", "g", []string{r.V0, r.V1, p.tenant}); err != nil {
			return err
		}
	}
	return p.tx.Where("subject_type = ? AND subject_id = ?", SubjectGroup, groupID).Delete(&Grant{}).Error
}

// LinkWorkspace places a workspace under its parent (nil: at the tenant root).
func (p *Policy) LinkWorkspace(id uuid.UUID, parent *uuid.UUID) error {
	return p.adapter.AddPolicy("g", "g", []string{WorkspaceNode(id), parentNode(parent), p.tenant})
}

// UnlinkWorkspace removes the workspace's link to its parent (before a move or a delete).
func (p *Policy) UnlinkWorkspace(id uuid.UUID, parent *uuid.UUID) error {
	return p.adapter.RemovePolicy("g", "g", []string{WorkspaceNode(id), parentNode(parent), p.tenant})
}

// NodeDeleted removes every rule that starts at the node (its parent link and the grants made on
// it); the grant rows go with the workspace row.
func (p *Policy) NodeDeleted(node string) error {
	return p.adapter.RemoveFilteredPolicy("g", "g", 0, node, "", p.tenant)
}

func parentNode(parent *uuid.UUID) string {
	if parent == nil {
		return Root
	}
	return WorkspaceNode(*parent)
}

// syncGroupRole makes the member links of (group, role) exist exactly while the group holds the
// role somewhere.
func (p *Policy) syncGroupRole(groupID uuid.UUID, role string) error {
	var held int64
	if err := p.tx.Model(&Grant{}).Where("subject_type = ? AND subject_id = ? AND role = ?", SubjectGroup, groupID, role).
		Count(&held).Error; err != nil {
		return err
	}
	from := role + "@" + SubjectGroup + ":" + groupID.String()
	if held == 0 {
		return p.adapter.RemoveFilteredPolicy("g", "g", 0, from, "", p.tenant)
	}
	var members []groupMember
	if err := p.tx.Where("group_id = ?", groupID).Find(&members).Error; err != nil {
		return err
	}
	links := make([][]string, 0, len(members))
	for _, m := range members {
		links = append(links, []string{from, role + "@" + UserSubject(m.UserID), p.tenant})
	}
	if len(links) == 0 {
		return nil
	}
	return p.adapter.AddPolicies("g", "g", links)
}

func (p *Policy) groupRoles(groupID uuid.UUID) ([]string, error) {
	var roles []string
	err := p.tx.Model(&Grant{}).Where("subject_type = ? AND subject_id = ?", SubjectGroup, groupID).
		Distinct("role").Pluck("role", &roles).Error
	return roles, err
}

func (p *Policy) addPermissions(role string, perms []Action) error {
	if len(perms) == 0 {
		return nil
	}
	rules := make([][]string, 0, len(perms))
	for _, a := range perms {
		rules = append(rules, []string{role, string(a), p.tenant})
	}
	return p.adapter.AddPolicies("g", "g2", rules)
}

// normalise refuses unknown actions and removes duplicates.
func normalise(perms []Action) ([]Action, error) {
	seen := map[Action]bool{}
	out := make([]Action, 0, len(perms))
	for _, a := range perms {
		if !a.Known() {
			return nil, fmt.Errorf("%w: %s", ErrBadAction, a)
		}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

func actionStrings(perms []Action) []string {
	out := make([]string, len(perms))
	for i, a := range perms {
		out[i] = string(a)
	}
	return out
}

// GrantUser gives the user the role on the node (Root or a workspace node), without expiry.
func (p *Policy) GrantUser(userID uuid.UUID, role, node string) error {
	g := Grant{SubjectType: SubjectUser, SubjectID: userID, Role: role}
	if node != Root {
		id, err := uuid.Parse(strings.TrimPrefix(node, "ws:"))
		if err != nil || !strings.HasPrefix(node, "ws:") {
			return fmt.Errorf("rbac: not a node: %q", node)
		}
		g.WorkspaceID = &id
	}
	_, err := p.Grant(g)
	return err
}

// RevokeUser takes the role on the node away from the user.
func (p *Policy) RevokeUser(userID uuid.UUID, role, node string) error {
	grants, err := p.Grants(GrantFilter{Node: node, SubjectType: SubjectUser, SubjectID: userID})
	if err != nil {
		return err
	}
	for _, g := range grants {
		if g.Role == role {
			if _, err := p.Revoke(g.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// UserRolesOn lists the roles granted to the user directly on the node (no inheritance).
func (p *Policy) UserRolesOn(userID uuid.UUID, node string) ([]string, error) {
	grants, err := p.Grants(GrantFilter{Node: node, SubjectType: SubjectUser, SubjectID: userID})
	if err != nil {
		return nil, err
	}
	roles := make([]string, 0, len(grants))
	for _, g := range grants {
		roles = append(roles, g.Role)
	}
	sort.Strings(roles)
	return roles, nil
}
