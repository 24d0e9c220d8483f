package workspaces

import (
	"errors"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/rbac"
)

// errNotFound is "no such workspace in this tenant".
var errNotFound = errors.New("workspace not found")

// store reads and writes the tree; every call runs inside a tenant-scoped transaction, so
// tenant_id is always part of the statement.
type store struct{}

func (store) byID(tx *gorm.DB, id uuid.UUID) (Workspace, error) {
	var w Workspace
	err := tx.Where("id = ?", id).Take(&w).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return w, errNotFound
	}
	return w, err
}

func (store) byPath(tx *gorm.DB, path string) (Workspace, error) {
	var w Workspace
	err := tx.Where("path = ?", path).Take(&w).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return w, errNotFound
	}
	return w, err
}

// visible narrows a query on workspaces to the scope, in SQL: a row is visible when the deepest
// scope node whose subtree holds it is one of scope.Nodes (or there is none and scope.All).
// Paths hold only [a-z0-9-/], so they need no LIKE escaping.
func visible(q *gorm.DB, scope rbac.Scope) *gorm.DB {
	if scope.All && len(scope.Except) == 0 {
		return q
	}
	// under(m): a scope node m whose subtree holds the row; deeper(a, b): a lies below b.
	under := func(m string) string {
		return "SELECT 1 FROM workspaces " + m + " WHERE " + m + ".tenant_id = workspaces.tenant_id AND " + m + ".id IN ? " +
			"AND (workspaces.path = " + m + ".path OR workspaces.path LIKE " + m + ".path || '/%')"
	}
	deeper := func(a, b string) string { return " AND length(" + a + ".path) > length(" + b + ".path)" }
	switch {
	case scope.All:
		return q.Where("NOT EXISTS ("+under("e")+" AND NOT EXISTS ("+under("g")+deeper("g", "e")+"))",
			scope.Except, orNone(scope.Nodes))
	case len(scope.Except) == 0:
		return q.Where("EXISTS ("+under("g")+")", scope.Nodes)
	default:
		return q.Where("EXISTS ("+under("g")+" AND NOT EXISTS ("+under("e")+deeper("e", "g")+"))",
			scope.Nodes, scope.Except)
	}
}

// orNone is ids, or the nil UUID when there are none (IN () is not SQL).
func orNone(ids []uuid.UUID) []uuid.UUID {
	if len(ids) == 0 {
		return []uuid.UUID{uuid.Nil}
	}
	return ids
}

// listFilter narrows a listing to one parent's direct children (Parent set; nil ID: the top level).
type listFilter struct {
	Parent   bool
	ParentID *uuid.UUID
}

// list pages through the workspaces of the scope in id order.
func (store) list(tx *gorm.DB, scope rbac.Scope, f listFilter, after uuid.UUID, limit int) ([]Workspace, error) {
	if !scope.All && len(scope.Nodes) == 0 {
		return nil, nil
	}
	q := visible(tx.Model(&Workspace{}), scope)
	if f.Parent {
		if f.ParentID == nil {
			q = q.Where("parent_id IS NULL")
		} else {
			q = q.Where("parent_id = ?", *f.ParentID)
		}
	}
	if after != uuid.Nil {
		q = q.Where("id > ?", after)
	}
	var out []Workspace
	return out, q.Order("id").Limit(limit).Find(&out).Error
}

func (store) insert(tx *gorm.DB, w *Workspace) error { return tx.Create(w).Error }

func (store) pathTaken(tx *gorm.DB, path string) (bool, error) {
	var n int64
	err := tx.Model(&Workspace{}).Where("path = ?", path).Count(&n).Error
	return n > 0, err
}

// subtree returns the workspace at path and every descendant, deepest first.
func (store) subtree(tx *gorm.DB, path string) ([]Workspace, error) {
	var out []Workspace
	err := tx.Where("path = ? OR path LIKE ?", path, path+"/%").
		Order("length(path) - length(replace(path, '/', '')) DESC, id").Find(&out).Error
	return out, err
}

// subtreeHeight is how many levels the subtree at path spans below it (0: a leaf).
func (store) subtreeHeight(tx *gorm.DB, path string) (int, error) {
	var deepest int
	err := tx.Model(&Workspace{}).Where("path = ? OR path LIKE ?", path, path+"/%").
		Select("COALESCE(MAX(length(path) - length(replace(path, '/', ''))), 0)").Scan(&deepest).Error
	return deepest - depth(path) + 1, err
}

// repath rewrites the path of the subtree at from so that it starts at to.
func (store) repath(tx *gorm.DB, from, to string) error {
	return tx.Model(&Workspace{}).Where("path = ? OR path LIKE ?", from, from+"/%").
		Update("path", gorm.Expr("? || substr(path, ?)", to, len(from)+1)).Error
}

func (store) update(tx *gorm.DB, id uuid.UUID, fields map[string]any) error {
	return tx.Model(&Workspace{}).Where("id = ?", id).Updates(fields).Error
}

// deleteSubtree deletes the workspace at path and its descendants in one statement; the
// parent_id foreign key is checked at the end of the statement, so the order of rows does not
// matter. Grants and profile assignments on these workspaces go by foreign-key cascade.
func (store) deleteSubtree(tx *gorm.DB, path string) (int64, error) {
	res := tx.Where("path = ? OR path LIKE ?", path, path+"/%").Delete(&Workspace{})
	return res.RowsAffected, res.Error
}

// depth is the number of levels of a path ("msa" is 1, "msa/suit" 2).
func depth(path string) int { return strings.Count(path, "/") + 1 }

// grants made on a node, newest first, after the cursor (ids are time-ordered).
func (store) grants(tx *gorm.DB, node string, before uuid.UUID, limit int) ([]rbac.Grant, error) {
	q := onNode(tx.Model(&rbac.Grant{}), node)
	if before != uuid.Nil {
		q = q.Where("id < ?", before)
	}
	var out []rbac.Grant
	return out, q.Order("id DESC").Limit(limit).Find(&out).Error
}

// grant returns the grant with the id if it was made on the node.
func (store) grant(tx *gorm.DB, node string, id uuid.UUID) (rbac.Grant, error) {
	var g rbac.Grant
	err := onNode(tx.Where("id = ?", id), node).Take(&g).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return g, rbac.ErrNoGrant
	}
	return g, err
}

// grantsIn lists the grants made on any of the workspaces.
func (store) grantsIn(tx *gorm.DB, ids []uuid.UUID) ([]rbac.Grant, error) {
	var out []rbac.Grant
	return out, tx.Where("workspace_id IN ?", ids).Order("id").Find(&out).Error
}

func onNode(q *gorm.DB, node string) *gorm.DB {
	if node == rbac.Root {
		return q.Where("workspace_id IS NULL")
	}
	return q.Where("workspace_id = ?", strings.TrimPrefix(node, "ws:"))
}

// subjectExists reports whether the user or group is one of the tenant's. The tables are named
// by string (they belong to the users and groups modules), so the tenant condition is written
// out here as well as enforced by row-level security.
func (store) subjectExists(tx *gorm.DB, tenantID uuid.UUID, subjectType string, id uuid.UUID) (bool, error) {
	table := "users"
	if subjectType == rbac.SubjectGroup {
		table = "groups"
	}
	var n int64
	err := tx.Table(table).Where("tenant_id = ? AND id = ?", tenantID, id).Count(&n).Error
	return n > 0, err
}
