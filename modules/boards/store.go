package boards

import (
	"errors"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/tenancy"
)

var errNotFound = errors.New("board not found")

type store struct{}

func (store) get(tx *gorm.DB, id uuid.UUID) (Board, error) {
	var b Board
	err := tx.Where("id = ?", id).Take(&b).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return b, errNotFound
	}
	return b, err
}

func (store) role(tx *gorm.DB, boardID, userID uuid.UUID) (string, error) {
	var m Member
	err := tx.Where("board_id = ? AND user_id = ?", boardID, userID).Take(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", nil
	}
	return m.Role, err
}

// Visible is the board visibility rule as a reusable query condition on the boards table (a
// GORM scope, as Gitea's AccessibleRepositoryCondition): readers of everything see every board;
// workspace members see shared and public ones; everyone sees the boards they are a member of.
// Listings of boards and of images on boards both use it, so the rule is a condition of the
// query, never a filter over loaded rows.
func Visible(userID uuid.UUID, seeAll, wsMember bool) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		if seeAll {
			return q
		}
		member := "EXISTS (SELECT 1 FROM board_members m WHERE m.tenant_id = boards.tenant_id AND " +
			"m.board_id = boards.id AND m.user_id = ?)"
		if wsMember {
			return q.Where("(boards.visibility IN ('shared', 'public') OR "+member+")", userID)
		}
		return q.Where(member, userID)
	}
}

// VisibleIDs is the ids of the workspace's boards the user sees, as a subquery of tx for another
// module's query (`board_id IN (?)`). The tenant scope applies to it as to every query.
func VisibleIDs(tx *gorm.DB, workspaceID, userID uuid.UUID, seeAll, wsMember bool) *gorm.DB {
	return tx.Session(&gorm.Session{NewDB: true}).Model(&Board{}).Select("boards.id").
		Where("boards.workspace_id = ?", workspaceID).Scopes(Visible(userID, seeAll, wsMember))
}

// listed is a board with the caller's membership role on it ("" for none).
type listed struct {
	Board
	MyRole string `gorm:"column:my_role"`
}

// listVisible is the board listing of one workspace, with the caller's role on each board, as
// one query.
//
// For a caller who does not see everything it is a UNION of index-ordered branches, each cut at
// the page size: the caller's memberships (board_members_user_idx, then the board by key), the
// workspace's shared boards and its public boards when the caller is a workspace member
// (boards_visible_idx). The page is the first limit ids of their union, so the work is bounded by
// the caller's memberships and the page size, not by the workspace's boards: a workspace of
// almost only private boards, listed by a user who is a member of few, no longer reads them all.
// Readers of everything read the workspace in key order (boards_workspace_idx).
func (store) listVisible(tx *gorm.DB, workspaceID, userID uuid.UUID, admin, wsMember bool, after uuid.UUID, limit int) ([]listed, error) {
	q := tx.Model(&Board{}).
		Select(listedColumns+", COALESCE((SELECT r.role FROM board_members r WHERE r.tenant_id = boards.tenant_id "+
			"AND r.board_id = boards.id AND r.user_id = ?), '') AS my_role", userID).
		Where("boards.workspace_id = ?", workspaceID)
	if !admin {
		tenantID, ok := tenancy.TxTenant(tx)
		if !ok {
			return nil, tenancy.ErrNoTenant
		}
		// Each branch is a subquery of its own so that it may be ordered and cut (SQLite allows
		// neither on the members of a compound SELECT).
		branches := []string{`SELECT id FROM (SELECT m.board_id AS id FROM board_members m
			JOIN boards mb ON mb.tenant_id = m.tenant_id AND mb.id = m.board_id
			WHERE m.tenant_id = ? AND m.user_id = ? AND mb.workspace_id = ? AND m.board_id > ?
			ORDER BY m.board_id LIMIT ?) AS mine`}
		args := []any{tenantID, userID, workspaceID, after, limit}
		if wsMember {
			for _, v := range []string{"shared", "public"} {
				branches = append(branches, `SELECT id FROM (SELECT vb.id FROM boards vb
					WHERE vb.tenant_id = ? AND vb.workspace_id = ? AND vb.visibility = '`+v+`' AND vb.id > ?
					ORDER BY vb.id LIMIT ?) AS `+v)
				args = append(args, tenantID, workspaceID, after, limit)
			}
		}
		q = q.Where("boards.id IN ("+strings.Join(branches, " UNION ")+")", args...)
	}
	if after != uuid.Nil {
		q = q.Where("boards.id > ?", after)
	}
	return scanListed(q.Order("boards.id").Limit(limit), limit)
}

// listedColumns are the board columns of a listing, in the order scanListed reads them.
const listedColumns = "boards.tenant_id, boards.id, boards.workspace_id, boards.owner_id, boards.name, " +
	"boards.description, boards.visibility, boards.published, boards.created_at, boards.updated_at"

// scanListed runs a listing query (listedColumns, then my_role) and reads its rows by hand: a
// page of boards is the hot path of the listing, and gorm's reflective scan of each row cost
// more than the query itself. The statement is still gorm's, with the tenant scope it applies.
func scanListed(q *gorm.DB, limit int) ([]listed, error) {
	rows, err := q.Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]listed, 0, min(limit, 100))
	for rows.Next() {
		var l listed
		b := &l.Board
		if err := rows.Scan(&b.TenantID, &b.ID, &b.WorkspaceID, &b.OwnerID, &b.Name, &b.Description, &b.Visibility,
			&b.Published, &b.CreatedAt, &b.UpdatedAt, &l.MyRole); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// members pages through a board's members in user id order: after, then at most limit.
func (store) members(tx *gorm.DB, boardID, after uuid.UUID, limit int) ([]Member, error) {
	var out []Member
	q := tx.Where("board_id = ?", boardID)
	if after != uuid.Nil {
		q = q.Where("user_id > ?", after)
	}
	return out, q.Order("user_id").Limit(limit).Find(&out).Error
}

// listMine is the boards the user is a member of, in every workspace, with their role on each:
// one statement, walking the user's memberships in board order (board_members_user_idx).
func (store) listMine(tx *gorm.DB, userID, after uuid.UUID, limit int) ([]listed, error) {
	q := tx.Table("board_members AS m").Select(listedColumns+", m.role AS my_role").
		Joins("JOIN boards ON boards.tenant_id = m.tenant_id AND boards.id = m.board_id").
		Where("m.user_id = ?", userID)
	if after != uuid.Nil {
		q = q.Where("m.board_id > ?", after)
	}
	return scanListed(q.Order("m.board_id").Limit(limit), limit)
}
