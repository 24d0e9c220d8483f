package boards

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// opOf maps the actions that can be asked about a board to the operation of SPEC §6's table
// that decides them.
var opOf = map[rbac.Action]Op{
	rbac.BoardRead:    OpRead,
	rbac.BoardUpdate:  OpEditBoard,
	rbac.BoardDelete:  OpDelete,
	rbac.BoardPublish: OpPublish,
	rbac.BoardMembers: OpManageMembers,
	rbac.BoardAdmin:   OpOwn,
	rbac.ImageCreate:  OpAddImages,
}

// roleActions are, per operation, the actions a role may carry to allow it on every board of
// the subtree (the first is the operation's own action).
var roleActions = map[Op][]rbac.Action{
	OpRead:          {rbac.BoardRead, rbac.BoardUpdate, rbac.BoardDelete, rbac.BoardPublish, rbac.BoardMembers, rbac.BoardAdmin},
	OpEditBoard:     {rbac.BoardUpdate, rbac.BoardAdmin},
	OpAddImages:     {rbac.BoardUpdate, rbac.BoardAdmin},
	OpDelete:        {rbac.BoardDelete, rbac.BoardAdmin},
	OpPublish:       {rbac.BoardPublish, rbac.BoardAdmin},
	OpManageMembers: {rbac.BoardMembers, rbac.BoardAdmin},
	OpOwn:           {rbac.BoardAdmin},
}

// Explain answers whether the user may do the action on the board and why: the grant and role,
// or the board membership, or the visibility, and the access profile in force. The board is
// looked up as the caller (404 when the caller cannot read it); the decision is the user's, and
// always agrees with what the board's routes do for them. Actions that are not about the board
// itself (workspace:read on it, say) are explained on its workspace's node.
func (s *Service) Explain(ctx context.Context, userID uuid.UUID, ref string, action rbac.Action) (string, rbac.Explanation, error) {
	id, err := uuid.Parse(ref)
	if err != nil {
		return "", rbac.Explanation{}, apierr.Invalid("object", "board:<id> needs a board id")
	}
	var b Board
	if err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		a, err := s.Load(ctx, tx, id)
		b = a.Board
		return err
	}); err != nil {
		return "", rbac.Explanation{}, err
	}
	exp, err := s.ExplainUser(ctx, b.ID, userID, action)
	return rbac.WorkspaceNode(b.WorkspaceID), exp, err
}

// ExplainUser explains the user's action on the board whether or not the caller reads it (404
// only when there is no such board): for a module whose own rules show the caller what is on
// the board (an image read through a role).
func (s *Service) ExplainUser(ctx context.Context, id, userID uuid.UUID, action rbac.Action) (rbac.Explanation, error) {
	tenantID, _ := tenancy.TenantFrom(ctx)
	var a Access
	var rights rbac.Rights
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		a, rights, err = s.relateUser(ctx, tx, id, tenantID, userID)
		return err
	})
	if err != nil {
		return rbac.Explanation{}, err
	}
	return s.ExplainRelation(ctx, userID, a.Board, a.Relation, rights, action)
}

// ExplainRelation explains the decision for a user who stands to the board as rel.
func (s *Service) ExplainRelation(ctx context.Context, userID uuid.UUID, b Board, rel Relation, rights rbac.Rights, action rbac.Action) (rbac.Explanation, error) {
	tenantID, _ := tenancy.TenantFrom(ctx)
	node := rbac.WorkspaceNode(b.WorkspaceID)
	head := rbac.Step{Kind: "board", Node: node, Detail: "board " + b.ID.String() + " (" + b.Visibility + ") in " + node}
	op, ok := opOf[action]
	if !ok {
		exp, err := s.authz.Explain(ctx, tenantID, userID, node, action)
		if err != nil {
			return rbac.Explanation{}, err
		}
		exp.Path = append([]rbac.Step{head}, exp.Path...)
		return exp, nil
	}
	allowed := Can(rel, b.Visibility, op)
	path := []rbac.Step{head}
	profile := func(detail string) rbac.Step {
		return rbac.Step{Kind: "profile", Node: rights.Profile.Node, Detail: "access profile " + rights.Profile.Name + " " + detail}
	}
	switch {
	case rel.ReadOnly && op != OpRead:
		return rbac.Explanation{Allowed: allowed, Reason: "denied: the access profile in force makes " + node + " read-only",
			Path: append(path, profile("makes the subtree read-only"))}, nil
	case rights.Any(roleActions[op]...):
		for _, a := range roleActions[op] {
			if !rights.Has(a) {
				continue
			}
			exp, err := s.authz.Explain(ctx, tenantID, userID, node, a)
			if err != nil {
				return rbac.Explanation{}, err
			}
			return rbac.Explanation{Allowed: allowed, Reason: exp.Reason + " (on every board there)", Path: append(path, exp.Path...)}, nil
		}
	case rel.Role != "" && Can(Relation{Role: rel.Role}, b.Visibility, op):
		path = append(path, rbac.Step{Kind: "membership", Role: rel.Role, Detail: "member of the board as " + rel.Role})
		if rights.Profile != nil {
			path = append(path, profile("in force, restricts no membership right"))
		}
		return rbac.Explanation{Allowed: allowed, Reason: "allowed: member of the board as " + rel.Role, Path: path}, nil
	case rel.WSMember && Can(Relation{WSMember: true}, b.Visibility, op):
		path = append(path, rbac.Step{Kind: "visibility", Node: node, Detail: "the board is " + b.Visibility +
			" and the user holds a role on " + node + " or above"})
		if rights.Profile != nil {
			path = append(path, profile("in force, restricts no visibility right"))
		}
		return rbac.Explanation{Allowed: allowed, Reason: "allowed: the board is " + b.Visibility + " to members of its workspace", Path: path}, nil
	}
	// Denied: say what the user has, and what the grants say about the operation's own action
	// (which names a profile that took it away from a role).
	if rel.Role != "" {
		path = append(path, rbac.Step{Kind: "membership", Role: rel.Role, Detail: "member of the board as " + rel.Role + ", which does not allow it"})
	}
	exp, err := s.authz.Explain(ctx, tenantID, userID, node, roleActions[op][0])
	if err != nil {
		return rbac.Explanation{}, err
	}
	reason := "denied: no membership, visibility or role on " + node + " allows " + string(action) + " on this " + b.Visibility + " board"
	return rbac.Explanation{Allowed: allowed, Reason: reason, Path: append(path, exp.Path...)}, nil
}
