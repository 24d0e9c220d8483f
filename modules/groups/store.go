package groups

import (
	"errors"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

var (
	errNotFound      = errors.New("group not found")
	errNameTaken     = errors.New("group name taken")
	errAlreadyMember = errors.New("already a member")
	errNotMember     = errors.New("not a member")
	errNoSuchUser    = errors.New("no such user")
)

// store reads and writes groups; every call runs inside a tenant-scoped transaction.
type store struct{}

func (store) insert(tx *gorm.DB, g *Group) error {
	err := tx.Create(g).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return errNameTaken
	}
	return err
}

func (store) get(tx *gorm.DB, id uuid.UUID) (Group, error) {
	var g Group
	err := tx.Where("id = ?", id).Take(&g).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return g, errNotFound
	}
	return g, err
}

// lock reads the group and locks its row until the transaction ends: membership changes and the
// group's deletion are serialised, so no membership (and no casbin link) outlives its group.
func (store) lock(tx *gorm.DB, id uuid.UUID) (Group, error) {
	var g Group
	q := tx.Where("id = ?", id)
	if tx.Dialector.Name() == "postgres" {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	err := q.Take(&g).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return g, errNotFound
	}
	return g, err
}

func (store) list(tx *gorm.DB, after uuid.UUID, limit int) ([]Group, error) {
	q := tx.Order("id").Limit(limit)
	if after != uuid.Nil {
		q = q.Where("id > ?", after)
	}
	var out []Group
	return out, q.Find(&out).Error
}

// memberCounts counts the members of each group in one query.
func (store) memberCounts(tx *gorm.DB, ids []uuid.UUID) (map[uuid.UUID]int64, error) {
	out := make(map[uuid.UUID]int64, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var counts []struct {
		GroupID uuid.UUID
		N       int64
	}
	err := tx.Model(&Member{}).Select("group_id, count(*) AS n").Where("group_id IN ?", ids).
		Group("group_id").Scan(&counts).Error
	for _, c := range counts {
		out[c.GroupID] = c.N
	}
	return out, err
}

// members pages through a group's members in user id order: after, then at most limit.
func (store) members(tx *gorm.DB, groupID, after uuid.UUID, limit int) ([]Member, error) {
	var out []Member
	q := tx.Where("group_id = ?", groupID)
	if after != uuid.Nil {
		q = q.Where("user_id > ?", after)
	}
	return out, q.Order("user_id").Limit(limit).Find(&out).Error
}

func (store) delete(tx *gorm.DB, id uuid.UUID) error {
	res := tx.Where("id = ?", id).Delete(&Group{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return errNotFound
	}
	return nil
}

func (store) addMember(tx *gorm.DB, m *Member) error {
	err := tx.Create(m).Error
	switch {
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return errAlreadyMember
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return errNoSuchUser
	}
	return err
}

func (store) removeMember(tx *gorm.DB, groupID, userID uuid.UUID) error {
	res := tx.Where("group_id = ? AND user_id = ?", groupID, userID).Delete(&Member{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return errNotMember
	}
	return nil
}
