package groups

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/decision"
	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// Authorizer is the decision point the service asks (rbac.Enforcer).
type Authorizer interface {
	Authorize(ctx context.Context, action rbac.Action, node string) error
	Allowed(ctx context.Context, tenantID, userID uuid.UUID, node string, action rbac.Action) (bool, error)
	Changed(ctx context.Context, tenantID uuid.UUID) error
}

// Auditor records every change to groups, and the refusals the service decides itself (nil: none).
type Auditor interface {
	Record(ctx context.Context, e rbac.AuditEntry)
}

// Directory answers for the tenant's users (users.Service): the display names of those of ids
// that are users of the transaction's tenant. An id missing from the answer is no user there.
type Directory interface {
	DisplayNamesTx(tx *gorm.DB, ids []uuid.UUID) (map[uuid.UUID]string, error)
}

// Service holds the rules of group management.
type Service struct {
	db    *tenancy.DB
	authz Authorizer
	guard decision.Gate
	users Directory
	store store
}

// NewService wires the service.
func NewService(db *tenancy.DB, authz Authorizer, audit Auditor, users Directory) *Service {
	return &Service{db: db, authz: authz, guard: decision.NewGate(authz, audit, "group"), users: users}
}

// List pages through the tenant's groups with their member counts (group:read).
func (s *Service) List(ctx context.Context, after uuid.UUID, limit int) ([]View, error) {
	if _, err := s.guard.AuthorizeCaller(ctx, rbac.GroupRead, rbac.Root); err != nil {
		return nil, err
	}
	var (
		rows   []Group
		counts map[uuid.UUID]int64
	)
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if rows, err = s.store.list(tx, after, limit); err != nil {
			return err
		}
		ids := make([]uuid.UUID, len(rows))
		for i, g := range rows {
			ids[i] = g.ID
		}
		counts, err = s.store.memberCounts(tx, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	out := make([]View, 0, len(rows))
	for _, g := range rows {
		out = append(out, g.view(counts[g.ID]))
	}
	return out, nil
}

// Create adds a group (group:manage). Names are unique in the tenant, ignoring case.
func (s *Service) Create(ctx context.Context, in CreateInput) (View, error) {
	_, err := s.guard.AuthorizeCaller(ctx, rbac.GroupManage, rbac.Root)
	if err != nil {
		return View{}, err
	}
	g := Group{Name: strings.TrimSpace(in.Name), Description: strings.TrimSpace(in.Description)}
	if err := checkName(g.Name); err != nil {
		return View{}, err
	}
	if g.ID, err = uuid.NewV7(); err != nil {
		return View{}, err
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error { return s.store.insert(tx, &g) })
	if errors.Is(err, errNameTaken) {
		return View{}, apierr.Conflict("a group with this name exists")
	}
	if err != nil {
		return View{}, fmt.Errorf("create group: %w", err)
	}
	s.guard.Allow(ctx, rbac.GroupManage, g.ID, map[string]any{"op": "create", "name": g.Name})
	return g.view(0), nil
}

// Get returns a group with its members (group:read).
func (s *Service) Get(ctx context.Context, id uuid.UUID, page web.Cursor) (Detail, error) {
	if _, err := s.guard.AuthorizeCaller(ctx, rbac.GroupRead, rbac.Root); err != nil {
		return Detail{}, err
	}
	var (
		g       Group
		members []Member
		count   int64
		names   map[uuid.UUID]string
	)
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if g, err = s.store.get(tx, id); err != nil {
			return err
		}
		if members, err = s.store.members(tx, id, page.After, page.Limit+1); err != nil {
			return err
		}
		counts, err := s.store.memberCounts(tx, []uuid.UUID{id})
		if err != nil {
			return err
		}
		count = counts[id]
		ids := make([]uuid.UUID, len(members))
		for i, m := range members {
			ids[i] = m.UserID
		}
		names, err = s.users.DisplayNamesTx(tx, ids)
		return err
	})
	if errors.Is(err, errNotFound) {
		return Detail{}, apierr.NotFound("group")
	}
	if err != nil {
		return Detail{}, fmt.Errorf("get group %s: %w", id, err)
	}
	views := make([]MemberView, len(members))
	for i, m := range members {
		views[i] = MemberView{UserID: m.UserID, DisplayName: names[m.UserID], AddedAt: m.CreatedAt}
	}
	pg := web.NewPage(views, page.Limit, func(m MemberView) uuid.UUID { return m.UserID })
	return Detail{View: g.view(count), Members: pg.Items, MembersNextCursor: pg.NextCursor}, nil
}

// Delete removes a group (group:manage). Its grants and memberships go with it, and so does
// every right its members held through it, at once.
func (s *Service) Delete(ctx context.Context, id uuid.UUID) error {
	p, err := s.guard.AuthorizeCaller(ctx, rbac.GroupManage, rbac.Root)
	if err != nil {
		return err
	}
	var g Group
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		if g, err = s.store.lock(tx, id); err != nil {
			return err
		}
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		if err := pol.GroupDeleted(id); err != nil {
			return err
		}
		return s.store.delete(tx, id)
	})
	if errors.Is(err, errNotFound) {
		return apierr.NotFound("group")
	}
	if err != nil {
		return fmt.Errorf("delete group %s: %w", id, err)
	}
	if err := s.authz.Changed(ctx, p.TenantID); err != nil {
		return err
	}
	s.guard.Allow(ctx, rbac.GroupManage, id, map[string]any{"op": "delete", "name": g.Name})
	return nil
}

// AddMember puts a user of the tenant in the group (group:manage); the user gets the group's
// roles where it holds them, at once. Nobody can make someone a member of a group that holds
// more than they hold themselves: that would hand out rights its author does not have.
func (s *Service) AddMember(ctx context.Context, groupID uuid.UUID, in AddMemberInput) (MemberView, error) {
	p, err := s.guard.AuthorizeCaller(ctx, rbac.GroupManage, rbac.Root)
	if err != nil {
		return MemberView{}, err
	}
	userID, err := uuid.Parse(in.UserID)
	if err != nil {
		return MemberView{}, apierr.Invalid("user_id", "must be a UUID")
	}
	// The checks read in one transaction and the decision point is asked outside it: the
	// enforcer may need a connection of its own to load the policy.
	var needs []need
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.store.get(tx, groupID); err != nil {
			return err
		}
		var err error
		needs, err = groupNeeds(ctx, tx, groupID)
		return err
	})
	if errors.Is(err, errNotFound) {
		return MemberView{}, apierr.NotFound("group")
	}
	if err != nil {
		return MemberView{}, fmt.Errorf("add member to group %s: %w", groupID, err)
	}
	if err := s.withinCeiling(ctx, p, groupID, needs); err != nil {
		return MemberView{}, err
	}
	m := Member{GroupID: groupID, UserID: userID}
	var name string
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.store.lock(tx, groupID); err != nil {
			return err
		}
		names, err := s.users.DisplayNamesTx(tx, []uuid.UUID{userID})
		if err != nil {
			return err
		}
		var ok bool
		if name, ok = names[userID]; !ok {
			return errNoSuchUser
		}
		if err := s.store.addMember(tx, &m); err != nil {
			return err
		}
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		return pol.MembershipChanged(groupID, userID)
	})
	switch {
	case errors.Is(err, errNotFound):
		return MemberView{}, apierr.NotFound("group")
	case errors.Is(err, errNoSuchUser):
		return MemberView{}, apierr.Invalid("user_id", "no such user in this tenant")
	case errors.Is(err, errAlreadyMember):
		return MemberView{}, apierr.Conflict("the user is already a member of the group")
	case err != nil:
		return MemberView{}, fmt.Errorf("add member to group %s: %w", groupID, err)
	}
	if err := s.authz.Changed(ctx, p.TenantID); err != nil {
		return MemberView{}, err
	}
	s.guard.Allow(ctx, rbac.GroupManage, groupID, map[string]any{"op": "add_member", "user_id": userID.String()})
	return MemberView{UserID: userID, DisplayName: name, AddedAt: m.CreatedAt}, nil
}

// RemoveMember takes a user out of the group (group:manage); what they held through it stops at
// once.
func (s *Service) RemoveMember(ctx context.Context, groupID, userID uuid.UUID) error {
	p, err := s.guard.AuthorizeCaller(ctx, rbac.GroupManage, rbac.Root)
	if err != nil {
		return err
	}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if _, err := s.store.lock(tx, groupID); err != nil {
			return err
		}
		if err := s.store.removeMember(tx, groupID, userID); err != nil {
			return err
		}
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		return pol.MembershipChanged(groupID, userID)
	})
	switch {
	case errors.Is(err, errNotFound):
		return apierr.NotFound("group")
	case errors.Is(err, errNotMember):
		return apierr.NotFound("member")
	case err != nil:
		return fmt.Errorf("remove member from group %s: %w", groupID, err)
	}
	if err := s.authz.Changed(ctx, p.TenantID); err != nil {
		return err
	}
	s.guard.Allow(ctx, rbac.GroupManage, groupID, map[string]any{"op": "remove_member", "user_id": userID.String()})
	return nil
}

// need is a permission on a node that a member of a group gets through it.
type need struct {
	node   string
	action rbac.Action
}

// groupNeeds lists what a new member would get: each permission of each role the group holds,
// on the node of the grant. Expired grants give nothing and are left out.
func groupNeeds(ctx context.Context, tx *gorm.DB, groupID uuid.UUID) ([]need, error) {
	pol, err := rbac.PolicyIn(ctx, tx)
	if err != nil {
		return nil, err
	}
	grants, err := pol.Grants(rbac.GrantFilter{SubjectType: rbac.SubjectGroup, SubjectID: groupID})
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	perms := map[string][]string{}
	seen := map[need]bool{}
	var out []need
	for _, g := range grants {
		if g.ExpiresAt != nil && !g.ExpiresAt.After(now) {
			continue
		}
		if _, ok := perms[g.Role]; !ok {
			r, err := pol.RoleByName(g.Role)
			if err != nil {
				return nil, err
			}
			perms[g.Role] = r.Permissions
		}
		for _, a := range perms[g.Role] {
			n := need{node: g.Node(), action: rbac.Action(a)}
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// withinCeiling refuses a membership that would give the new member a permission the caller
// does not hold on that node, and audits the refusal (the enforcer audits only its own denials).
func (s *Service) withinCeiling(ctx context.Context, p tenancy.Principal, groupID uuid.UUID, needs []need) error {
	var missing []string
	for _, n := range needs {
		ok, err := s.authz.Allowed(ctx, p.TenantID, p.UserID, n.node, n.action)
		if err != nil {
			return err
		}
		if !ok {
			missing = append(missing, string(n.action)+" on "+n.node)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	s.guard.Record(ctx, rbac.GroupManage, "group:"+groupID.String(), false,
		map[string]any{"rule": "a membership cannot give more than its author holds", "missing": missing})
	return apierr.Forbidden("the group holds permissions you do not hold: " + strings.Join(missing, ", "))
}

// checkName refuses a blank name (NUL bytes never get past web.Decode).
func checkName(name string) error {
	if name == "" {
		return apierr.Invalid("name", "is required")
	}
	return nil
}
