package workflows

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/decision"
	"github.com/atelier-hq/atelier/modules/images"
	"github.com/atelier-hq/atelier/modules/workflows/graph"
	"github.com/atelier-hq/atelier/modules/workspaces"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// Authorizer is the decision point (rbac.Enforcer).
type Authorizer interface {
	Authorize(ctx context.Context, action rbac.Action, node string) error
	Allowed(ctx context.Context, tenantID, userID uuid.UUID, node string, action rbac.Action) (bool, error)
	ReadOnlyFor(ctx context.Context, tenantID, userID uuid.UUID, node string) (bool, error)
	Holds(ctx context.Context, tenantID, userID uuid.UUID, node string, action rbac.Action) (bool, error)
}

// Workspaces resolves the workspace a request names and its ancestors.
type Workspaces interface {
	Resolve(ctx context.Context, ref string) (workspaces.Workspace, error)
	Ancestors(ctx context.Context, w workspaces.Workspace) ([]workspaces.Workspace, error)
}

// ThumbnailLimits bound an uploaded thumbnail before it is decoded.
var ThumbnailLimits = images.Limits{MaxBytes: 2 << 20, MaxPixels: 16_000_000, MaxSide: 8192}

// Service holds the rules of the workflow library.
type Service struct {
	db         *tenancy.DB
	authz      Authorizer
	workspaces Workspaces
	guard      decision.Gate
	store      store
}

// NewService wires the service; auditor may be nil.
func NewService(db *tenancy.DB, authz Authorizer, ws Workspaces, auditor rbac.Auditor) *Service {
	return &Service{db: db, authz: authz, workspaces: ws, guard: decision.NewGate(authz, auditor, "workflow")}
}

// access is what the caller may do to one workflow. The *Any rights are an admin's: their
// writes need no owner in the statement.
type access struct {
	read, update, delete bool
	updateAny, deleteAny bool
}

// decide applies SPEC §7: read by the owner, admins, readers of the workspace when shared, and
// everyone for system workflows; update and delete by the owner (unless an access profile makes
// the workspace read-only for them) or an admin; system workflows by tenant admins only.
func (s *Service) decide(ctx context.Context, w Workflow) (access, error) {
	p, ok := tenancy.PrincipalFrom(ctx)
	if !ok {
		return access{}, nil
	}
	node := rbac.Root
	if !w.IsSystem {
		node = rbac.WorkspaceNode(*w.WorkspaceID)
	}
	var a access
	var err error
	if a.updateAny, err = s.authz.Allowed(ctx, p.TenantID, p.UserID, node, rbac.WorkflowUpdate); err != nil {
		return a, err
	}
	if a.deleteAny, err = s.authz.Allowed(ctx, p.TenantID, p.UserID, node, rbac.WorkflowDelete); err != nil {
		return a, err
	}
	if w.IsSystem {
		return access{read: true, update: a.updateAny, delete: a.deleteAny, updateAny: a.updateAny, deleteAny: a.deleteAny}, nil
	}
	own := w.OwnerID != nil && *w.OwnerID == p.UserID
	a.read = own || a.updateAny || a.deleteAny
	if !a.read {
		// Admins keep reading what a read_only profile stops them changing.
		if a.read, err = s.holdsAdmin(ctx, p, node); err != nil {
			return a, err
		}
	}
	if !a.read && w.Shared {
		if a.read, err = s.authz.Allowed(ctx, p.TenantID, p.UserID, node, rbac.WorkflowRead); err != nil {
			return a, err
		}
	}
	ownerMayWrite := false
	if own && !(a.updateAny && a.deleteAny) {
		readOnly, err := s.authz.ReadOnlyFor(ctx, p.TenantID, p.UserID, node)
		if err != nil {
			return a, err
		}
		ownerMayWrite = !readOnly
	}
	a.update = a.updateAny || ownerMayWrite
	a.delete = a.deleteAny || ownerMayWrite
	return a, nil
}

// holdsAdmin reports whether the caller holds a role with workflow:update or workflow:delete on
// the node, access profiles aside: they read every workflow there.
func (s *Service) holdsAdmin(ctx context.Context, p tenancy.Principal, node string) (bool, error) {
	for _, act := range []rbac.Action{rbac.WorkflowUpdate, rbac.WorkflowDelete} {
		ok, err := s.authz.Holds(ctx, p.TenantID, p.UserID, node, act)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// load reads a workflow the caller may read: anything else (another tenant's, a private one of
// someone else) is the same 404.
func (s *Service) load(ctx context.Context, tx *gorm.DB, id uuid.UUID) (Workflow, access, error) {
	w, err := s.store.get(tx, id)
	if errors.Is(err, errNotFound) {
		return w, access{}, apierr.NotFound("workflow")
	}
	if err != nil {
		return w, access{}, err
	}
	a, err := s.decide(ctx, w)
	if err != nil {
		return w, a, err
	}
	if !a.read {
		s.guard.Deny(ctx, "workflow:read", id, "private workflow of another user")
		return Workflow{}, access{}, apierr.NotFound("workflow")
	}
	return w, a, nil
}

// owner is the owner predicate of a write: none for admins, the caller otherwise.
func owner(ctx context.Context, admin bool) *uuid.UUID {
	if admin {
		return nil
	}
	p, _ := tenancy.PrincipalFrom(ctx)
	return &p.UserID
}

// Create saves a workflow in the workspace; the caller owns it.
func (s *Service) Create(ctx context.Context, wsRef string, in CreateInput) (View, error) {
	ws, err := s.workspaces.Resolve(ctx, wsRef)
	if err != nil {
		return View{}, err
	}
	if err := s.guard.Authorize(ctx, rbac.WorkflowCreate, ws.Node()); err != nil {
		return View{}, err
	}
	name, err := cleanText("name", in.Name, true)
	if err != nil {
		return View{}, err
	}
	desc, err := cleanText("description", in.Description, false)
	if err != nil {
		return View{}, err
	}
	tags, err := normaliseTags(in.Tags, in.Shared)
	if err != nil {
		return View{}, err
	}
	g, err := parseGraph(in.Graph)
	if err != nil {
		return View{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return View{}, err
	}
	p, _ := tenancy.PrincipalFrom(ctx)
	w := Workflow{ID: id, WorkspaceID: &ws.ID, OwnerID: &p.UserID, Name: name, Description: desc, Shared: in.Shared, Graph: g}
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		if err := s.store.insert(tx, &w, tags); err != nil {
			return fmt.Errorf("insert workflow: %w", err)
		}
		w, err = s.store.get(tx, id)
		return err
	})
	if err != nil {
		return View{}, err
	}
	s.guard.Allow(ctx, "workflow:create", id, nil)
	return w.view(tags), nil
}

// Get returns a workflow the caller may read, with its graph.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (View, error) {
	var out View
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		w, _, err := s.load(ctx, tx, id)
		if err != nil {
			return err
		}
		tags, err := s.store.tagsOf(tx, []uuid.UUID{id})
		out = w.view(tags[id])
		return err
	})
	return out, err
}

// ForRun returns the workflow and its parsed graph for the queue, read-checked as the caller
// (the requester, at enqueue time and again in the worker): 404 when they may not read it.
func (s *Service) ForRun(ctx context.Context, id uuid.UUID) (RunSpec, error) {
	var w Workflow
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		w, _, err = s.load(ctx, tx, id)
		return err
	})
	if err != nil {
		return RunSpec{}, err
	}
	g, err := graph.Parse([]byte(w.Graph))
	if err != nil {
		// Saved graphs were valid; one that no longer is (a node type changed) cannot run.
		return RunSpec{}, apierr.Invalid("workflow_id", "the workflow's graph is no longer valid: "+err.Error())
	}
	spec := RunSpec{ID: w.ID, Name: w.Name, System: w.IsSystem, Graph: g}
	if w.WorkspaceID != nil {
		spec.WorkspaceID = *w.WorkspaceID
	}
	return spec, nil
}

// Update changes a workflow: its owner or an admin. The shared tag follows the flag in the same
// transaction.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in UpdateInput) (View, error) {
	if err := decision.RequireWrite(ctx); err != nil {
		return View{}, err
	}
	var out View
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		w, a, err := s.load(ctx, tx, id)
		if err != nil {
			return err
		}
		if !a.update {
			return s.guard.Forbid(ctx, "workflow:update", id, "only the owner or an admin changes a workflow")
		}
		fields, err := updateFields(in, w)
		if err != nil {
			return err
		}
		ok, err := s.store.update(tx, id, owner(ctx, a.updateAny), fields)
		if err != nil {
			return err
		}
		if !ok {
			return apierr.NotFound("workflow")
		}
		tags, err := s.store.tagsOf(tx, []uuid.UUID{id})
		if err != nil {
			return err
		}
		current := tags[id]
		if in.Tags != nil || in.Shared != nil {
			list := current
			if in.Tags != nil {
				list = *in.Tags
			}
			shared := w.Shared
			if in.Shared != nil {
				shared = *in.Shared
			}
			if current, err = normaliseTags(list, shared); err != nil {
				return err
			}
			if err := s.store.setTags(tx, id, current); err != nil {
				return err
			}
		}
		if w, err = s.store.get(tx, id); err != nil {
			return err
		}
		out = w.view(current)
		return nil
	})
	if err != nil {
		return View{}, err
	}
	s.guard.Allow(ctx, "workflow:update", id, nil)
	return out, nil
}

// updateFields checks the changes and turns them into columns.
func updateFields(in UpdateInput, w Workflow) (map[string]any, error) {
	fields := map[string]any{"updated_at": gorm.Expr("CURRENT_TIMESTAMP")}
	if in.Name != nil {
		name, err := cleanText("name", *in.Name, true)
		if err != nil {
			return nil, err
		}
		fields["name"] = name
	}
	if in.Description != nil {
		desc, err := cleanText("description", *in.Description, false)
		if err != nil {
			return nil, err
		}
		fields["description"] = desc
	}
	if in.Shared != nil {
		if w.IsSystem {
			return nil, apierr.Invalid("shared", "system workflows are read by everyone; they cannot be shared")
		}
		fields["shared"] = *in.Shared
	}
	if in.Graph != nil {
		g, err := parseGraph(in.Graph)
		if err != nil {
			return nil, err
		}
		fields["graph"] = g
	}
	return fields, nil
}

// Delete removes a workflow: its owner or an admin.
func (s *Service) Delete(ctx context.Context, id uuid.UUID) error {
	if err := decision.RequireWrite(ctx); err != nil {
		return err
	}
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		_, a, err := s.load(ctx, tx, id)
		if err != nil {
			return err
		}
		if !a.delete {
			return s.guard.Forbid(ctx, "workflow:delete", id, "only the owner or an admin deletes a workflow")
		}
		ok, err := s.store.delete(tx, id, owner(ctx, a.deleteAny))
		if err != nil {
			return err
		}
		if !ok {
			return apierr.NotFound("workflow")
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.guard.Allow(ctx, "workflow:delete", id, nil)
	return nil
}
