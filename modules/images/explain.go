package images

import (
	"context"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// imageRoleActions are, per action on an image, the actions a role may carry to allow it on
// every image of the subtree.
var imageRoleActions = map[rbac.Action][]rbac.Action{
	rbac.ImageRead:   {rbac.ImageRead, rbac.BoardRead, rbac.ImageUpdate, rbac.ImageDelete, rbac.BoardAdmin},
	rbac.ImageUpdate: {rbac.ImageUpdate, rbac.BoardAdmin},
	rbac.ImageDelete: {rbac.ImageDelete, rbac.BoardAdmin},
}

// Explain answers whether the user may read, update or delete the image and why: the grant and
// role, the ownership, or the image's board (membership, visibility), and the access profile in
// force. The image is looked up as the caller (404 when the caller cannot read it); the decision
// is the user's and agrees with what the image routes do for them. Other actions are explained
// on the image's workspace node.
func (s *Service) Explain(ctx context.Context, userID uuid.UUID, ref string, action rbac.Action) (string, rbac.Explanation, error) {
	id, err := uuid.Parse(ref)
	if err != nil {
		return "", rbac.Explanation{}, apierr.Invalid("object", "image:<id> needs an image id")
	}
	tenantID, _ := tenancy.TenantFrom(ctx)
	var a access
	var rights rbac.Rights
	var board *Board
	err = s.db.Tx(ctx, func(tx *gorm.DB) error {
		seen, err := s.load(ctx, tx, id)
		if err != nil {
			return err
		}
		a, rights, err = s.accessFor(ctx, tx, seen.img, tenantID, userID)
		if seen.board != nil {
			board = seen.board
		}
		return err
	})
	if err != nil {
		return "", rbac.Explanation{}, err
	}
	node := rbac.WorkspaceNode(a.img.WorkspaceID)
	exp, err := s.explain(ctx, userID, a, rights, board, action)
	return node, exp, err
}

// accessFor is how the user (not necessarily the caller) stands to the image.
func (s *Service) accessFor(ctx context.Context, tx *gorm.DB, img Image, tenantID, userID uuid.UUID) (access, rbac.Rights, error) {
	rights, err := s.authz.RightsOn(ctx, tenantID, userID, rbac.WorkspaceNode(img.WorkspaceID))
	if err != nil {
		return access{}, rbac.Rights{}, err
	}
	a := accessOf(rights)
	a.img, a.own = img, img.OwnerID == userID
	if img.BoardID == nil {
		return a, rights, nil
	}
	b, err := s.boards.RelateUser(ctx, tx, *img.BoardID, tenantID, userID)
	if err != nil {
		return access{}, rbac.Rights{}, err
	}
	a.board = &b
	return a, rights, nil
}

func (s *Service) explain(ctx context.Context, userID uuid.UUID, a access, rights rbac.Rights, board *Board, action rbac.Action) (rbac.Explanation, error) {
	tenantID, _ := tenancy.TenantFrom(ctx)
	node := rbac.WorkspaceNode(a.img.WorkspaceID)
	where := "uncategorised"
	if board != nil {
		where = "on board " + board.ID.String()
	}
	head := rbac.Step{Kind: "image", Node: node, Detail: "image " + a.img.ID.String() + " (" + where + ") in " + node}
	roleActs, ok := imageRoleActions[action]
	if !ok {
		exp, err := s.authz.Explain(ctx, tenantID, userID, node, action)
		if err != nil {
			return rbac.Explanation{}, err
		}
		exp.Path = append([]rbac.Step{head}, exp.Path...)
		return exp, nil
	}
	var allowed bool
	switch action {
	case rbac.ImageRead:
		allowed = a.readable()
	case rbac.ImageUpdate:
		allowed = a.mayUpdate()
	default:
		allowed = a.mayDelete()
	}
	path := []rbac.Step{head}
	profileStep := func(detail string) rbac.Step {
		return rbac.Step{Kind: "profile", Node: rights.Profile.Node, Detail: "access profile " + rights.Profile.Name + " " + detail}
	}
	if a.readOnly && action != rbac.ImageRead {
		return rbac.Explanation{Allowed: allowed, Reason: "denied: the access profile in force makes " + node + " read-only",
			Path: append(path, profileStep("makes the subtree read-only"))}, nil
	}
	for _, ra := range roleActs {
		if rights.Has(ra) {
			exp, err := s.authz.Explain(ctx, tenantID, userID, node, ra)
			if err != nil {
				return rbac.Explanation{}, err
			}
			return rbac.Explanation{Allowed: allowed, Reason: exp.Reason + " (on every image there)", Path: append(path, exp.Path...)}, nil
		}
	}
	if why := ownershipOrBoard(a, board, action); why != nil {
		path = append(path, why...)
		if rights.Profile != nil {
			path = append(path, profileStep("in force, restricts no owner's or member's right"))
		}
		return rbac.Explanation{Allowed: allowed, Reason: "allowed: " + why[len(why)-1].Detail, Path: path}, nil
	}
	if board != nil && action == rbac.ImageRead {
		// Reading the board reads its images: the board's table decides.
		exp, err := s.boards.ExplainRead(ctx, board.ID, userID)
		if err != nil {
			return rbac.Explanation{}, err
		}
		exp.Path = append(path, exp.Path...)
		return exp, nil
	}
	exp, err := s.authz.Explain(ctx, tenantID, userID, node, roleActs[0])
	if err != nil {
		return rbac.Explanation{}, err
	}
	reason := "denied: the user neither owns the image nor holds a role on " + node + " that allows " + string(action)
	if board != nil {
		reason = "denied: no ownership, board membership or role on " + node + " allows " + string(action) + " on this image"
	}
	return rbac.Explanation{Allowed: allowed, Reason: reason, Path: append(path, exp.Path...)}, nil
}

// readable is the read rule load applies, for a user standing as a.
func (a access) readable() bool {
	if a.board == nil {
		return a.own || a.sees()
	}
	return a.sees() || a.board.Read
}

// ownershipOrBoard is the steps by which ownership, or the image's board (SPEC §6's "update /
// delete an image" row), allow the action; nil when they do not.
func ownershipOrBoard(a access, board *Board, action rbac.Action) []rbac.Step {
	owns := rbac.Step{Kind: "ownership", Detail: "the user owns the image (its uploader)"}
	if board == nil {
		if a.own {
			return []rbac.Step{owns}
		}
		return nil
	}
	if action == rbac.ImageRead {
		return nil
	}
	// The user's standing towards the board (a.board), not the caller's (board).
	rel := a.board
	switch {
	case rel.Owner:
		return []rbac.Step{{Kind: "membership", Role: rel.Role, Detail: "the user owns the image's board, whose owner changes any image on it"}}
	case a.own && rel.Editor:
		return []rbac.Step{owns, {Kind: "membership", Role: rel.Role, Detail: "the user owns the image and is an editor of its board"}}
	case a.own && rel.PublicMember:
		return []rbac.Step{owns, {Kind: "visibility", Detail: "the user owns the image on a public board of their workspace"}}
	}
	return nil
}
