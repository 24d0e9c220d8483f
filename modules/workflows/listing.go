package workflows

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// sight works out how the caller sees the workspace's workflows, before any transaction.
func (s *Service) sight(ctx context.Context, wsRef string) (sight, error) {
	ws, err := s.workspaces.Resolve(ctx, wsRef)
	if err != nil {
		return sight{}, err
	}
	p, _ := tenancy.PrincipalFrom(ctx)
	v := sight{user: p.UserID, ws: ws.ID}
	allowed := func(node string, action rbac.Action) (bool, error) {
		return s.authz.Allowed(ctx, p.TenantID, p.UserID, node, action)
	}
	if v.admin, err = s.holdsAdmin(ctx, p, ws.Node()); err != nil {
		return v, err
	}
	read, err := allowed(ws.Node(), rbac.WorkflowRead)
	if err != nil || !read {
		// Grants flow down the tree: who does not read the workspace reads no ancestor.
		return v, err
	}
	v.sharedIn = []uuid.UUID{ws.ID}
	if ws.ParentID == nil {
		return v, nil
	}
	above, err := s.workspaces.Ancestors(ctx, ws)
	if err != nil {
		return v, err
	}
	for _, a := range above {
		ok, err := allowed(a.Node(), rbac.WorkflowRead)
		if err != nil {
			return v, err
		}
		if ok {
			v.sharedIn = append(v.sharedIn, a.ID)
		}
	}
	return v, nil
}

// List pages through the workflows of a workspace the caller can read, filtered.
func (s *Service) List(ctx context.Context, wsRef string, f Filter, after uuid.UUID, limit int) ([]Summary, error) {
	f, err := cleanFilter(f)
	if err != nil {
		return nil, err
	}
	v, err := s.sight(ctx, wsRef)
	if err != nil {
		return nil, err
	}
	var out []Summary
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		rows, err := s.store.list(tx, v, f, after, limit)
		if err != nil {
			return fmt.Errorf("list workflows: %w", err)
		}
		out = make([]Summary, len(rows))
		for i, r := range rows {
			out[i] = r.summary(r.tags())
		}
		return nil
	})
	return out, err
}

// Counts counts the workflows per category the caller can read in the workspace.
func (s *Service) Counts(ctx context.Context, wsRef string) (Counts, error) {
	v, err := s.sight(ctx, wsRef)
	if err != nil {
		return Counts{}, err
	}
	var c Counts
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		c, err = s.store.counts(tx, v)
		return err
	})
	return c, err
}

// MaxTagList bounds the tag list.
const MaxTagList = 500

// Tags lists the tags of the workflows the caller can read in the workspace, with counts.
func (s *Service) Tags(ctx context.Context, wsRef, category string) ([]TagCount, error) {
	if err := checkCategory(category); err != nil {
		return nil, err
	}
	v, err := s.sight(ctx, wsRef)
	if err != nil {
		return nil, err
	}
	var out []TagCount
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		out, err = s.store.tagCounts(tx, v, category, MaxTagList)
		return err
	})
	if out == nil {
		out = []TagCount{}
	}
	return out, err
}
