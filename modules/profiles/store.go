package profiles

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/atelier-hq/atelier/rbac"
)

var (
	errNotFound     = errors.New("profile not found")
	errNameTaken    = errors.New("profile name taken")
	errNoAssignment = errors.New("no such assignment")
	errNoWorkspace  = errors.New("workspace not found")
	errGone         = errors.New("workspace or profile deleted meanwhile")
)

// store reads and writes profiles and assignments; every call runs inside a tenant-scoped
// transaction (tenancy.DB.Tx), whose scope adds the tenant to each statement on these models.
type store struct{}

func (store) insert(tx *gorm.DB, p *Profile) error {
	err := tx.Create(p).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return errNameTaken
	}
	return err
}

func (store) get(tx *gorm.DB, id uuid.UUID) (Profile, error) {
	var p Profile
	err := tx.Where("id = ?", id).Take(&p).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return p, errNotFound
	}
	return p, err
}

func (store) list(tx *gorm.DB, typ string, after uuid.UUID, limit int) ([]Profile, error) {
	q := tx.Order("id").Limit(limit)
	if typ != "" {
		q = q.Where("type = ?", typ)
	}
	if after != uuid.Nil {
		q = q.Where("id > ?", after)
	}
	var out []Profile
	return out, q.Find(&out).Error
}

func (store) update(tx *gorm.DB, id uuid.UUID, fields map[string]any) error {
	res := tx.Model(&Profile{}).Where("id = ?", id).Updates(fields)
	if errors.Is(res.Error, gorm.ErrDuplicatedKey) {
		return errNameTaken
	}
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return errNotFound
	}
	return nil
}

// delete removes the profile; its assignments go with it (foreign key cascade).
func (store) delete(tx *gorm.DB, id uuid.UUID) error {
	res := tx.Where("id = ?", id).Delete(&Profile{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return errNotFound
	}
	return nil
}

// assignedOn lists the nodes the profile is assigned on.
func (store) assignedOn(tx *gorm.DB, profileID uuid.UUID) ([]string, error) {
	var nodes []string
	return nodes, tx.Model(&Assignment{}).Where("profile_id = ?", profileID).Pluck("node", &nodes).Error
}

// assign puts the profile in force on the node, replacing the type's assignment there if any.
func (store) assign(tx *gorm.DB, a *Assignment) error {
	err := tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "tenant_id"}, {Name: "node"}, {Name: "type"}},
		DoUpdates: clause.AssignmentColumns([]string{"profile_id", "created_at"}),
	}).Create(a).Error
	if errors.Is(err, gorm.ErrForeignKeyViolated) {
		return errGone
	}
	return err
}

func (store) unassign(tx *gorm.DB, node, typ string) (Assignment, error) {
	var a Assignment
	err := tx.Where("node = ? AND type = ?", node, typ).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return a, errNoAssignment
	}
	if err != nil {
		return a, err
	}
	return a, tx.Where("node = ? AND type = ?", node, typ).Delete(&Assignment{}).Error
}

// step is one node on the path from a node up to the tenant root.
type step struct {
	Origin
	depth int // 0 for the tenant root, 1 for a top-level workspace, …
}

// lineage is the node itself and every ancestor up to the tenant root, nearest first. A
// workspace's ancestors are the workspaces whose path is a prefix of its path: one query, whatever
// the depth.
func (store) lineage(tx *gorm.DB, tenantID uuid.UUID, node string) ([]step, error) {
	root := step{Origin: Origin{Node: rbac.Root}}
	if node == rbac.Root {
		return []step{root}, nil
	}
	id, err := workspaceOf(node)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		ID   uuid.UUID
		Path string
	}
	// Raw SQL is not rewritten by the tenant scope (only row-level security covers it, and only
	// on PostgreSQL), so it names the tenant itself.
	err = tx.Raw(`SELECT a.id, a.path FROM workspaces a
		JOIN workspaces n ON n.tenant_id = a.tenant_id AND n.id = ?
		WHERE a.tenant_id = ? AND (a.path = n.path OR substr(n.path, 1, length(a.path) + 1) = a.path || '/')`,
		id, tenantID).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("ancestors of %s: %w", node, err)
	}
	if len(rows) == 0 {
		return nil, errNoWorkspace
	}
	out := make([]step, 0, len(rows)+1)
	for _, r := range rows {
		wsID := r.ID
		out = append(out, step{Origin: Origin{Node: rbac.WorkspaceNode(wsID), WorkspaceID: &wsID, Path: r.Path},
			depth: strings.Count(r.Path, "/") + 1})
	}
	out = append(out, root)
	// Nearest first: the deepest path is the node itself.
	sort.SliceStable(out, func(i, j int) bool { return out[i].depth > out[j].depth })
	return out, nil
}

// assignmentsOn returns the assignments of the types (all types when empty) on the nodes, with
// their profiles.
func (store) assignmentsOn(tx *gorm.DB, nodes []string, types []string) ([]Assignment, map[uuid.UUID]Profile, error) {
	q := tx.Where("node IN ?", nodes)
	if len(types) > 0 {
		q = q.Where("type IN ?", types)
	}
	var as []Assignment
	if err := q.Find(&as).Error; err != nil {
		return nil, nil, err
	}
	profiles := map[uuid.UUID]Profile{}
	if len(as) == 0 {
		return as, profiles, nil
	}
	ids := make([]uuid.UUID, 0, len(as))
	for _, a := range as {
		ids = append(ids, a.ProfileID)
	}
	var ps []Profile
	if err := tx.Where("id IN ?", ids).Find(&ps).Error; err != nil {
		return nil, nil, err
	}
	for _, p := range ps {
		profiles[p.ID] = p
	}
	return as, profiles, nil
}

// workspaceOf parses a workspace node.
func workspaceOf(node string) (uuid.UUID, error) {
	rest, ok := strings.CutPrefix(node, "ws:")
	if !ok {
		return uuid.Nil, fmt.Errorf("profiles: not a node: %q", node)
	}
	id, err := uuid.Parse(rest)
	if err != nil {
		return uuid.Nil, fmt.Errorf("profiles: not a node: %q", node)
	}
	return id, nil
}
