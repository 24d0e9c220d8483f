package workspaces

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

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
	Readable(ctx context.Context, tenantID, userID uuid.UUID, action rbac.Action) (rbac.Scope, error)
	Changed(ctx context.Context, tenantID uuid.UUID) error
	// Sync makes the decisions that follow use the tenant's current policy (read on ctx's unit
	// of work), not one loaded before a change another request has just committed.
	Sync(ctx context.Context, tenantID uuid.UUID) error
}

// Auditor records granted changes; the enforcer records denied decisions itself.
type Auditor interface {
	Record(ctx context.Context, e rbac.AuditEntry)
}

// Contents is what another module keeps in workspaces (boards, images…). Deleting a workspace
// asks every registered Contents how much its subtree holds, refuses while anything is there
// unless the caller asked for a cascade, and then has each delete its objects, all inside the
// delete's transaction.
type Contents interface {
	// Count is how many objects the workspaces hold.
	Count(ctx context.Context, tx *gorm.DB, wsIDs []uuid.UUID) (int64, error)
	// DeleteIn deletes every object the workspaces hold inside tx; after, if not nil, runs once
	// the transaction has committed (removing stored files, say).
	DeleteIn(ctx context.Context, tx *gorm.DB, wsIDs []uuid.UUID) (after func(), err error)
}

type namedContents struct {
	kind string
	c    Contents
}

// Service holds the rules of the workspace tree and of the grants made on its nodes.
type Service struct {
	db    *tenancy.DB
	authz Authorizer
	audit Auditor
	guard decision.Gate
	log   *slog.Logger
	store store
	now   func() time.Time

	mu       sync.RWMutex
	contents []namedContents
}

// NewService wires the service. audit may be nil (nothing is recorded).
func NewService(db *tenancy.DB, authz Authorizer, audit Auditor, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{db: db, authz: authz, audit: audit, guard: decision.NewGate(authz, audit, "workspace"), log: log,
		now: func() time.Time { return time.Now().UTC() }}
}

// SetClock replaces the clock (tests of grant expiry). Call it before the service is used.
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// RegisterContents adds a kind of object workspaces hold ("boards", "images"), for delete.
func (s *Service) RegisterContents(kind string, c Contents) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.contents = append(s.contents, namedContents{kind: kind, c: c})
}

// Resolve finds a workspace of the caller's tenant by id or by path (`/` written as `~`). A
// workspace that does not exist, belongs to another tenant or that the caller may not read is
// the same 404.
func (s *Service) Resolve(ctx context.Context, ref string) (Workspace, error) {
	w, err := s.find(ctx, ref)
	if err != nil {
		return Workspace{}, err
	}
	if err := s.authz.Authorize(ctx, rbac.WorkspaceRead, w.Node()); err != nil {
		if errors.Is(err, rbac.ErrDenied) {
			return Workspace{}, apierr.NotFound("workspace")
		}
		return Workspace{}, err
	}
	return w, nil
}

// ResolveNode is Resolve for routes that also accept the tenant root (`~`): it returns the node
// in the policy graph (rbac.Root or the workspace's node).
func (s *Service) ResolveNode(ctx context.Context, ref string) (string, error) {
	if ref == RootRef {
		if _, ok := tenancy.PrincipalFrom(ctx); !ok {
			return "", apierr.Unauthorized()
		}
		return rbac.Root, nil
	}
	w, err := s.Resolve(ctx, ref)
	if err != nil {
		return "", err
	}
	return w.Node(), nil
}

func (s *Service) find(ctx context.Context, ref string) (Workspace, error) {
	var w Workspace
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		w, err = s.lookup(tx, ref)
		return err
	})
	if errors.Is(err, errNotFound) {
		return Workspace{}, apierr.NotFound("workspace")
	}
	return w, err
}

// lookup reads a reference: an id in canonical form, else a path. A slug may itself look like an
// id, so a canonical id that names no workspace is tried as a path too.
func (s *Service) lookup(tx *gorm.DB, ref string) (Workspace, error) {
	if id, err := uuid.Parse(ref); err == nil && len(ref) == 36 {
		w, err := s.store.byID(tx, id)
		if !errors.Is(err, errNotFound) {
			return w, err
		}
	}
	path := strings.ReplaceAll(ref, "~", "/")
	if !validPath(path) {
		return Workspace{}, errNotFound
	}
	return s.store.byPath(tx, path)
}

func validPath(path string) bool {
	segments := strings.Split(path, "/")
	if len(segments) > MaxDepth {
		return false
	}
	for _, seg := range segments {
		if !SlugPattern.MatchString(seg) {
			return false
		}
	}
	return true
}

// Ancestors lists the workspaces above w, nearest first, for modules whose contents are seen
// from below (workflows shared in a parent). It decides nothing: the caller checks its rights
// on each.
func (s *Service) Ancestors(ctx context.Context, w Workspace) ([]Workspace, error) {
	segments := strings.Split(w.Path, "/")
	if len(segments) < 2 {
		return nil, nil
	}
	paths := make([]string, 0, len(segments)-1)
	for i := len(segments) - 1; i > 0; i-- {
		paths = append(paths, strings.Join(segments[:i], "/"))
	}
	var rows []Workspace
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		return tx.Where("path IN ?", paths).Find(&rows).Error
	})
	if err != nil {
		return nil, fmt.Errorf("ancestors of %s: %w", w.ID, err)
	}
	sort.Slice(rows, func(i, j int) bool { return len(rows[i].Path) > len(rows[j].Path) })
	return rows, nil
}

// Get returns a workspace the caller may read.
func (s *Service) Get(ctx context.Context, ref string) (View, error) {
	w, err := s.Resolve(ctx, ref)
	if err != nil {
		return View{}, err
	}
	return w.view(), nil
}

// List pages through the workspaces the caller may read, in id order: every subtree in which
// they hold workspace:read, filtered in the query itself. With parentRef, only that workspace's
// direct children (RootRef: the top level).
func (s *Service) List(ctx context.Context, parentRef string, after uuid.UUID, limit int) ([]View, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return nil, apierr.Unauthorized()
	}
	scope, err := s.authz.Readable(ctx, p.TenantID, p.UserID, rbac.WorkspaceRead)
	if err != nil {
		return nil, err
	}
	var f listFilter
	switch parentRef {
	case "":
	case RootRef:
		f.Parent = true
	default:
		parent, err := s.Resolve(ctx, parentRef)
		if err != nil {
			return nil, err
		}
		f = listFilter{Parent: true, ParentID: &parent.ID}
	}
	var rows []Workspace
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		rows, err = s.store.list(tx, scope, f, after, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list workspaces: %w", err)
	}
	out := make([]View, 0, len(rows))
	for _, w := range rows {
		out = append(out, w.view())
	}
	return out, nil
}

// Create adds a workspace under a parent the caller may create in (workspace:create on the
// parent: its admins and those above), or at the tenant root (workspace:create on the root).
func (s *Service) Create(ctx context.Context, in CreateInput) (View, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return View{}, apierr.Unauthorized()
	}
	in.Name = strings.TrimSpace(in.Name)
	if err := checkCreate(in); err != nil {
		return View{}, err
	}
	node := rbac.Root
	if in.ParentID != nil {
		parent, err := s.Resolve(ctx, in.ParentID.String())
		if err != nil {
			return View{}, noSuchParent(err)
		}
		node = parent.Node()
	}
	if err := s.guard.Authorize(ctx, rbac.WorkspaceCreate, node); err != nil {
		return View{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return View{}, err
	}
	w := Workspace{ID: id, ParentID: in.ParentID, Slug: in.Slug, Name: in.Name, Path: in.Slug,
		ShortName: in.ShortName, Description: in.Description, Icon: in.Icon, Color: in.Color, OwnerID: &p.UserID}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockTree(tx, p.TenantID); err != nil {
			return err
		}
		if in.ParentID != nil {
			// Read the parent again under the lock: it may have moved since it was resolved.
			parent, err := s.store.byID(tx, *in.ParentID)
			if errors.Is(err, errNotFound) {
				return noSuchParent(err)
			}
			if err != nil {
				return err
			}
			w.Path = parent.Path + "/" + in.Slug
		}
		if depth(w.Path) > MaxDepth {
			return apierr.Invalid("parent_id", fmt.Sprintf("the tree is at most %d levels deep", MaxDepth))
		}
		if err := s.checkPathFree(tx, w.Path); err != nil {
			return err
		}
		if err := s.store.insert(tx, &w); err != nil {
			return slugClash(err)
		}
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		return pol.LinkWorkspace(w.ID, w.ParentID)
	})
	if err != nil {
		return View{}, err
	}
	if err := s.authz.Changed(ctx, p.TenantID); err != nil {
		return View{}, err
	}
	s.guard.Record(ctx, rbac.WorkspaceCreate, w.Node(), true, map[string]any{"path": w.Path, "parent": w.parentNode()})
	return w.view(), nil
}

// Update renames or describes a workspace (workspace:update on it) and moves it when the slug or
// the parent changes. A move needs workspace:move on the current parent's node and on the
// destination's (admins of both ends, or tenant admins); it carries the whole subtree, whose
// paths and policy links change in the same transaction. The default workspace never moves.
func (s *Service) Update(ctx context.Context, ref string, in UpdateInput) (View, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return View{}, apierr.Unauthorized()
	}
	if err := checkUpdate(&in); err != nil {
		return View{}, err
	}
	// Decided once without the lock, so a caller who may not change the tree never takes it
	// and a no-op opens no write transaction ...
	w, m, err := s.decideUpdate(ctx, ref, in)
	if err != nil {
		return View{}, err
	}
	if !in.describes() && !m.moves() {
		return w.view(), nil
	}
	var from, to string
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockTree(tx, p.TenantID); err != nil {
			return err
		}
		// ... and again on what the lock holds still: a concurrent move may have changed the
		// workspace's parent (and so who may act on it) since. What is checked is what is changed.
		if err := s.authz.Sync(ctx, p.TenantID); err != nil {
			return err
		}
		cur, cm, err := s.decideUpdate(ctx, ref, in)
		if err != nil {
			return err
		}
		m = cm
		if m.moves() {
			if from, to, err = s.moveTx(ctx, tx, cur, m); err != nil {
				return err
			}
		}
		if fields := describeFields(in); len(fields) > 0 {
			if err := s.store.update(tx, cur.ID, fields); err != nil {
				return err
			}
		}
		w, err = s.store.byID(tx, cur.ID)
		return err
	})
	if errors.Is(err, errNotFound) {
		return View{}, apierr.NotFound("workspace")
	}
	if err != nil {
		return View{}, err
	}
	if m.reparents {
		if err := s.authz.Changed(ctx, p.TenantID); err != nil {
			return View{}, err
		}
	}
	if in.describes() {
		s.guard.Record(ctx, rbac.WorkspaceUpdate, w.Node(), true, map[string]any{"fields": fieldNames(describeFields(in))})
	}
	if m.moves() {
		s.guard.Record(ctx, rbac.WorkspaceMove, w.Node(), true, map[string]any{"from": from, "to": to})
	}
	return w.view(), nil
}

// decideUpdate resolves the workspace, works out what the PATCH changes and checks that the
// caller may: workspace:update on it for its fields (and for a PATCH that changes nothing), and
// workspace:move at both ends for a rename or a new parent.
func (s *Service) decideUpdate(ctx context.Context, ref string, in UpdateInput) (Workspace, move, error) {
	w, err := s.Resolve(ctx, ref)
	if err != nil {
		return Workspace{}, move{}, err
	}
	m := move{slug: w.Slug, parent: w.ParentID}
	if in.Slug != nil && *in.Slug != w.Slug {
		m.slug, m.renames = *in.Slug, true
	}
	if in.ParentID.Set && !sameID(in.ParentID.ID, w.ParentID) {
		m.parent, m.reparents = in.ParentID.ID, true
		if m.parent != nil {
			dest, err := s.Resolve(ctx, m.parent.String())
			if err != nil {
				return Workspace{}, move{}, noSuchParent(err)
			}
			if under(dest.Path, w.Path) {
				return Workspace{}, move{}, errUnderItself
			}
		}
	}
	// A slug or parent_id equal to the current one changes nothing: it is decided as an update,
	// so that it is never the one PATCH that needs no permission but workspace:read.
	if in.describes() || !m.moves() {
		if err := s.guard.Authorize(ctx, rbac.WorkspaceUpdate, w.Node()); err != nil {
			return Workspace{}, move{}, err
		}
	}
	if m.moves() {
		if err := s.guard.Authorize(ctx, rbac.WorkspaceMove, w.parentNode()); err != nil {
			return Workspace{}, move{}, err
		}
		if dest := nodeOf(m.parent); dest != w.parentNode() {
			if err := s.guard.Authorize(ctx, rbac.WorkspaceMove, dest); err != nil {
				return Workspace{}, move{}, err
			}
		}
		if isDefault(w) {
			return Workspace{}, move{}, apierr.Conflict("the default workspace cannot be moved or renamed")
		}
	}
	return w, m, nil
}

// move is what a PATCH does to the workspace's place in the tree.
type move struct {
	slug      string
	parent    *uuid.UUID
	renames   bool
	reparents bool
}

func (m move) moves() bool { return m.renames || m.reparents }

var errUnderItself = apierr.Invalid("parent_id", "a workspace cannot move under itself or its own descendants")

// moveTx rewrites the subtree's paths and, for a new parent, the workspace's policy link. It
// runs under the tree lock with cur read under it, so the paths it computes are current.
func (s *Service) moveTx(ctx context.Context, tx *gorm.DB, cur Workspace, m move) (string, string, error) {
	to := m.slug
	if m.parent != nil {
		dest, err := s.store.byID(tx, *m.parent)
		if errors.Is(err, errNotFound) {
			return "", "", noSuchParent(err)
		}
		if err != nil {
			return "", "", err
		}
		if under(dest.Path, cur.Path) {
			return "", "", errUnderItself
		}
		to = dest.Path + "/" + m.slug
	}
	height, err := s.store.subtreeHeight(tx, cur.Path)
	if err != nil {
		return "", "", err
	}
	if depth(to)+height > MaxDepth {
		return "", "", apierr.Invalid("parent_id", fmt.Sprintf("the tree is at most %d levels deep", MaxDepth))
	}
	if err := s.checkPathFree(tx, to); err != nil {
		return "", "", err
	}
	if err := s.store.repath(tx, cur.Path, to); err != nil {
		return "", "", slugClash(err)
	}
	if err := s.store.update(tx, cur.ID, map[string]any{"slug": m.slug, "parent_id": m.parent}); err != nil {
		return "", "", err
	}
	if !m.reparents {
		return cur.Path, to, nil
	}
	pol, err := rbac.PolicyIn(ctx, tx)
	if err != nil {
		return "", "", err
	}
	if err := pol.UnlinkWorkspace(cur.ID, cur.ParentID); err != nil {
		return "", "", err
	}
	return cur.Path, to, pol.LinkWorkspace(cur.ID, m.parent)
}

// Delete removes a workspace (workspace:delete on the workspace itself: its admins and those
// above). It refuses while the workspace has child workspaces or holds objects, unless cascade,
// which deletes the whole subtree with its objects, grants and profile assignments in one
// transaction. The default workspace is never deleted.
func (s *Service) Delete(ctx context.Context, ref string, cascade bool) error {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return apierr.Unauthorized()
	}
	w, err := s.decideDelete(ctx, ref)
	if err != nil {
		return err
	}
	var removed []Workspace
	var revoked []rbac.Grant
	var afters []func()
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockTree(tx, p.TenantID); err != nil {
			return err
		}
		// Decided again on what the lock holds still (see Update).
		if err := s.authz.Sync(ctx, p.TenantID); err != nil {
			return err
		}
		cur, err := s.decideDelete(ctx, ref)
		if err != nil {
			return err
		}
		w = cur
		if removed, err = s.store.subtree(tx, cur.Path); err != nil {
			return err
		}
		ids := make([]uuid.UUID, len(removed))
		for i, r := range removed {
			ids[i] = r.ID
		}
		if !cascade {
			if err := s.refuseNonEmpty(ctx, tx, ids); err != nil {
				return err
			}
		}
		for _, nc := range s.registered() {
			after, err := nc.c.DeleteIn(ctx, tx, ids)
			if err != nil {
				return fmt.Errorf("delete %s: %w", nc.kind, err)
			}
			if after != nil {
				afters = append(afters, after)
			}
		}
		if revoked, err = s.revokeIn(ctx, tx, ids); err != nil {
			return err
		}
		pol, err := rbac.PolicyIn(ctx, tx)
		if err != nil {
			return err
		}
		for _, r := range removed {
			if err := pol.NodeDeleted(r.Node()); err != nil {
				return err
			}
		}
		_, err = s.store.deleteSubtree(tx, cur.Path)
		return err
	})
	if errors.Is(err, errNotFound) {
		return apierr.NotFound("workspace")
	}
	if err != nil {
		return err
	}
	for _, after := range afters {
		after()
	}
	if err := s.authz.Changed(ctx, p.TenantID); err != nil {
		return err
	}
	paths := make([]string, len(removed))
	for i, r := range removed {
		paths[i] = r.Path
	}
	grantIDs := make([]string, len(revoked))
	for i, g := range revoked {
		grantIDs[i] = g.ID.String()
	}
	s.guard.Record(ctx, rbac.WorkspaceDelete, w.Node(), true, map[string]any{"path": w.Path, "cascade": cascade,
		"workspaces": paths, "grants": grantIDs})
	return nil
}

// refuseNonEmpty is the 409 of a delete without cascade: the subtree (ids[0] is the deepest,
// the workspace itself is among them) holds child workspaces or objects.
// decideDelete resolves the workspace and checks that the caller may delete it.
func (s *Service) decideDelete(ctx context.Context, ref string) (Workspace, error) {
	w, err := s.Resolve(ctx, ref)
	if err != nil {
		return Workspace{}, err
	}
	// Deleting a workspace is decided on its parent, as moving it is: an admin granted on a
	// node administers what is in and below it, never the node's own place in the tree.
	if err := s.guard.Authorize(ctx, rbac.WorkspaceDelete, w.parentNode()); err != nil {
		return Workspace{}, err
	}
	if isDefault(w) {
		return Workspace{}, apierr.Conflict("the default workspace cannot be deleted")
	}
	return w, nil
}

func (s *Service) refuseNonEmpty(ctx context.Context, tx *gorm.DB, ids []uuid.UUID) error {
	var held []string
	if n := len(ids) - 1; n > 0 {
		held = append(held, fmt.Sprintf("%d child workspace(s)", n))
	}
	for _, nc := range s.registered() {
		n, err := nc.c.Count(ctx, tx, ids)
		if err != nil {
			return fmt.Errorf("count %s: %w", nc.kind, err)
		}
		if n > 0 {
			held = append(held, fmt.Sprintf("%d %s", n, nc.kind))
		}
	}
	if len(held) == 0 {
		return nil
	}
	return apierr.Conflict("the workspace holds " + strings.Join(held, ", ") + "; delete with ?cascade=true to remove it all")
}

// revokeIn revokes the grants made on the workspaces through the policy, so that the links a
// group grant gave its members go too; the rows would otherwise only go by foreign key.
func (s *Service) revokeIn(ctx context.Context, tx *gorm.DB, ids []uuid.UUID) ([]rbac.Grant, error) {
	grants, err := s.store.grantsIn(tx, ids)
	if err != nil || len(grants) == 0 {
		return nil, err
	}
	pol, err := rbac.PolicyIn(ctx, tx)
	if err != nil {
		return nil, err
	}
	for _, g := range grants {
		if _, err := pol.Revoke(g.ID); err != nil {
			return nil, fmt.Errorf("revoke grant %s: %w", g.ID, err)
		}
	}
	return grants, nil
}

func (s *Service) registered() []namedContents {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]namedContents(nil), s.contents...)
}

// lockTree serialises changes of one tenant's tree (create, move, delete): a move rewrites the
// paths of a subtree, and a workspace created under it at the same time must either see the new
// paths or be rewritten with them. SQLite already allows one writer at a time.
func (s *Service) lockTree(tx *gorm.DB, tenantID uuid.UUID) error {
	if s.db.Dialect() != tenancy.Postgres {
		return nil
	}
	return tx.Exec("SELECT pg_advisory_xact_lock(7305003, hashtext(?))", tenantID.String()).Error
}

func (s *Service) checkPathFree(tx *gorm.DB, path string) error {
	taken, err := s.store.pathTaken(tx, path)
	if err != nil {
		return err
	}
	if taken {
		return errSlugTaken
	}
	return nil
}

var errSlugTaken = apierr.Conflict("a sibling workspace has this slug")

func slugClash(err error) error {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return errSlugTaken
	}
	return err
}

// noSuchParent turns "the parent is missing or not visible" into bad input on parent_id: the
// route addresses something else, so a 404 would mislead.
func noSuchParent(err error) error {
	if errors.Is(err, errNotFound) || apierr.Is(err, apierr.CodeNotFound) {
		return apierr.Invalid("parent_id", "no such workspace")
	}
	return err
}

func isDefault(w Workspace) bool { return w.ParentID == nil && w.Slug == DefaultSlug }

// under reports whether path is at or below the subtree at root.
func under(path, root string) bool { return path == root || strings.HasPrefix(path, root+"/") }

func sameID(a, b *uuid.UUID) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func nodeOf(parent *uuid.UUID) string {
	if parent == nil {
		return rbac.Root
	}
	return rbac.WorkspaceNode(*parent)
}

func describeFields(in UpdateInput) map[string]any {
	fields := map[string]any{}
	set := func(col string, v *string) {
		if v != nil {
			fields[col] = *v
		}
	}
	set("name", in.Name)
	set("short_name", in.ShortName)
	set("description", in.Description)
	set("icon", in.Icon)
	set("color", in.Color)
	return fields
}

func fieldNames(fields map[string]any) []string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// checkCreate refuses what the validate tags cannot express: a bad slug and a blank name. (Text
// with a NUL byte, which PostgreSQL cannot store, never gets past web.Decode.)
func checkCreate(in CreateInput) error {
	if !SlugPattern.MatchString(in.Slug) {
		return apierr.Invalid("slug", "must match "+SlugPattern.String())
	}
	if in.Name == "" {
		return apierr.Invalid("name", "is required")
	}
	return nil
}

func checkUpdate(in *UpdateInput) error {
	if in.empty() {
		return apierr.Invalid("body", "nothing to change")
	}
	if in.Slug != nil && !SlugPattern.MatchString(*in.Slug) {
		return apierr.Invalid("slug", "must match "+SlugPattern.String())
	}
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" {
			return apierr.Invalid("name", "must not be blank")
		}
		in.Name = &name
	}
	return nil
}
