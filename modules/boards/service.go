package boards

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/decision"
	"github.com/atelier-hq/atelier/modules/workspaces"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// Authorizer is the decision point (rbac.Enforcer).
type Authorizer interface {
	Authorize(ctx context.Context, action rbac.Action, node string) error
	Allowed(ctx context.Context, tenantID, userID uuid.UUID, node string, action rbac.Action) (bool, error)
	RightsOn(ctx context.Context, tenantID, userID uuid.UUID, node string) (rbac.Rights, error)
	Explain(ctx context.Context, tenantID, userID uuid.UUID, node string, action rbac.Action) (rbac.Explanation, error)
}

// Workspaces resolves a workspace reference the caller can see.
type Workspaces interface {
	Resolve(ctx context.Context, ref string) (workspaces.Workspace, error)
}

// Images is what boards needs of the images module when a board goes away or moves.
type Images interface {
	// BoardDeleted detaches (or, with deleteImages, deletes) the board's images inside tx and
	// returns a function to run after commit (removing stored files).
	BoardDeleted(ctx context.Context, tx *gorm.DB, boardID uuid.UUID, deleteImages bool) (after func(), err error)
	// BoardMoved moves the board's images to the workspace inside tx.
	BoardMoved(ctx context.Context, tx *gorm.DB, boardID, workspaceID uuid.UUID) error
}

// Service holds the rules of boards.
type Service struct {
	db         *tenancy.DB
	authz      Authorizer
	workspaces Workspaces
	images     Images
	guard      decision.Gate
	store      store
}

// Deps is what the service is built from; every field is required.
type Deps struct {
	DB         *tenancy.DB
	Authz      Authorizer
	Workspaces Workspaces
	// Images are the board's images, which go or move with it.
	Images  Images
	Auditor rbac.Auditor
}

// NewService wires the service.
func NewService(d Deps) *Service {
	return &Service{db: d.DB, authz: d.Authz, workspaces: d.Workspaces, images: d.Images,
		guard: decision.NewGate(d.Authz, d.Auditor, "board")}
}

// Access is a board with the caller's relation to it, for the images module's checks (through
// the composition root, which gives images only what it asks for).
type Access struct {
	Board    Board
	Relation Relation
}

// Can reports whether the caller may do op on the board.
func (a Access) Can(op Op) bool { return Can(a.Relation, a.Board.Visibility, op) }

// Load returns the board and the caller's relation, or 404 when the caller cannot read it (a
// board of another tenant or one the caller may not see is indistinguishable from none).
func (s *Service) Load(ctx context.Context, tx *gorm.DB, id uuid.UUID) (Access, error) {
	a, err := s.Relate(ctx, tx, id)
	if err != nil {
		return Access{}, err
	}
	if !a.Can(OpRead) {
		s.guard.Deny(ctx, "board:read", id, "not a member and the board is "+a.Board.Visibility)
		return Access{}, apierr.NotFound("board")
	}
	return a, nil
}

// Relate returns the board and the caller's relation without deciding whether the caller may
// read it (404 only when there is no such board in the tenant). For callers whose own rules may
// make the board's contents visible (an image:read role); everyone else uses Load.
func (s *Service) Relate(ctx context.Context, tx *gorm.DB, id uuid.UUID) (Access, error) {
	b, err := s.store.get(tx, id)
	if errors.Is(err, errNotFound) {
		return Access{}, apierr.NotFound("board")
	}
	if err != nil {
		return Access{}, err
	}
	rel, err := s.relation(ctx, tx, b)
	if err != nil {
		return Access{}, err
	}
	return Access{Board: b, Relation: rel}, nil
}

// RelateUser is Relate for a user of the tenant who need not be the caller (explanations).
func (s *Service) RelateUser(ctx context.Context, tx *gorm.DB, id, tenantID, userID uuid.UUID) (Access, error) {
	a, _, err := s.relateUser(ctx, tx, id, tenantID, userID)
	return a, err
}

func (s *Service) relateUser(ctx context.Context, tx *gorm.DB, id, tenantID, userID uuid.UUID) (Access, rbac.Rights, error) {
	b, err := s.store.get(tx, id)
	if errors.Is(err, errNotFound) {
		return Access{}, rbac.Rights{}, apierr.NotFound("board")
	}
	if err != nil {
		return Access{}, rbac.Rights{}, err
	}
	rel, rights, err := s.RelationFor(ctx, tx, b, tenantID, userID)
	if err != nil {
		return Access{}, rbac.Rights{}, err
	}
	return Access{Board: b, Relation: rel}, rights, nil
}

func (s *Service) relation(ctx context.Context, tx *gorm.DB, b Board) (Relation, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return Relation{}, nil
	}
	rel, _, err := s.RelationFor(ctx, tx, b, p.TenantID, p.UserID)
	return rel, err
}

// RelationFor is how the user stands to the board, and the rights their roles give on its
// workspace.
func (s *Service) RelationFor(ctx context.Context, tx *gorm.DB, b Board, tenantID, userID uuid.UUID) (Relation, rbac.Rights, error) {
	rights, err := s.authz.RightsOn(ctx, tenantID, userID, rbac.WorkspaceNode(b.WorkspaceID))
	if err != nil {
		return Relation{}, rbac.Rights{}, err
	}
	rel := relationOf(rights)
	if rel.Role, err = s.store.role(tx, b.ID, userID); err != nil {
		return Relation{}, rbac.Rights{}, err
	}
	return rel, rights, nil
}

// standing is how the caller stands to a workspace, membership of any board aside: admin over
// it, member of it, reader of everything in it, and the board rights its roles give — one walk
// of the policy.
func (s *Service) standing(ctx context.Context, p tenancy.Principal, wsID uuid.UUID) (Relation, error) {
	r, err := s.authz.RightsOn(ctx, p.TenantID, p.UserID, rbac.WorkspaceNode(wsID))
	if err != nil {
		return Relation{}, err
	}
	return relationOf(r), nil
}

// relationOf reads a board relation off the caller's rights on the board's workspace. The
// tenant auditor reads the workspace (and every board, through ReadAll) but is no member of it:
// "any workspace member" may add images to public boards, and the auditor changes nothing.
// Membership is a role held on the workspace or above, other than the auditor's, that reads it.
func relationOf(r rbac.Rights) Relation {
	return Relation{
		Admin:    r.Has(rbac.BoardAdmin),
		WSMember: r.Has(rbac.WorkspaceRead) && r.Member(),
		ReadAll:  r.Has(rbac.BoardRead),
		ReadOnly: r.ReadOnly,
		Granted: Granted{Update: r.Has(rbac.BoardUpdate), Delete: r.Has(rbac.BoardDelete),
			Publish: r.Has(rbac.BoardPublish), Members: r.Has(rbac.BoardMembers)},
	}
}

// Create makes a board in the workspace; the creator becomes its owner.
func (s *Service) Create(ctx context.Context, wsRef string, in CreateInput) (View, error) {
	ws, err := s.workspaces.Resolve(ctx, wsRef)
	if err != nil {
		return View{}, err
	}
	if err := s.guard.Authorize(ctx, rbac.BoardCreate, rbac.WorkspaceNode(ws.ID)); err != nil {
		return View{}, err
	}
	p, _ := tenancy.PrincipalFrom(ctx)
	id, err := uuid.NewV7()
	if err != nil {
		return View{}, err
	}
	vis := in.Visibility
	if vis == "" {
		vis = Private
	}
	b := Board{ID: id, WorkspaceID: ws.ID, OwnerID: p.UserID, Name: strings.TrimSpace(in.Name),
		Description: in.Description, Visibility: vis}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&b).Error; err != nil {
			return fmt.Errorf("insert board: %w", err)
		}
		return tx.Create(&Member{BoardID: id, UserID: p.UserID, Role: RoleOwner}).Error
	})
	if err != nil {
		return View{}, err
	}
	s.guard.Allow(ctx, "board:create", b.ID, map[string]any{"workspace_id": ws.ID.String()})
	return b.view(RoleOwner), nil
}

// Get returns a board the caller can read.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (View, error) {
	var a Access
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		a, err = s.Load(ctx, tx, id)
		return err
	})
	if err != nil {
		return View{}, err
	}
	return a.Board.view(a.Relation.Role), nil
}

// Readable returns nil when the caller can read the board, 404 when not (or when it is gone).
func (s *Service) Readable(ctx context.Context, id uuid.UUID) error {
	_, err := s.Get(ctx, id)
	return err
}

// List pages through the boards of a workspace the caller can read.
func (s *Service) List(ctx context.Context, wsRef string, after uuid.UUID, limit int) ([]View, error) {
	ws, err := s.workspaces.Resolve(ctx, wsRef)
	if err != nil {
		return nil, err
	}
	p, _ := tenancy.PrincipalFrom(ctx)
	st, err := s.standing(ctx, p, ws.ID)
	if err != nil {
		return nil, err
	}
	var rows []listed
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		rows, err = s.store.listVisible(tx, ws.ID, p.UserID, st.Admin || st.ReadAll || st.Granted.any(), st.WSMember, after, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list boards: %w", err)
	}
	out := make([]View, len(rows))
	for i, b := range rows {
		out[i] = b.Board.view(b.MyRole)
	}
	return out, nil
}

// Mine pages through the boards the caller is a member of, across workspaces ("shared with
// me"): membership alone makes a board readable, so every one of them is the caller's to see,
// also where they hold no role on the board's workspace.
func (s *Service) Mine(ctx context.Context, after uuid.UUID, limit int) ([]View, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return nil, apierr.Unauthorized()
	}
	var rows []listed
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		rows, err = s.store.listMine(tx, p.UserID, after, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list my boards: %w", err)
	}
	out := make([]View, len(rows))
	for i, b := range rows {
		out[i] = b.Board.view(b.MyRole)
	}
	return out, nil
}

// Update renames or describes (owner, editor) and sets visibility, publication or the owner
// (owner only).
func (s *Service) Update(ctx context.Context, id uuid.UUID, in UpdateInput) (View, error) {
	if err := decision.RequireWrite(ctx); err != nil {
		return View{}, err
	}
	var out Board
	var role string
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		a, err := s.Load(ctx, tx, id)
		if err != nil {
			return err
		}
		if (in.Name != nil || in.Description != nil) && !a.Can(OpEditBoard) {
			return s.guard.Forbid(ctx, "board:update", id, "only owners and editors edit a board")
		}
		if (in.Visibility != nil || in.Published != nil) && !a.Can(OpPublish) {
			return s.guard.Forbid(ctx, "board:publish", id, "only the owner sets visibility and publication")
		}
		if in.OwnerID != nil && !a.Can(OpOwn) {
			return s.guard.Forbid(ctx, "board:admin", id, "only the owner transfers ownership")
		}
		fields := map[string]any{"updated_at": gorm.Expr("CURRENT_TIMESTAMP")}
		if in.Name != nil {
			fields["name"] = strings.TrimSpace(*in.Name)
		}
		if in.Description != nil {
			fields["description"] = *in.Description
		}
		if in.Visibility != nil {
			fields["visibility"] = *in.Visibility
		}
		if in.Published != nil {
			fields["published"] = *in.Published
			if err := setPublished(tx, a.Board, *in.Published); err != nil {
				return err
			}
		}
		if in.OwnerID != nil && *in.OwnerID != a.Board.OwnerID {
			if err := transfer(tx, a.Board, *in.OwnerID); err != nil {
				return err
			}
			fields["owner_id"] = *in.OwnerID
		}
		if err := tx.Model(&Board{}).Where("id = ?", id).Updates(fields).Error; err != nil {
			return err
		}
		if out, err = s.store.get(tx, id); err != nil {
			return err
		}
		role, err = s.store.role(tx, id, callerOf(ctx).UserID)
		return err
	})
	if err != nil {
		return View{}, err
	}
	s.guard.Allow(ctx, "board:update", id, map[string]any{"changed": changedFields(in)})
	return out.view(role), nil
}

// Delete removes a board (owner). Its images become their owners' uncategorised images, or are
// deleted with it when deleteImages is set — in the same transaction.
func (s *Service) Delete(ctx context.Context, id uuid.UUID, deleteImages bool) error {
	if err := decision.RequireWrite(ctx); err != nil {
		return err
	}
	var after func()
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		a, err := s.Load(ctx, tx, id)
		if err != nil {
			return err
		}
		if !a.Can(OpDelete) {
			return s.guard.Forbid(ctx, "board:delete", id, "only the owner deletes a board")
		}
		if after, err = s.images.BoardDeleted(ctx, tx, id, deleteImages); err != nil {
			return err
		}
		return tx.Where("id = ?", id).Delete(&Board{}).Error
	})
	if err != nil {
		return err
	}
	if after != nil {
		after()
	}
	s.guard.Allow(ctx, "board:delete", id, map[string]any{"images_deleted": deleteImages})
	return nil
}

// Move puts the board (and its images) in another workspace: admins of both ends only.
func (s *Service) Move(ctx context.Context, id uuid.UUID, wsRef string) (View, error) {
	if err := decision.RequireWrite(ctx); err != nil {
		return View{}, err
	}
	dest, err := s.workspaces.Resolve(ctx, wsRef)
	if err != nil {
		return View{}, err
	}
	var out Board
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		a, err := s.Load(ctx, tx, id)
		if err != nil {
			return err
		}
		p := callerOf(ctx)
		destAdmin, err := s.authz.Allowed(ctx, p.TenantID, p.UserID, rbac.WorkspaceNode(dest.ID), rbac.BoardAdmin)
		if err != nil {
			return err
		}
		if !a.Relation.Admin || !destAdmin {
			return s.guard.Forbid(ctx, "board:move", id, "moving a board needs admin rights on both workspaces")
		}
		if err := tx.Model(&Board{}).Where("id = ?", id).Update("workspace_id", dest.ID).Error; err != nil {
			return err
		}
		if err := s.images.BoardMoved(ctx, tx, id, dest.ID); err != nil {
			return err
		}
		out, err = s.store.get(tx, id)
		return err
	})
	if err != nil {
		return View{}, err
	}
	s.guard.Allow(ctx, "board:move", id, map[string]any{"workspace_id": dest.ID.String()})
	return out.view(""), nil
}

// Members lists a board's members (members and admins).
func (s *Service) Members(ctx context.Context, id, after uuid.UUID, limit int) ([]MemberView, error) {
	var rows []Member
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		a, err := s.Load(ctx, tx, id)
		if err != nil {
			return err
		}
		if !a.Can(OpViewMembers) {
			return s.guard.Forbid(ctx, "board:members", id, "only members see the members")
		}
		rows, err = s.store.members(tx, id, after, limit)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]MemberView, len(rows))
	for i, m := range rows {
		out[i] = MemberView{UserID: m.UserID, Role: m.Role, CreatedAt: m.CreatedAt}
	}
	return out, nil
}

// AddMember adds a user of the tenant: owners any role, editors viewers and editors.
func (s *Service) AddMember(ctx context.Context, id uuid.UUID, in AddMemberInput) (MemberView, error) {
	if err := decision.RequireWrite(ctx); err != nil {
		return MemberView{}, err
	}
	m := Member{BoardID: id, UserID: in.UserID, Role: in.Role}
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		a, err := s.Load(ctx, tx, id)
		if err != nil {
			return err
		}
		if !a.Can(OpManageMembers) || !MayAddMember(a.Relation, in.Role) {
			return s.guard.Forbid(ctx, "board:members", id, "may not add a member with role "+in.Role)
		}
		err = tx.Create(&m).Error
		switch {
		case errors.Is(err, gorm.ErrDuplicatedKey):
			return apierr.Conflict("already a member")
		case errors.Is(err, gorm.ErrForeignKeyViolated):
			return apierr.Invalid("user_id", "no such user in this tenant")
		}
		return err
	})
	if err != nil {
		return MemberView{}, err
	}
	s.guard.Allow(ctx, "board:members", id, map[string]any{"added": in.UserID.String(), "role": in.Role})
	return MemberView{UserID: m.UserID, Role: m.Role, CreatedAt: m.CreatedAt}, nil
}

// ChangeRole changes a member's role (owner only; never to or from owner).
func (s *Service) ChangeRole(ctx context.Context, id, userID uuid.UUID, role string) (MemberView, error) {
	if err := decision.RequireWrite(ctx); err != nil {
		return MemberView{}, err
	}
	var m Member
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		a, err := s.Load(ctx, tx, id)
		if err != nil {
			return err
		}
		// Whether someone is a member is not for those who may not see the members to probe.
		if !a.Relation.managesMembers() {
			return s.guard.Forbid(ctx, "board:members", id, "only the owner changes roles")
		}
		current, err := s.store.role(tx, id, userID)
		if err != nil {
			return err
		}
		if current == "" {
			return apierr.NotFound("member")
		}
		if !MayChangeRole(a.Relation, current, role) {
			return s.guard.Forbid(ctx, "board:members", id, "may not change this member's role")
		}
		if err := tx.Model(&Member{}).Where("board_id = ? AND user_id = ?", id, userID).Update("role", role).Error; err != nil {
			return err
		}
		return tx.Where("board_id = ? AND user_id = ?", id, userID).Take(&m).Error
	})
	if err != nil {
		return MemberView{}, err
	}
	s.guard.Allow(ctx, "board:members", id, map[string]any{"user": userID.String(), "role": role})
	return MemberView{UserID: m.UserID, Role: m.Role, CreatedAt: m.CreatedAt}, nil
}

// RemoveMember removes a member: owners anyone but the owner, editors viewers only.
func (s *Service) RemoveMember(ctx context.Context, id, userID uuid.UUID) error {
	if err := decision.RequireWrite(ctx); err != nil {
		return err
	}
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		a, err := s.Load(ctx, tx, id)
		if err != nil {
			return err
		}
		// Whether someone is a member is not for those who may not see the members to probe.
		if !a.Can(OpManageMembers) {
			return s.guard.Forbid(ctx, "board:members", id, "may not remove members")
		}
		current, err := s.store.role(tx, id, userID)
		if err != nil {
			return err
		}
		if current == "" {
			return apierr.NotFound("member")
		}
		if !MayRemoveMember(a.Relation, current) {
			return s.guard.Forbid(ctx, "board:members", id, "may not remove this member")
		}
		return tx.Where("board_id = ? AND user_id = ?", id, userID).Delete(&Member{}).Error
	})
	if err != nil {
		return err
	}
	s.guard.Allow(ctx, "board:members", id, map[string]any{"removed": userID.String()})
	return nil
}

// transfer makes a member the owner; the old owner stays as an editor.
func transfer(tx *gorm.DB, b Board, to uuid.UUID) error {
	var m Member
	err := tx.Where("board_id = ? AND user_id = ?", b.ID, to).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return apierr.Invalid("owner_id", "the new owner must be a member of the board")
	}
	if err != nil {
		return err
	}
	if err := tx.Model(&Member{}).Where("board_id = ? AND role = ?", b.ID, RoleOwner).Update("role", RoleEditor).Error; err != nil {
		return err
	}
	return tx.Model(&Member{}).Where("board_id = ? AND user_id = ?", b.ID, to).Update("role", RoleOwner).Error
}

// publicIndex reads the cross-tenant index of published boards (ids only), the one lookup made
// before any tenant is known. The tenant column is read under another name: a model with a
// tenant_id field is tenant data, which the tenant scope (rightly) refuses outside a tenant
// transaction.
type publicIndex struct {
	BoardID     uuid.UUID `gorm:"column:board_id"`
	BoardTenant uuid.UUID `gorm:"column:board_tenant"`
}

func (publicIndex) TableName() string { return "public_boards" }

func setPublished(tx *gorm.DB, b Board, on bool) error {
	if on {
		return tx.Exec("INSERT INTO public_boards (board_id, tenant_id) VALUES (?, ?) ON CONFLICT DO NOTHING", b.ID, b.TenantID).Error
	}
	return tx.Exec("DELETE FROM public_boards WHERE board_id = ?", b.ID).Error
}

func changedFields(in UpdateInput) []string {
	var out []string
	if in.Name != nil {
		out = append(out, "name")
	}
	if in.Description != nil {
		out = append(out, "description")
	}
	if in.Visibility != nil {
		out = append(out, "visibility")
	}
	if in.Published != nil {
		out = append(out, "published")
	}
	if in.OwnerID != nil {
		out = append(out, "owner")
	}
	return out
}

// callerOf is the principal of the request; the zero Principal (no user, who holds nothing)
// when there is none. The routes that reach it are authenticated, so that happens only in tests.
func callerOf(ctx context.Context) tenancy.Principal {
	p, _ := tenancy.PrincipalFrom(ctx)
	return p
}

// Published finds a published board for the anonymous endpoint: the tenant comes from the public
// index, then the board is read under that tenant's scope. Anything else is 404.
func (s *Service) Published(ctx context.Context, id uuid.UUID) (context.Context, Board, error) {
	var idx publicIndex
	// A suspended tenant's published boards go offline at once: the index is read through the
	// tenant's status, as every authenticated request is.
	err := s.db.Registry(ctx).Table("public_boards AS p").Select("p.board_id, p.tenant_id AS board_tenant").
		Joins("JOIN tenants t ON t.id = p.tenant_id AND t.status = ?", "active").
		Where("p.board_id = ?", id).Take(&idx).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ctx, Board{}, apierr.NotFound("board")
	}
	if err != nil {
		return ctx, Board{}, err
	}
	ctx = tenancy.WithTenant(ctx, idx.BoardTenant)
	var b Board
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		b, err = s.store.get(tx, id)
		return err
	})
	if errors.Is(err, errNotFound) || (err == nil && !b.Published) {
		return ctx, Board{}, apierr.NotFound("board")
	}
	return ctx, b, err
}
